"""Safe image loading: size limits, format allow-list, EXIF orientation, one canonical pixel form.

Every image that enters artforge goes through :func:`load_image`.  The canonical form is 8-bit RGB, or
8-bit RGBA when the source has transparency, after EXIF orientation is applied; its SHA-256 (the *pixel
hash*) is therefore the same for a re-encoded or metadata-stripped copy of the same pixels.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from artforge.config import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_IMAGE_PIXELS
from artforge.errors import BadInput
from artforge.fsutil import read_regular_file

# Formats we decode.  Anything else (EPS, which runs Ghostscript; exotic plugins) is refused.  AVIF is Pillow's
# own (libavif in its wheels); HEIF/HEIC (phone photos) comes from the pillow-heif plugin, registered on first use.
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "AVIF", "HEIF")
# The file names a folder is searched for (verify DIR, register DIR, training data): every format above.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".avif", ".heic", ".heif")
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def _enable_heif_if_needed(data: bytes) -> None:
    # Registering pillow-heif costs ~50 ms of imports: only for files that are HEIF (an ISO box "ftyp").
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        import pillow_heif

        pillow_heif.register_heif_opener()


def _readable_formats() -> tuple[str, ...]:
    # Pillow refuses a format name it has no opener for (HEIF before the plugin is registered).
    Image.init()
    return tuple(name for name in ALLOWED_FORMATS if name in Image.OPEN)
PIXEL_HASH_DOMAIN = b"artforge-pixels/1\n"


@dataclass(frozen=True)
class ImageBytes:
    """An image given as its bytes rather than a file (``curl ... | artforge verify -``); ``name`` labels it."""

    data: bytes = field(repr=False)
    name: str = "-"


ImageSource = str | Path | ImageBytes

# How each allowed format's files begin (offset, bytes); AVIF/HEIF boxes carry "ftyp" at offset 4.
_MAGIC = ((0, b"\x89PNG\r\n\x1a\n"), (0, b"\xff\xd8\xff"), (0, b"GIF87a"), (0, b"GIF89a"), (8, b"WEBP"),
          (0, b"BM"), (0, b"II*\x00"), (0, b"MM\x00*"), (4, b"ftyp"))


def image_files(folder: str | Path) -> list[Path]:
    """The image files under ``folder``, recursively, in name order; symbolic links to folders are not
    followed (no loops), hidden files and folders are skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(found)


def looks_like_image(head: bytes) -> bool:
    """Whether bytes that start with ``head`` (16 or more, when there are) are an image rather than text.

    A known magic number and a control byte within the first 16: every format above has one there (a
    size, a version or the magic itself), and no list of file names does (``GIF89a.png`` stays a path).
    """
    known = any(head[at:at + len(magic)] == magic for at, magic in _MAGIC)
    return known and any((b < 0x20 and b not in b"\t\n\r") or b in (0x7F, 0x89, 0xFF) for b in head[:16])


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image in canonical form, with facts about its source file."""

    image: Image.Image  # mode "RGB" or "RGBA", EXIF orientation applied
    file_sha256: str
    source_format: str
    source_mode: str
    frames: int
    path: Path | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)  # the file's bytes (Content Credentials)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    def rgb(self) -> Image.Image:
        """The image as RGB, transparency composited onto white (what the perceptual hashes see)."""
        if self.image.mode == "RGB":
            return self.image
        background = Image.new("RGB", self.image.size, (255, 255, 255))
        background.paste(self.image, mask=self.image.getchannel("A"))
        return background


def pixel_sha256(image: Image.Image) -> str:
    """SHA-256 over a domain tag, size, mode and raw canonical pixel bytes."""
    digest = hashlib.sha256(PIXEL_HASH_DOMAIN)
    digest.update(f"{image.mode} {image.width} {image.height}\n".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def _to_canonical_mode(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("RGB", "RGBA"):
        return image
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Deep greyscale: Pillow's convert("L") clips instead of scaling, so scale to 8 bits ourselves.
        array = np.asarray(image).astype(np.float64)
        if mode.startswith("I;16"):
            array = array / 257.0
        elif mode == "F" and array.size and float(np.nanmax(array)) <= 1.0:
            array = array * 255.0
        elif array.size and float(np.nanmax(array)) > 255.0:
            array = array / 257.0
        array = np.nan_to_num(np.clip(np.rint(array), 0, 255))
        return Image.fromarray(array.astype(np.uint8), mode="L").convert("RGB")
    has_alpha = mode in ("LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info)
    if mode == "P" and image.palette is not None and image.palette.mode == "RGBA":
        has_alpha = True
    if mode in ("1", "L", "P", "CMYK", "YCbCr", "LAB", "HSV") or has_alpha:
        return image.convert("RGBA" if has_alpha else "RGB")
    raise BadInput(f"unsupported image mode {mode!r}")


def image_format(data: bytes, label: str = "<bytes>") -> str:
    """The format an image file's header names (PNG, JPEG, ...), read without decoding its pixels;
    :class:`BadInput` when it is no image artforge reads (a damaged body is found when it is decoded)."""
    try:
        _enable_heif_if_needed(data)
        with Image.open(io.BytesIO(data), formats=_readable_formats()) as opened:
            return opened.format or "unknown"
    except UnidentifiedImageError:
        raise BadInput(f"{label}: not an image in a supported format ({', '.join(ALLOWED_FORMATS)})") from None
    except Exception as exc:  # noqa: BLE001 - as load_image: Pillow promises no exception type
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"{label}: damaged or truncated image ({reason})") from None


def load_image(
    source: str | Path | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    name: str | Path | None = None,
) -> LoadedImage:
    """Read, check and decode an image file (or its bytes) into canonical form.

    Raises :class:`BadInput` with a one-line reason for missing, oversized, truncated, non-image or
    unsupported files, for FIFOs, devices and sockets (refused unopened: see
    :func:`artforge.fsutil.read_regular_file`) and for decompression bombs (more than ``max_pixels``
    pixels).  ``name`` labels ``bytes`` in messages (the file they were read from).
    """
    path: Path | None = None
    if isinstance(source, bytes):
        data = source
        label = "<bytes>" if name is None else str(name)
    else:
        path = Path(source)
        label = str(path)
        data = read_regular_file(path, max_file_bytes, "an image")
    if not data:
        raise BadInput(f"{label}: empty file")
    file_sha256 = hashlib.sha256(data).hexdigest()

    try:
        with warnings.catch_warnings():
            # Our own pixel limit below is the guard; Pillow's warning would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            _enable_heif_if_needed(data)
            opened = Image.open(io.BytesIO(data), formats=_readable_formats())
            width, height = opened.size
            if width <= 0 or height <= 0:
                raise BadInput(f"{label}: image has no pixels")
            if width * height > max_pixels:
                raise BadInput(
                    f"{label}: {width}x{height} pixels exceeds the {max_pixels}-pixel limit "
                    "(possible decompression bomb)"
                )
            frames = int(getattr(opened, "n_frames", 1) or 1)
            source_format = opened.format or "unknown"
            opened.load()  # decode now, so truncation is reported here
            oriented = ImageOps.exif_transpose(opened)
            source_mode = oriented.mode
            canonical = _to_canonical_mode(oriented)
            canonical.load()
    except BadInput:
        raise
    except UnidentifiedImageError:
        raise BadInput(f"{label}: not an image in a supported format ({', '.join(ALLOWED_FORMATS)})") from None
    except Image.DecompressionBombError:
        raise BadInput(f"{label}: too many pixels (possible decompression bomb)") from None
    except MemoryError:
        raise BadInput(f"{label}: image too large to decode in memory") from None
    except Exception as exc:  # noqa: BLE001
        # Pillow promises no exception type for a malformed file: besides OSError, SyntaxError and ValueError,
        # its readers raise struct.error and IndexError (GIF read past the end of a truncated file), TypeError
        # and KeyError (TIFF without its size tags) and more; Pillow's own OSS-Fuzz harness catches every
        # Exception.  Whatever the decoder raised, the file is damaged.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"{label}: damaged or truncated image ({reason})") from None
    return LoadedImage(
        image=canonical,
        file_sha256=file_sha256,
        source_format=source_format,
        source_mode=source_mode,
        frames=frames,
        path=path,
        data=data,
    )
