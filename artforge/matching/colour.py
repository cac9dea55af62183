"""The colour evidence of the decision step: what is left of a copy's colours after the edits a copy goes
through.

* :func:`colour_residual`: after the best global colour edit (saturation, contrast, brightness), large for
  recoloured derivatives and for template siblings in other colours;
* :func:`grey_residual`: for a grey query of colour art, the distance from the original's own greyscale
  under the common conversions, with no tone fit (a tone fit would map any two-colour icon onto any other
  of its shape).

Both are measured over the aligned overlap that :func:`.compare.compare` hands them.
"""

from __future__ import annotations

import cv2
import numpy as np

COLOUR_BLUR = 1.0  # px of the thumbnail, before the colour residual
CLIP_MARGIN = 2.0  # grey levels from 0 or 255 at which a query value counts as clipped
COLOUR_KEPT = 0.9  # share of pixels the colour residual keeps (the rest: captions, logos)


def _trimmed_rms(errors: np.ndarray, kept: float) -> float:
    """Root mean square of the smallest ``kept`` share of ``errors`` (at least one)."""
    smallest = np.sort(errors.reshape(-1))[: max(1, int(kept * errors.size))]
    return float(np.sqrt(np.mean(smallest ** 2)))


def _tone_pixels(reference: np.ndarray, query: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The overlap's pixels of both images for a tone comparison: slightly blurred and away from the
    overlap's edge (a sub-pixel misregistration of fine colour detail is not a colour edit)."""
    reference = cv2.GaussianBlur(reference.astype(np.float32), (0, 0), COLOUR_BLUR)
    query = cv2.GaussianBlur(query.astype(np.float32), (0, 0), COLOUR_BLUR)
    inner = cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    valid = inner if inner.sum() >= 0.5 * valid.sum() else valid
    return reference[valid], query[valid]


def colour_residual(reference: np.ndarray, query: np.ndarray, valid: np.ndarray) -> float:
    """:func:`colour_edit_residual` over the overlap (see :func:`_tone_pixels`)."""
    return colour_edit_residual(*_tone_pixels(reference, query, valid))


# Greyscale conversions in common use, as RGB weights on sRGB values: BT.601 luma (PIL, OpenCV, most
# editors), BT.709 luma (scikit-image), the plain average; :func:`grey_conversions` adds BT.709 luminance
# in linear light (GIMP).  HSL lightness (Photoshop's Desaturate) is left out: with it, the grey copies of
# unrelated gradients came within reach of each other on the benchmark.
GREY_WEIGHTS = ((0.299, 0.587, 0.114), (0.2126, 0.7152, 0.0722), (1 / 3, 1 / 3, 1 / 3))
GREY_KEPT = 0.95  # share of pixels the grey residual keeps (the rest: captions, edges)


def grey_conversions(rgb: np.ndarray) -> list[np.ndarray]:
    """``(n, 3)`` sRGB values -> the grey values each common greyscale conversion gives them."""
    rgb = rgb.reshape(-1, 3).astype(np.float64)
    greys = [rgb @ np.array(weights) for weights in GREY_WEIGHTS]
    unit = rgb / 255.0
    linear = np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array(GREY_WEIGHTS[1])
    greys.append(255.0 * np.where(luminance <= 0.0031308, 12.92 * luminance,
                                  1.055 * luminance ** (1 / 2.4) - 0.055))
    return greys


def grey_residual(reference: np.ndarray, query_grey: np.ndarray, valid: np.ndarray) -> float:
    """How far a grey query is from the original's own greyscale over the overlap, as a share of the
    0-255 range (over :func:`_tone_pixels`): the best of :func:`grey_conversions`, the worst 5% of pixels
    left out."""
    reference_pixels, query_pixels = _tone_pixels(reference, query_grey, valid)
    target = query_pixels.astype(np.float64)
    return min(_trimmed_rms(np.abs(grey - target), GREY_KEPT) for grey in grey_conversions(reference_pixels)) / 255.0


def colour_edit_residual(reference: np.ndarray, query: np.ndarray) -> float:
    """What remains of ``query`` pixels ``(n, 3)`` after the best global colour edit of ``reference``
    pixels, as a share of the 0-255 range.

    The edit model, per pixel and channel c: ``q_c = s * (r_c - luma(r)) + g * luma(r) + k`` (three
    numbers for the whole image): saturation ``s`` (0 for greyscale), contrast ``g`` and brightness ``k``,
    the edits a copy goes through.  Neither gain is negative: no editing of a copy inverts its colours or
    its tones, and an inverting fit would map some flags' colours onto other flags'; nor can the model turn
    one flag's colours into another's, as a free RGB-to-RGB affine map could.  Values the edit pushed out
    of range are clipped, as image editors do.  The worst 10% of pixels are left out (captions, logos).
    """
    r = reference.reshape(-1, 3).astype(np.float64)
    luma = r @ np.array(GREY_WEIGHTS[0])  # BT.601
    gains = np.column_stack([(r - luma[:, None]).reshape(-1), np.repeat(luma, 3)])  # saturation, contrast
    target = query.reshape(-1).astype(np.float64)
    # A brightened or saturated copy clips at 0 and 255: fit on the values the edit left inside the range,
    # then compare with the clipped prediction.  On flat art with saturated colours (black and yellow) the
    # values inside the range can be too few to pin the edit down, so the fit on every value is tried too;
    # the better edit stands.
    inside = (target > CLIP_MARGIN) & (target < 255 - CLIP_MARGIN)
    fits = [np.ones_like(inside)] + ([inside] if 0.3 <= inside.mean() < 1.0 else [])
    return min(_trimmed_rms(np.abs(np.clip(_non_negative_fit(gains, target, rows), 0, 255) - target)
                            .reshape(-1, 3).max(axis=1), COLOUR_KEPT) for rows in fits) / 255.0


def _non_negative_fit(gains: np.ndarray, target: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Least squares ``target ~ gains @ w + k`` over ``rows`` with ``w >= 0``; the prediction for every row.

    With two gains the constrained optimum is the best of the unconstrained fits over the subsets of
    gains held at zero that come out non-negative (all gains free first: when that fit is feasible it is
    the optimum)."""
    best: tuple[float, np.ndarray] | None = None
    for free in ((0, 1), (0,), (1,), ()):
        design = np.column_stack([gains[:, list(free)], np.ones(len(gains))])
        solution, *_ = np.linalg.lstsq(design[rows], target[rows], rcond=None)
        if (solution[:-1] < 0).any():
            continue
        prediction = design @ solution
        cost = float(np.sum((prediction[rows] - target[rows]) ** 2))
        if len(free) == 2:
            return prediction
        if best is None or cost < best[0]:
            best = (cost, prediction)
    assert best is not None  # the constant fit is always feasible
    return best[1]
