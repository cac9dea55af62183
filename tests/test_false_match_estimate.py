"""The false-match estimate reads how much information a match rests on (issue 21).

Plain art passes the pixel check against unrelated plain art of similar colours; a photograph never did.
The estimate (artforge/matching/calibration.py, fitted by benchmarks/robustness.py --calibrate) must say
so, and verify must not give a confident verdict on plain evidence.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from artforge.errors import ExitCode
from artforge.matching import calibration as cal
from artforge.matching.information import measure_information
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images


def _bands(colours: list[tuple[int, int, int]], size: tuple[int, int] = (300, 200), split: float = 0.5) -> np.ndarray:
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    image[: int(height * split)] = colours[0]
    image[int(height * split):] = colours[1]
    return image


def test_information_of_plain_bands_and_of_a_photograph() -> None:
    bands = _bands([(200, 30, 30), (20, 40, 200)])
    plain = measure_information(bands, np.ones(bands.shape[:2], bool))
    assert plain.regions == 2 and plain.flat_share > 0.9 and plain.symmetry > 0.99  # mirror-symmetric
    photo = cv2.resize(data.astronaut(), (160, 160), interpolation=cv2.INTER_AREA)
    rich = measure_information(photo, np.ones(photo.shape[:2], bool))
    assert rich.regions > plain.regions and rich.flat_share < 0.5 and rich.symmetry < 0.5
    # Only the overlap counts: the photograph's top left quarter alone still has more than the bands.
    quarter = np.zeros(photo.shape[:2], bool)
    quarter[:80, :80] = True
    assert measure_information(photo, quarter).regions > plain.regions


def test_plain_evidence_is_too_little_and_rich_evidence_is_not() -> None:
    bands = _bands([(200, 30, 30), (20, 40, 200)])
    plain = measure_information(bands, np.ones(bands.shape[:2], bool))
    photo = cv2.resize(data.astronaut(), (160, 160), interpolation=cv2.INTER_AREA)
    rich = measure_information(photo, np.ones(photo.shape[:2], bool))
    assert plain.bits < cal.MIN_MATCH_BITS < rich.bits
    assert cal.too_little_information(plain.bits, detailed_cells=0)
    assert not cal.too_little_information(rich.bits, detailed_cells=0)
    assert not cal.too_little_information(plain.bits, detailed_cells=cal.STRUCTURED_CELLS)  # fine detail is information
    assert cal.pass_rate(plain.bits) > cal.pass_rate(rich.bits)
    # Three bands are still plain; a word on a plain ground is not (it is told by its glyphs).
    three = np.concatenate([_bands([(250, 250, 250), (0, 90, 40)])[:100], _bands([(200, 20, 20), (0, 0, 0)])[:60]])
    assert measure_information(three, np.ones(three.shape[:2], bool)).bits < cal.MIN_MATCH_BITS


def test_the_estimate_of_a_match_scales_with_the_candidates_compared() -> None:
    one = cal.false_match_probability(1.0, True, 1, bits=100)
    assert one == pytest.approx(cal.pass_rate(100))
    assert cal.false_match_probability(1.0, True, 4, bits=100) == pytest.approx(4 * one)
    assert cal.false_match_probability(1.0, True, 4, bits=9000) < cal.false_match_probability(1.0, True, 4, bits=100)
    assert cal.false_match_probability(0.5, False, 3) == 1.0  # a low score is no evidence either way
    # The rates never rise with more information (the fit pools bins that would).
    assert list(cal.BITS_RATES) == sorted(cal.BITS_RATES, reverse=True)


@pytest.mark.slow
def test_a_flipped_plain_image_is_not_a_confident_copy_of_another(home: Home, tmp_path: Path) -> None:
    """The issue's case: the vertical flip of plain two-band art against another registered two-band work."""
    registered = tmp_path / "registered.png"
    Image.fromarray(_bands([(30, 60, 190), (210, 40, 40)], split=0.45)).save(registered)
    other = tmp_path / "other.png"  # a different work: its own colours and split, the other way up
    Image.fromarray(_bands([(205, 45, 50), (35, 55, 185)], split=0.55)).transpose(
        Image.Transpose.FLIP_TOP_BOTTOM).save(other)
    register_images(home, [registered], licence_id="CC-BY-4.0")
    [report] = verify_images(home, [other], workers=1)
    assert report.verdict in ("ambiguous", "no-match"), report.notes
    if report.verdict == "ambiguous":
        assert report.exit_code == ExitCode.AMBIGUOUS and report.match is None
        assert any("too little information" in note for note in report.notes)
