"""The decision rules of :func:`artforge.matching.matcher.classify`, one at a time, on hand-made evidence.

tests/test_matching_thresholds.py pins what the rules achieve on real images; these pin what each rule
is, so a change to one shows up here by name.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from artforge.matching import calibration as cal
from artforge.matching.compare import Alignment, Comparison
from artforge.matching.matcher import classify

# A clear copy of a richly textured original: every measure well inside the thresholds.
RICH = Comparison(alignment=Alignment(np.eye(2, 3), "global"), correlation=0.99, agreement=1.0,
                  textured_agreement=1.0, textured_cells=60, detailed_cells=50, original_grey=False, occlusion=0.0,
                  coverage=1.0, query_coverage=1.0, colour_residual=0.01, grey_residual=None, refined=False, matrix=np.eye(2, 3))
# Flat art with some structure (a label, an icon): weak evidence.
FLAT = replace(RICH, detailed_cells=20, textured_cells=24)
# A gradient: no detail at all.
SMOOTH = replace(RICH, detailed_cells=0, textured_cells=0)


def test_a_clear_copy_of_rich_art_is_a_modified_copy() -> None:
    assert classify(RICH) == "modified-copy"
    assert classify(replace(RICH, correlation=cal.MIN_CORRELATION - 0.01)) is None


def test_weak_evidence_needs_a_higher_correlation_unless_every_cell_agrees() -> None:
    assert classify(replace(FLAT, correlation=0.97, agreement=0.98)) is None  # a cell disagrees: 0.98 needed
    assert classify(replace(FLAT, correlation=0.97)) == "modified-copy"  # all agree over 24 textured cells
    assert classify(replace(FLAT, correlation=cal.CONSISTENT_MIN_CORRELATION - 0.01)) is None
    few = replace(FLAT, correlation=0.97, textured_cells=cal.CONSISTENT_MIN_TEXTURED_CELLS - 1)
    assert classify(few) is None  # too few textured cells to trust "every cell agrees"


def test_weak_evidence_needs_a_tight_colour_fit() -> None:
    assert classify(replace(FLAT, colour_residual=cal.WEAK_MAX_COLOUR_RESIDUAL + 0.005)) is None
    # Rich art keeps the looser limit, and a recolouring with rich agreeing texture is a derived work.
    assert classify(replace(RICH, colour_residual=cal.WEAK_MAX_COLOUR_RESIDUAL + 0.005)) == "modified-copy"
    assert classify(replace(RICH, colour_residual=cal.MAX_COLOUR_RESIDUAL + 0.05)) == "derived-work"


def test_a_grey_copy_of_flat_colour_art_is_decided_only_with_the_originals_own_grey_levels() -> None:
    own = replace(FLAT, detailed_cells=12, colour_residual=None, grey_residual=cal.GREY_MAX_RESIDUAL - 0.004)
    assert classify(own) == "modified-copy"
    # A smooth original's grey copy is a grey ramp, like any gradient's running the same way: tighter.
    smooth = replace(own, detailed_cells=cal.SMOOTH_CELLS - 1, correlation=0.995)
    assert classify(replace(smooth, grey_residual=cal.GREY_SMOOTH_MAX_RESIDUAL - 0.002)) == "modified-copy"
    assert classify(replace(smooth, grey_residual=cal.GREY_SMOOTH_MAX_RESIDUAL + 0.002)) is None
    # Other grey levels (a sibling's grey copy, or a grey copy toned further): not decided, whatever the detail.
    assert classify(replace(own, grey_residual=cal.GREY_MAX_RESIDUAL + 0.004)) is None
    assert classify(replace(own, grey_residual=0.1, detailed_cells=30, correlation=0.9999)) is None
    # A grey original has no colour to lose, and rich art has structure enough: both decided.
    assert classify(replace(own, grey_residual=None, original_grey=True)) == "modified-copy"
    assert classify(replace(RICH, colour_residual=None, grey_residual=0.1)) == "modified-copy"
    # The weak-evidence rules still apply.
    assert classify(replace(own, correlation=0.97, agreement=0.98)) is None
    assert classify(replace(own, detailed_cells=0, textured_cells=0, coverage=cal.SMOOTH_MIN_COVERAGE - 0.05)) is None


def test_smooth_art_needs_near_perfect_correlation_and_a_good_part_shown() -> None:
    # Enough for flat art with structure, not for a gradient.
    assert classify(replace(FLAT, correlation=0.985, agreement=0.98)) == "modified-copy"
    assert classify(replace(SMOOTH, correlation=0.985)) is None
    perfect = replace(SMOOTH, correlation=0.998)
    assert classify(perfect) == "modified-copy"
    assert classify(replace(perfect, coverage=cal.SMOOTH_MIN_COVERAGE - 0.05)) is None
    assert classify(replace(perfect, coverage=cal.SMOOTH_MIN_COVERAGE + 0.05)) == "modified-copy"


def test_a_small_fragment_or_a_collage_is_a_derived_work() -> None:
    assert classify(replace(RICH, coverage=cal.COPY_MIN_COVERAGE - 0.05)) == "derived-work"
    assert classify(replace(RICH, query_coverage=cal.COPY_MIN_QUERY_COVERAGE - 0.1)) == "derived-work"


def _turned(comparison: Comparison, degrees: float) -> Comparison:
    theta = np.radians(degrees)
    matrix = np.array([[np.cos(theta), -np.sin(theta), 0.0], [np.sin(theta), np.cos(theta), 0.0]])
    return replace(comparison, matrix=matrix)


@pytest.mark.parametrize("degrees, decided", [(0, True), (8, True), (-12, True), (90, True), (45, False),
                                               (-30, False), (70, False)])
def test_weak_evidence_must_be_seen_nearly_upright(degrees, decided) -> None:
    # A square is a diamond turned 45 degrees: flat shapes have turned look-alikes.
    assert (classify(_turned(FLAT, degrees)) is not None) == decided
    assert classify(_turned(RICH, degrees)) == "modified-copy"  # rich texture has no turned look-alike
