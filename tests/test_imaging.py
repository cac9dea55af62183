"""Safe image loading: formats, modes, orientation, limits, damaged files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artforge.errors import BadInput
from artforge.imaging import load_image, pixel_sha256


def _bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_png_and_its_reencoding_share_the_pixel_hash(art, tmp_path: Path) -> None:
    path = art(1)
    original = load_image(path)
    reencoded = load_image(_bytes(Image.open(path), "PNG", compress_level=1))
    assert original.file_sha256 != reencoded.file_sha256
    assert pixel_sha256(original.image) == pixel_sha256(reencoded.image)
    assert original.image.mode == "RGB" and original.source_format == "PNG"


def test_exif_orientation_is_applied(art) -> None:
    image = Image.open(art(2))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    rotated_on_display = load_image(_bytes(image, "JPEG", exif=exif, quality=95))
    assert rotated_on_display.image.size == (image.height, image.width)


@pytest.mark.parametrize("mode", ["1", "L", "P", "CMYK", "LA", "RGBA"])
def test_modes_become_rgb_or_rgba(art, mode: str) -> None:
    image = Image.open(art(3)).convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    loaded = load_image(_bytes(image, fmt))
    assert loaded.image.mode == ("RGBA" if "A" in mode else "RGB")
    assert loaded.source_mode == mode


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    ramp = (np.linspace(0, 65535, 256).reshape(16, 16)).astype(np.uint16)
    loaded = load_image(_bytes(Image.fromarray(ramp), "PNG"))
    grey = np.asarray(loaded.image)[..., 0]
    assert grey.min() == 0 and grey.max() == 255  # clipping would give 255 almost everywhere
    assert len(np.unique(grey)) > 200


def test_animated_gif_uses_first_frame_and_counts_frames() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    loaded = load_image(buffer.getvalue())
    assert loaded.frames == 3
    assert loaded.image.getpixel((5, 5)) == (255, 0, 0)


def test_truncated_file_is_refused(art) -> None:
    data = art(4).read_bytes()
    with pytest.raises(BadInput, match="damaged or truncated"):
        load_image(data[: len(data) // 2])


def test_non_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    with pytest.raises(BadInput, match="not an image"):
        load_image(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        load_image(tmp_path / "absent.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(BadInput, match="empty file"):
        load_image(tmp_path / "empty.png")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A 20000x20000 1-bit PNG compresses to a few kilobytes but would decode to 400 megapixels.
    bomb = _bytes(Image.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < 200_000
    with pytest.raises(BadInput, match="decompression bomb"):
        load_image(bomb)


def test_file_size_limit(art) -> None:
    with pytest.raises(BadInput, match="over the"):
        load_image(art(5), max_file_bytes=100)


def test_unsupported_format_is_refused() -> None:
    with pytest.raises(BadInput, match="not an image in a supported format"):
        load_image(_bytes(Image.new("RGB", (8, 8)), "PPM"))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "AVIF"])
def test_image_bytes_are_told_from_lists_of_paths(fmt: str) -> None:
    from artforge.imaging import looks_like_image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, format=fmt)
    assert looks_like_image(buffer.getvalue()[:16])
    for listing in (b"GIF89a.png\nBMW.jpg\n", b"BM-photo.bmp\n", b"II*x.tif\n", b"/tmp/a.png\n", b""):
        assert not looks_like_image(listing[:16])


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_avif_and_heic_are_read(fmt: str, tmp_path: Path) -> None:
    """Phone photos (HEIC) and AVIF were refused as 'not an image in a supported format'."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()  # to write the file; artforge registers it itself to read one
    path = tmp_path / f"photo.{fmt.lower()}"
    picture = np.zeros((48, 64, 3), np.uint8)
    picture[:, 32:] = (250, 40, 40)
    Image.fromarray(picture).save(path, format=fmt, quality=95)
    loaded = load_image(path)
    assert loaded.source_format == fmt and loaded.image.size == (64, 48)
    assert np.abs(np.asarray(loaded.image, np.int16) - picture).mean() < 6  # lossy, but the same picture
    # A fresh process, where nothing has registered the plugin yet, reads it too.
    from cli_helpers import run_process

    printed = run_process("fingerprint", path, "--json")
    assert printed.returncode == 0, printed.stderr
