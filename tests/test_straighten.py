"""Straightening a copy turned by a few degrees with filled corners (artforge.matching.straighten)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from test_matching import _smooth_art

from artforge.generation.procedural import draw_art
from artforge.matching.straighten import straighten
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images


def _stripes(size: tuple[int, int] = (300, 200)) -> Image.Image:
    """Flat art with a few keypoints at most: three vertical bands, the last one white."""
    width, height = size
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 3] = (200, 30, 40)
    array[:, width // 3: 2 * width // 3] = (20, 60, 150)
    array[:, 2 * width // 3:] = (255, 255, 255)
    return Image.fromarray(array)


def _correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    a, b = a.astype(np.float64).mean(axis=2)[mask], b.astype(np.float64).mean(axis=2)[mask]
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("degrees, fill, expand", [
    (3.0, "white", False), (-6.0, "black", False), (8.0, (0, 128, 0), False), (5.0, "white", True),
    (-1.5, "black", True),
])
def test_a_turned_copy_is_turned_back_by_the_angle_it_was_turned(degrees, fill, expand) -> None:
    original = draw_art(5, (320, 240))
    turned = original.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=fill)
    upright = straighten(np.asarray(turned))
    assert upright is not None
    assert upright.angle == pytest.approx(degrees, abs=0.3)
    if not expand:  # same canvas: the upright image lies on the original, except the corners that were lost
        reference = np.asarray(original.resize((upright.rgb.shape[1], upright.rgb.shape[0])))
        kept = upright.mask > 0
        assert 0.75 < kept.mean() < 1.0
        assert not kept[0, 0] and not kept[-1, -1]
        before = _correlation(reference, np.asarray(turned.resize(reference.shape[1::-1])), kept)
        after = _correlation(reference, upright.rgb, kept)
        assert after > 0.95 > before


@pytest.mark.parametrize("fill", ["white", "black"])
def test_a_turned_copy_saved_as_a_rough_jpeg_is_still_straightened(fill) -> None:
    import io

    turned = draw_art(9, (320, 240)).rotate(5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    buffer = io.BytesIO()
    turned.save(buffer, format="JPEG", quality=40)  # ringing along the fill's edge, blocks in the fill
    upright = straighten(np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")))
    assert upright is not None and upright.angle == pytest.approx(5, abs=0.3)


def test_art_in_the_fills_colour_keeps_it_outside_the_lost_corners() -> None:
    # The white band merges with the white fill; only the corners the turn cut off are masked.
    turned = _stripes().rotate(4, resample=Image.Resampling.BICUBIC, fillcolor="white")
    upright = straighten(np.asarray(turned))
    assert upright is not None and upright.angle == pytest.approx(4, abs=0.3)
    height, width = upright.mask.shape
    assert upright.mask[height // 2, width - 12] == 255  # inside the white band
    assert upright.rgb[height // 2, width - 12].min() > 240


@pytest.mark.parametrize("image", [
    draw_art(6, (320, 240)),  # content to the edges
    _stripes(),  # axis-aligned flat art with a white band at the edge
    Image.new("RGB", (200, 150), (250, 250, 250)),  # blank
])
def test_an_upright_image_is_left_alone(image) -> None:
    assert straighten(np.asarray(image)) is None


def test_art_on_a_plain_ground_is_left_alone() -> None:
    # A turned square on white: the ground's edges are the square's, not a rotated frame's.
    canvas = Image.new("RGB", (300, 300), "white")
    canvas.paste(draw_art(7, (120, 120)).rotate(10, expand=True, fillcolor="white"), (80, 80))
    assert straighten(np.asarray(canvas)) is None


@pytest.mark.parametrize("degrees", [0.2, 30.0])
def test_only_small_turns_are_undone(degrees) -> None:
    turned = draw_art(8, (320, 240)).rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor="white")
    assert straighten(np.asarray(turned)) is None


@pytest.mark.parametrize("degrees, fill", [(-6, "black"), (8, "white")])
def test_a_turned_copy_of_smooth_art_is_found_and_the_report_says_it_was_straightened(home: Home, tmp_path: Path,
                                                                                      degrees, fill) -> None:
    # Smooth art has no keypoints to fit a rotation with; unstraightened, neither of these is found.
    original = tmp_path / "smooth.png"
    Image.fromarray(_smooth_art(360, 240)).save(original)
    [work] = register_images(home, [original], licence_id="CC-BY-4.0", workers=1)
    query = tmp_path / "turned.png"
    Image.open(original).rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=fill).save(query)
    [report] = verify_images(home, [query], workers=1)
    assert report.verdict == "modified-copy"
    assert report.match.work_id == work.work_id
    [note] = [note for note in report.notes if note.startswith("turned by")]
    assert float(note.split()[2]) == pytest.approx(degrees, abs=0.3)


def test_a_texture_taken_for_a_turned_copy_is_also_matched_as_it_came(home: Home, tmp_path: Path) -> None:
    # Tilted bricks in one colour at all four corners look like a turned copy's fill; straightened, the
    # registered image itself is no longer found, so the matcher falls back to the image as given.
    bricks = np.full((240, 320, 3), 120, np.uint8)
    for row, y in enumerate(range(-40, 280, 30)):
        cv2_line(bricks, (0, y), (320, y + 25), (230, 230, 230), 4)
        for x in range(-20 + 35 * (row % 2), 340, 70):
            cv2_line(bricks, (x, y + int(25 * x / 320)), (x, y + 30 + int(25 * x / 320)), (230, 230, 230), 4)
    assert straighten(bricks) is not None  # the premise: this is (wrongly) taken for a turned copy
    original = tmp_path / "bricks.png"
    Image.fromarray(bricks).save(original)
    [work] = register_images(home, [original], licence_id="CC-BY-4.0", workers=1)
    query = tmp_path / "bricks.jpg"
    Image.fromarray(bricks).save(query, quality=85)
    [report] = verify_images(home, [query], workers=1)
    assert report.match is not None and report.match.work_id == work.work_id
    assert not any("turned by" in note for note in report.notes)


def cv2_line(image: np.ndarray, start: tuple[int, int], end: tuple[int, int], colour: tuple[int, int, int],
             width: int) -> None:
    cv2.line(image, start, end, colour, width)
