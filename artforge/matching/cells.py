"""The decision's pixel measures over an aligned overlap: one global tone fit, then an 8x8 grid of cells.

* :func:`tone_correlation`: how well the query follows the original through one tone curve (structure,
  immune to brightness, contrast, gamma and clipping);
* :func:`cell_agreement`: which cells agree on their own, which hold fine detail, and which were covered
  up by added content (a caption, a watermark).

:func:`.compare.compare` warps the query into the original's frame and hands both here as grey images.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from artforge.matching.colour import CLIP_MARGIN

GRID = 8
TEXTURED_STD = 6.0  # grey-level std of a cell with structure to correlate
CELL_CORRELATION = 0.6
CELL_RESIDUAL = 0.6  # a textured cell's residual may be this share of its spread...
CELL_RESIDUAL_FLOOR = 4.0  # ...plus this many grey levels (noise, JPEG)
FLAT_TONE_TOLERANCE = 14.0
# Median |high-pass| of a cell above which it holds texture, not just a smooth ramp or one sharp edge of
# flat art (an edge moves few pixels, so the median ignores it).
DETAIL_LEVEL = 0.6
OCCLUSION_CONTRAST = 1.6  # a disagreeing cell with this much more contrast in the query is covered up


def tone_correlation(reference: np.ndarray, query: np.ndarray) -> float:
    """How well ``query`` pixels follow ``reference`` pixels through one global tone curve, clipped at 0 and
    255 as editors do: the correlation of the query with the curve's prediction.

    A straight line gives the plain correlation; the curve (a quadratic, fitted where the query is not
    clipped) also follows gamma and a brightening that saturates highlights, which flat art, with few
    tones, otherwise loses several hundredths of correlation to.  Never less than the plain correlation.
    """
    plain = plain_correlation(reference, query)
    inside = (query > CLIP_MARGIN) & (query < 255 - CLIP_MARGIN)
    if inside.mean() < 0.3 or inside.sum() < 16 or float(reference[inside].std()) < 1.0:
        return plain
    scale = 1.0 / 255.0
    r = reference.astype(np.float64) * scale
    design = np.column_stack([np.ones_like(r), r, r * r])
    coefficients, *_ = np.linalg.lstsq(design[inside], query[inside].astype(np.float64), rcond=None)
    prediction = np.clip(design @ coefficients, 0, 255)
    return max(plain, plain_correlation(prediction, query.astype(np.float64)))


def plain_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Zero-mean normalised cross-correlation of two equal-length pixel arrays (0 when either is flat)."""
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 1e-6 else 0.0


@dataclass(frozen=True)
class CellAgreement:
    """What the grid says about one overlap (see :func:`cell_agreement`)."""

    agreement: float  # share of the visible (not occluded) cells that agree
    textured_agreement: float  # share of the visible cells with structure in the original that agree
    textured: int
    detailed: int  # cells of the original with fine detail (texture, edges), not just a smooth ramp
    occlusion: float  # share of the compared cells hidden under added content (captions, watermarks)
    visible: np.ndarray  # pixel mask of the cells not occluded


def cell_labels(height: int, width: int) -> np.ndarray:
    """Each pixel's cell of the GRID x GRID grid (``np.array_split`` of rows and columns), row-major."""
    rows = np.concatenate([np.full(len(part), i) for i, part in enumerate(np.array_split(np.arange(height), GRID))])
    cols = np.concatenate([np.full(len(part), i) for i, part in enumerate(np.array_split(np.arange(width), GRID))])
    return (rows[:, None] * GRID + cols[None, :]).astype(np.intp)


def median_at_least(values: np.ndarray, cells: np.ndarray, counts: np.ndarray, level: float) -> np.ndarray:
    """Per cell: is ``np.median`` of its ``values`` at least ``level``?  (``cells``: each value's cell;
    ``counts``: values per cell.)  Decided by counting, without sorting: the median of n values is at least
    the level when more than half of them are; for even n with exactly half, it is the mean of the
    largest value below the level and the smallest at or above it."""
    at_least = values >= level
    above = np.bincount(cells[at_least], minlength=len(counts))
    odd = counts % 2 == 1
    result = np.where(odd, above >= (counts + 1) // 2, above >= counts // 2 + 1)
    tied = ~odd & (counts > 0) & (above == counts // 2)
    if tied.any():
        for cell in np.flatnonzero(tied):
            mine = values[cells == cell]
            middle = (mine[mine < level].max() + mine[mine >= level].min()) / values.dtype.type(2)
            result[cell] = middle >= level
    return result


def cell_agreement(reference: np.ndarray, query: np.ndarray, valid: np.ndarray) -> CellAgreement:
    """Compare the overlap cell by cell after one global tone fit (query -> reference).

    A cell with structure in the original must correlate and leave a small residual (a different word
    on a label fails here); a flat cell must keep its tone.  A cell where the query has much more
    contrast than the original and does not agree is *occluded*: something was laid over the work there
    (a caption, a watermark).  Occluded cells are set aside and reported as ``occlusion``; content that
    was replaced by content of the same kind (another word, another pictogram) is not occlusion.

    All cells at once: per-cell sums by ``np.bincount`` over a label map (the per-cell loop it replaced
    cost ~9 ms a comparison, a quarter of the decision).
    """
    values_q, values_r = query[valid].astype(np.float64), reference[valid].astype(np.float64)
    if values_q.std() > 0.5:  # a flatter query has no slope to fit: the straight line, least squares
        centred = values_q - values_q.mean()
        slope = float(centred @ (values_r - values_r.mean()) / (centred @ centred))
        intercept = float(values_r.mean() - slope * values_q.mean())
    else:
        slope, intercept = 0.0, float(values_r.mean()) if values_r.size else 0.0
    fitted = slope * values_q + intercept
    reference_values = values_r
    detail = np.abs(reference - cv2.GaussianBlur(reference, (0, 0), 2.0))[valid]
    labels = cell_labels(*reference.shape)
    cells = labels[valid]
    cell_count = GRID * GRID
    sizes = np.bincount(labels.ravel(), minlength=cell_count)
    counts = np.bincount(cells, minlength=cell_count)
    with np.errstate(invalid="ignore", divide="ignore"):
        considered = (sizes > 0) & (counts / np.maximum(sizes, 1) >= 0.6)

        def per_cell(weights: np.ndarray) -> np.ndarray:
            return np.bincount(cells, weights=weights, minlength=cell_count) / np.maximum(counts, 1)

        mean_r, mean_f = per_cell(reference_values), per_cell(fitted)
        var_r = np.maximum(per_cell(reference_values ** 2) - mean_r ** 2, 0.0)
        var_f = np.maximum(per_cell(fitted ** 2) - mean_f ** 2, 0.0)
        cov = per_cell(reference_values * fitted) - mean_r * mean_f
        ref_spread, fit_spread = np.sqrt(var_r), np.sqrt(var_f)
        denominator = np.sqrt(var_r * var_f) * counts  # as the pixel-wise correlation's sqrt(sum a^2 * sum b^2)
        correlation = np.where(denominator > 1e-6, cov * counts / np.where(denominator > 0, denominator, 1), 0.0)
        residual = np.sqrt(np.maximum(var_r + var_f - 2 * cov + (mean_f - mean_r) ** 2, 0.0))
    textured_cell = ref_spread >= TEXTURED_STD  # the original has structure here: the query must show it
    good = np.where(textured_cell,
                    (correlation >= CELL_CORRELATION)
                    & (residual <= CELL_RESIDUAL * np.maximum(ref_spread, fit_spread) + CELL_RESIDUAL_FLOOR),
                    (np.abs(mean_f - mean_r) <= FLAT_TONE_TOLERANCE) & (fit_spread < TEXTURED_STD))
    occluded = considered & ~good & (fit_spread >= OCCLUSION_CONTRAST * ref_spread + TEXTURED_STD)
    compared = considered & ~occluded
    detailed = int((considered & median_at_least(detail, cells, counts, DETAIL_LEVEL)).sum())
    textured = int((compared & textured_cell).sum())
    textured_agreeing = int((compared & textured_cell & good).sum())
    shown, occluded_count = int(compared.sum()), int(occluded.sum())
    visible = valid & ~occluded[labels]
    return CellAgreement(int((compared & good).sum()) / shown if shown else 0.0,
                         textured_agreeing / textured if textured else 1.0, textured, detailed,
                         occluded_count / int(considered.sum()) if considered.any() else 0.0, visible)


