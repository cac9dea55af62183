"""The decision's vectorised measures give exactly what their plain definitions give.

``is_grey``, the cell-by-cell agreement and the content box were rewritten for speed (a histogram
percentile; per-cell sums by ``np.bincount``; lines peeled in growing chunks).  The references below are
the plain definitions they replaced: a percentile of the channel spread, a loop over the 8x8 grid, a
peel of one line at a time.  Verdicts rest on these numbers, so they must agree exactly (counts) or to
rounding (shares), on random images and on real art.
"""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from artforge.matching.cells import (
    CELL_CORRELATION,
    CELL_RESIDUAL,
    CELL_RESIDUAL_FLOOR,
    DETAIL_LEVEL,
    FLAT_TONE_TOLERANCE,
    GRID,
    OCCLUSION_CONTRAST,
    TEXTURED_STD,
    cell_agreement,
    plain_correlation,
)
from artforge.matching.layers import content_box, histogram_percentile, is_grey


def _grey_by_percentile(rgb: np.ndarray) -> bool:
    spread = rgb.max(axis=-1).astype(np.int16) - rgb.min(axis=-1)
    return bool(np.percentile(spread, 99) <= 6)


@settings(max_examples=300, deadline=None)
@given(arrays(np.int64, st.integers(1, 400), elements=st.integers(0, 40)),
       st.floats(0, 100, allow_nan=False))
def test_histogram_percentile_is_numpys(values, q) -> None:
    assert histogram_percentile(np.bincount(values, minlength=256), q) == np.percentile(values, q)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 12), st.integers(0, 2**32 - 1))
def test_is_grey_is_the_percentile_of_the_channel_spread(height, width, noise, seed) -> None:
    rng = np.random.default_rng(seed)
    grey = rng.integers(0, 256, (height, width, 1))
    rgb = np.clip(grey + rng.integers(-noise, noise + 1, (height, width, 3)), 0, 255).astype(np.uint8)
    assert is_grey(rgb) == _grey_by_percentile(rgb)
    assert is_grey(rgb[:, ::-1]) == _grey_by_percentile(rgb)  # a strided view too


def _cells_by_loop(reference: np.ndarray, query: np.ndarray, valid: np.ndarray) -> tuple:
    """The grid, one cell at a time: (agreement, textured agreement, textured, detailed, occlusion, visible)."""
    values_q, values_r = query[valid], reference[valid]
    slope, intercept = np.polyfit(values_q, values_r, 1) if values_q.std() > 0.5 else (0.0, float(values_r.mean()))
    fitted = slope * query + intercept
    detail = reference - cv2.GaussianBlur(reference, (0, 0), 2.0)
    visible = valid.copy()
    agreeing = considered = textured = textured_agreeing = occluded = detailed = 0
    for rows in np.array_split(np.arange(reference.shape[0]), GRID):
        for cols in np.array_split(np.arange(reference.shape[1]), GRID):
            if not len(rows) or not len(cols):
                continue
            window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            inside = valid[window]
            if inside.mean() < 0.6:
                continue
            considered += 1
            detailed += float(np.median(np.abs(detail[window][inside]))) >= DETAIL_LEVEL
            ref_cell, fit_cell = reference[window][inside], fitted[window][inside]
            ref_spread, fit_spread = float(ref_cell.std()), float(fit_cell.std())
            if ref_spread >= TEXTURED_STD:
                residual = float(np.sqrt(np.mean((fit_cell - ref_cell) ** 2)))
                good = plain_correlation(ref_cell, fit_cell) >= CELL_CORRELATION and \
                    residual <= CELL_RESIDUAL * max(ref_spread, fit_spread) + CELL_RESIDUAL_FLOOR
            else:
                good = abs(float(fit_cell.mean() - ref_cell.mean())) <= FLAT_TONE_TOLERANCE and fit_spread < TEXTURED_STD
            if not good and fit_spread >= OCCLUSION_CONTRAST * ref_spread + TEXTURED_STD:
                occluded += 1
                visible[window] = False
                continue
            agreeing += good
            if ref_spread >= TEXTURED_STD:
                textured += 1
                textured_agreeing += good
    shown = considered - occluded
    return (agreeing / shown if shown else 0.0, textured_agreeing / textured if textured else 1.0, textured,
            detailed, occluded / considered if considered else 0.0, visible)


def _pair(art_image: np.ndarray, rng: np.random.Generator, case: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reference = cv2.GaussianBlur(cv2.cvtColor(art_image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
    height, width = reference.shape
    query = reference * rng.uniform(0.6, 1.2) + rng.uniform(-30, 30) + rng.normal(0, 3, reference.shape)
    if case % 3 == 1:  # a caption: much more contrast than the original in a corner
        query[: height // 3, : width // 2] = rng.uniform(0, 255, (height // 3, width // 2))
    if case % 3 == 2:  # unrelated content
        query = cv2.GaussianBlur(rng.uniform(0, 255, reference.shape).astype(np.float32), (0, 0), 3.0)
    valid = np.ones((height, width), bool)
    if case % 4 == 1:
        valid[:, : int(width * rng.uniform(0.1, 0.7))] = False
    if case % 4 == 2:
        valid = rng.random((height, width)) < 0.85
    return reference, query.astype(np.float32), valid


def test_cell_agreement_is_the_per_cell_loop(art) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    images = [np.asarray(Image.open(art(seed)).convert("RGB").resize((160, 120))) for seed in range(4)]
    flat = np.zeros((100, 150, 3), np.uint8)
    flat[:, 75:] = (200, 40, 40)  # two flat bands: few textured cells
    for case in range(48):
        image = images[case % len(images)] if case % 5 else flat
        reference, query, valid = _pair(image, rng, case)
        if case % 7 == 6:  # smaller than the grid in one dimension
            reference, query, valid = reference[:5, :40], query[:5, :40], valid[:5, :40]
        fast = cell_agreement(reference, query, valid)
        agreement, textured_agreement, textured, detailed, occlusion, visible = _cells_by_loop(reference, query, valid)
        assert (fast.textured, fast.detailed) == (textured, detailed), case
        assert abs(fast.agreement - agreement) < 1e-9 and abs(fast.textured_agreement - textured_agreement) < 1e-9
        assert abs(fast.occlusion - occlusion) < 1e-9 and np.array_equal(fast.visible, visible), case


def _box_line_by_line(rgb: np.ndarray) -> tuple[float, float, float, float]:
    """content_box as first written: peel one line at a time while it is (almost) the side's colour."""
    from artforge.matching.layers import (
        BORDER_MIN_UNIFORM,
        BORDER_TOLERANCE,
        BOX_MIN_CHANGE,
        FRAME,
        MAX_BORDER_SHARE,
        resize_long_side,
    )

    pixels = (resize_long_side(rgb, 256) if max(rgb.shape[:2]) > 256 else rgb).astype(np.int16)
    height, width = pixels.shape[:2]
    top, bottom, left, right = 0, height, 0, width

    def uniform(line: np.ndarray, colour: np.ndarray) -> bool:
        return bool(line.size) and float((np.abs(line - colour).max(axis=-1) <= BORDER_TOLERANCE).mean()) >= BORDER_MIN_UNIFORM

    colour = np.median(pixels[0], axis=0)
    while top < height * MAX_BORDER_SHARE and uniform(pixels[top, left:right], colour):
        top += 1
    colour = np.median(pixels[-1], axis=0)
    while height - bottom < height * MAX_BORDER_SHARE and uniform(pixels[bottom - 1, left:right], colour):
        bottom -= 1
    colour = np.median(pixels[:, 0], axis=0)
    while left < width * MAX_BORDER_SHARE and uniform(pixels[top:bottom, left], colour):
        left += 1
    colour = np.median(pixels[:, -1], axis=0)
    while width - right < width * MAX_BORDER_SHARE and uniform(pixels[top:bottom, right - 1], colour):
        right -= 1
    inside = pixels[top:bottom, left:right]
    if bottom - top < 4 or right - left < 4 or float(np.ptp(inside, axis=(0, 1)).max()) <= BORDER_TOLERANCE:
        return FRAME
    box = (left / width, top / height, right / width, bottom / height)
    if box[0] < BOX_MIN_CHANGE and box[1] < BOX_MIN_CHANGE and box[2] > 1 - BOX_MIN_CHANGE \
            and box[3] > 1 - BOX_MIN_CHANGE:
        return FRAME
    return box


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 90), st.integers(1, 90), st.lists(st.integers(0, 50), min_size=4, max_size=4),
       st.integers(0, 2), st.integers(0, 2**32 - 1))
def test_content_box_is_the_line_by_line_peel(height, width, borders, content, seed) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3)) if content else np.full((height, width, 3), rng.integers(0, 256, 3))
    top, bottom = (min(b, height) for b in borders[:2])
    left, right = (min(b, width) for b in borders[2:])
    image[:top] = rng.integers(0, 256, 3)
    image[height - bottom:] = rng.integers(0, 256, 3)
    image[:, :left] = rng.integers(0, 256, 3)
    image[:, width - right:] = rng.integers(0, 256, 3)
    if content == 2:  # JPEG-like noise: borders that are almost uniform
        image = image + rng.integers(-16, 17, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    assert content_box(image) == _box_line_by_line(image)


def _refine_in_one_run(reference: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """The ECC refinement as first written: one run of ECC_ITERATIONS, kept when it stays close."""
    from artforge.matching.compare import ECC_ITERATIONS, MAX_REFINE_CHANGE

    try:
        _, warp = cv2.findTransformECC(reference, warped, np.eye(2, 3, dtype=np.float32), cv2.MOTION_AFFINE,
                                       (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, ECC_ITERATIONS, 1e-4),
                                       mask, 3)
    except cv2.error:
        return None
    close = np.abs(warp[:, :2] - np.eye(2)).max() <= MAX_REFINE_CHANGE and \
        np.abs(warp[:, 2]).max() <= MAX_REFINE_CHANGE * max(reference.shape)
    return warp if close else None


def test_probed_refinement_keeps_what_one_run_keeps(art) -> None:
    """The ECC probe only drops refinements that wander off: a copy a few px and degrees off is refined
    exactly as by one run, and an unrelated image is dropped by both."""
    from PIL import Image

    from artforge.matching.compare import _refine

    rng = np.random.default_rng(1)
    images = [np.asarray(Image.open(art(seed)).convert("L").resize((160, 120)), np.float32) for seed in range(4)]
    kept = 0
    for case in range(24):
        reference = cv2.GaussianBlur(images[case % 4], (0, 0), 1.0)
        if case % 4 == 3:  # unrelated content
            source = images[(case + 1) % 4]
        else:
            source = images[case % 4]
        turn = cv2.getRotationMatrix2D((80, 60), rng.uniform(-3, 3), rng.uniform(0.97, 1.03))
        turn[:, 2] += rng.uniform(-3, 3, 2)
        warped = cv2.GaussianBlur(cv2.warpAffine(source, turn, (160, 120), borderMode=cv2.BORDER_REFLECT), (0, 0), 1.0)
        mask = np.full((120, 160), 255, np.uint8)
        mask[:, : int(rng.integers(0, 40))] = 0
        probed, one_run = _refine(reference, warped, mask, probe=True), _refine_in_one_run(reference, warped, mask)
        assert (probed is None) == (one_run is None), case
        if probed is not None:
            kept += 1
            assert np.array_equal(probed, one_run), case
    assert kept >= 12, kept  # the copies were refined, not dropped
    assert kept < 24  # and the unrelated ones were not
