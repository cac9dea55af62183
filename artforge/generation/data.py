"""Training data: a user's image folder, or built-in sets that work offline.

* ``DIR``: every PNG/JPEG/WebP/BMP below ``DIR`` (recursive).  Images in subfolders get the subfolder's
  name as their class; an optional ``DIR/captions.csv`` (``file,caption``) gives captions.  Each image is
  loaded safely (:mod:`artforge.imaging`), resized so its short side is the target size, centre-cropped.
* ``builtin:digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), upsampled.
* ``builtin:shapes``: procedurally drawn coloured shapes on coloured backgrounds with captions such as
  "a red circle on black" (classes are the shape), for the conditional model and for tests.

Everything is held in memory as uint8 (laptop-scale data); batches are converted to floats in [-1, 1].
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from artforge.config import MAX_CAPTIONS_BYTES
from artforge.errors import BadInput, UsageError
from artforge.fsutil import read_regular_file
from artforge.imaging import IMAGE_SUFFIXES, image_files, load_image

MIN_IMAGES = 8
SUPPORTED_SIZES = (16, 28, 32, 56, 64, 128)

SHAPES = ("circle", "square", "triangle", "diamond")
SHAPE_COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 90, 230), "yellow": (235, 215, 40),
                 "white": (245, 245, 245)}
BACKGROUNDS = {"black": (10, 10, 10), "gray": (120, 120, 120), "purple": (110, 40, 130)}
DEFAULT_SHAPES_COUNT = 2048


@dataclass
class ImageDataset:
    """Images (uint8, N x C x H x W), optional class labels and captions, and where they came from."""

    images: torch.Tensor
    name: str
    labels: torch.Tensor | None = None
    class_names: list[str] = field(default_factory=list)
    captions: list[str] | None = None

    def __post_init__(self) -> None:
        digest = hashlib.sha256(f"{self.name}|{tuple(self.images.shape)}".encode())
        digest.update(self.images.numpy().tobytes())
        if self.labels is not None:
            digest.update(self.labels.numpy().tobytes())
        if self.captions is not None:
            digest.update("\n".join(self.captions).encode())
        self.fingerprint = digest.hexdigest()

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> dict:
        """What a checkpoint and a provenance record say about the training data."""
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "images": len(self),
            "image_size": self.image_size,
            "channels": self.channels,
            "class_names": self.class_names,
            "captioned": self.captions is not None,
        }


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255] (clamped)."""
    return images.detach().float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


def check_size(size: int) -> int:
    if size not in SUPPORTED_SIZES:
        raise UsageError(f"image size {size} is not supported; choose one of {', '.join(map(str, SUPPORTED_SIZES))}")
    return size


def load_dataset(source: str, image_size: int = 32, channels: int | None = None, limit: int | None = None,
                 max_pixels: int | None = None) -> ImageDataset:
    """Load ``builtin:digits``, ``builtin:shapes`` or an image folder at ``image_size`` pixels."""
    check_size(image_size)
    if source == "builtin:digits":
        dataset = _digits(image_size, channels or 1)
    elif source.startswith("builtin:shapes"):
        count = DEFAULT_SHAPES_COUNT if limit is None else limit
        dataset = shapes_dataset(count, image_size, channels or 3)
    elif source.startswith("builtin:"):
        raise UsageError(f"unknown built-in dataset {source!r}: use builtin:digits or builtin:shapes")
    else:
        dataset = _folder(Path(source), image_size, channels or 3, max_pixels)
    if limit is not None and len(dataset) > limit:
        dataset = ImageDataset(dataset.images[:limit], dataset.name,
                               None if dataset.labels is None else dataset.labels[:limit], dataset.class_names,
                               None if dataset.captions is None else dataset.captions[:limit])
    return dataset


def _resize_square(image: Image.Image, size: int) -> Image.Image:
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    resized = image.resize((width, height), Image.Resampling.LANCZOS)
    left, top = (width - size) // 2, (height - size) // 2
    return resized.crop((left, top, left + size, top + size))


def _stack(images: list[Image.Image], channels: int) -> torch.Tensor:
    mode = "L" if channels == 1 else "RGB"
    arrays = [np.asarray(im.convert(mode), dtype=np.uint8) for im in images]
    stacked = np.stack(arrays)
    if channels == 1:
        stacked = stacked[:, None]
    else:
        stacked = stacked.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(stacked))


def _digits(size: int, channels: int) -> ImageDataset:
    from sklearn.datasets import load_digits  # bundled in the scikit-learn wheel: no download

    digits = load_digits()
    pictures = [Image.fromarray((im * (255 / 16)).astype(np.uint8), "L").resize((size, size),
                                                                                Image.Resampling.BICUBIC)
                for im in digits.images]
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    return ImageDataset(
        images=_stack(pictures, channels),
        name="builtin:digits",
        labels=torch.as_tensor(digits.target, dtype=torch.int64),
        class_names=names,
    )


def draw_shape(shape: str, colour: str, background: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One anti-aliased picture of a shape (drawn at 4x, then reduced) at a random place and scale."""
    big = size * 4
    image = Image.new("RGB", (big, big), BACKGROUNDS[background])
    draw = ImageDraw.Draw(image)
    radius = big * rng.uniform(0.2, 0.35)
    cx, cy = rng.uniform(radius + big * 0.05, big - radius - big * 0.05, 2)
    fill = tuple(int(np.clip(c + rng.normal(0, 12), 0, 255)) for c in SHAPE_COLOURS[colour])
    if shape == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    elif shape == "square":
        draw.rectangle((cx - radius * 0.85, cy - radius * 0.85, cx + radius * 0.85, cy + radius * 0.85), fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius * 0.8), (cx + radius, cy + radius * 0.8)], fill=fill)
    else:  # diamond
        draw.polygon([(cx, cy - radius), (cx + radius * 0.8, cy), (cx, cy + radius), (cx - radius * 0.8, cy)], fill=fill)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def shapes_dataset(count: int, size: int, channels: int = 3, seed: int = 0) -> ImageDataset:
    """The built-in captioned shapes set: deterministic for a given count, size and seed."""
    rng = np.random.default_rng(seed)
    pictures, labels, captions = [], [], []
    colour_names, background_names = list(SHAPE_COLOURS), list(BACKGROUNDS)
    for _ in range(count):
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        colour = colour_names[int(rng.integers(len(colour_names)))]
        background = background_names[int(rng.integers(len(background_names)))]
        pictures.append(draw_shape(shape, colour, background, size, rng))
        labels.append(SHAPES.index(shape))
        captions.append(f"a {colour} {shape} on {background}")
    return ImageDataset(_stack(pictures, channels), "builtin:shapes", torch.as_tensor(labels, dtype=torch.int64),
                        list(SHAPES), captions)


def _read_captions(root: Path) -> dict[str, str]:
    path = root / "captions.csv"
    if not path.exists():
        return {}
    captions = {}
    raw = read_regular_file(path, MAX_CAPTIONS_BYTES, "captions.csv")
    try:
        for row in csv.reader(io.StringIO(raw.decode("utf-8"), newline="")):
            if not row or row[0].strip().lower() == "file":
                continue
            if len(row) < 2:
                raise BadInput(f"{path}: each row needs file,caption")
            captions[row[0].strip()] = row[1].strip()
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"{path}: unreadable ({exc})") from None
    return captions


def _folder(root: Path, size: int, channels: int, max_pixels: int | None) -> ImageDataset:
    if not root.exists():
        raise BadInput(f"{root}: no such folder")
    if not root.is_dir():
        raise BadInput(f"{root}: not a folder (give a folder of images, or builtin:digits / builtin:shapes)")
    files = image_files(root)
    if not files:
        raise BadInput(f"{root}: no images found ({', '.join(IMAGE_SUFFIXES)})")
    if len(files) < MIN_IMAGES:
        raise BadInput(f"{root}: only {len(files)} images; at least {MIN_IMAGES} are needed to train")
    captions_by_file = _read_captions(root)
    pictures, folders, captions = [], [], []
    options = {"max_pixels": max_pixels} if max_pixels else {}
    for path in files:
        loaded = load_image(path, **options)  # BadInput names the file
        pictures.append(_resize_square(loaded.rgb(), size))
        relative = path.relative_to(root)
        folders.append(relative.parts[0] if len(relative.parts) > 1 else "")
        captions.append(captions_by_file.get(relative.as_posix(), captions_by_file.get(path.name)))
    class_names: list[str] = sorted(set(folders)) if all(folders) and len(set(folders)) > 1 else []
    labels = torch.as_tensor([class_names.index(f) for f in folders]) if class_names else None
    if captions_by_file:
        missing = [files[i].name for i, c in enumerate(captions) if not c]
        if missing:
            raise BadInput(f"{root / 'captions.csv'}: no caption for {len(missing)} image(s), e.g. {missing[0]}")
    return ImageDataset(_stack(pictures, channels), str(root.resolve()), labels, class_names,
                        captions if captions_by_file else None)


TOKEN_PATTERN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers; punctuation is ignored."""
    return TOKEN_PATTERN.findall(text.lower())
