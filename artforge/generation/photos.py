"""Photographs for style transfer: a user's folder, or the ones that ship offline with scikit-image.

Style transfer works on whole pictures of any size, so unlike the GAN datasets (:mod:`.data`, squares of
one size) these are kept at their own size (long side capped) as float tensors in [0, 1], and training
draws random square crops from them at several scales.

``builtin:photos`` is scikit-image's bundled photographs (astronaut, coffee, cat, rocket, ...; greyscale
ones as RGB).  They are inside the scikit-image wheel: nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artforge import imaging
from artforge.errors import BadInput, UsageError
from artforge.imaging import load_image

BUILTIN_PHOTOS = "builtin:photos"
# The scikit-image pictures that live inside its wheel (the others would be fetched from the network).
SKIMAGE_PHOTOS = ("astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "colorwheel",
                  "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "logo", "moon", "page",
                  "retina", "rocket", "text", "horse")
MAX_SIDE = 512  # photos are shrunk to this long side when loaded: training crops are far smaller


def to_tensor(image: Image.Image, max_side: int | None = MAX_SIDE) -> torch.Tensor:
    """A PIL image -> float RGB (3, H, W) in [0, 1], its long side at most ``max_side``."""
    image = image.convert("RGB")
    if max_side and max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255.0


def to_image(tensor: torch.Tensor) -> Image.Image:
    """(3, H, W) in [0, 1] -> an RGB PIL image (rounded, clipped)."""
    array = (tensor.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array, "RGB")


def load_photo(path: str | Path, max_side: int | None = MAX_SIDE) -> torch.Tensor:
    """One image file (checked by :func:`artforge.imaging.load_image`) as a float RGB tensor."""
    return to_tensor(load_image(Path(path)).rgb(), max_side)


def builtin_photos(max_side: int = MAX_SIDE) -> list[tuple[str, torch.Tensor]]:
    """scikit-image's bundled photographs as (name, tensor)."""
    import skimage.data  # noqa: PLC0415 - ~0.3 s to import; only style transfer needs it

    photos = []
    for name in SKIMAGE_PHOTOS:
        array = np.asarray(getattr(skimage.data, name)())
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        if array.ndim == 3 and array.shape[2] == 4:
            array = array[:, :, :3]
        photos.append((name, to_tensor(Image.fromarray(array.astype(np.uint8)), max_side)))
    return photos


def image_files(root: Path) -> list[Path]:
    """The image files under a folder, sorted; :class:`BadInput` if there are none."""
    if not root.is_dir():
        raise BadInput(f"{root}: not a folder of images")
    files = imaging.image_files(root)
    if not files:
        raise BadInput(f"{root}: no images found ({', '.join(imaging.IMAGE_SUFFIXES)})")
    return files


def load_photos(source: str, max_side: int = MAX_SIDE) -> list[tuple[str, torch.Tensor]]:
    """``builtin:photos`` or a folder of images, as (name, tensor)."""
    if source == BUILTIN_PHOTOS:
        return builtin_photos(max_side)
    if source.startswith("builtin:"):
        raise UsageError(f"unknown built-in photo set {source!r}: use {BUILTIN_PHOTOS} or a folder")
    root = Path(source)
    if not root.exists():
        raise BadInput(f"{root}: no such folder")
    return [(str(path.relative_to(root)), load_photo(path, max_side)) for path in image_files(root)]


def random_crops(photos: list[torch.Tensor], count: int, size: int, generator: torch.Generator,
                 min_scale: float = 0.25) -> torch.Tensor:
    """``count`` random square crops resized to ``size`` (B, 3, size, size): each from a random photo, its side
    a random fraction (``min_scale``..1) of the photo's short side, mirrored half the time."""
    crops = []
    for _ in range(count):
        photo = photos[int(torch.randint(len(photos), (1,), generator=generator))]
        short = min(photo.shape[1:])
        side = max(8, int(short * (min_scale + (1 - min_scale) * float(torch.rand((), generator=generator)))))
        top = int(torch.randint(photo.shape[1] - side + 1, (1,), generator=generator))
        left = int(torch.randint(photo.shape[2] - side + 1, (1,), generator=generator))
        crop = photo[None, :, top:top + side, left:left + side]
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        if float(torch.rand((), generator=generator)) < 0.5:
            crop = crop.flip(3)
        crops.append(crop)
    return torch.cat(crops)
