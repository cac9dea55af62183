"""The decision step: align a disputed image onto a candidate's thumbnail and compare the pixels.

Hash distances and keypoint counts only *propose*; they cannot tell a copy from a look-alike (two flags
with one stripe layout, icons of one set).  Here the query is warped into the candidate's frame, by the
turn/flip and content box the global layer found or by a RANSAC similarity fit on ORB matches, refined
with OpenCV's ECC affine alignment, and then compared over the overlap:

* ``correlation``: zero-mean normalised cross-correlation of the grey images (structure; immune to
  brightness and contrast changes);
* ``agreement``: the share of the grid cells of the overlap that agree on their own: textured cells by
  local correlation, flat cells by their tone after the global tone fit.  A copy agrees almost
  everywhere; a look-alike fails in many cells; a copy with a caption fails in a few;
* ``occlusion``: the share of cells covered by added content (a caption, a watermark), set aside
  from the other measures;
* ``coverage``: the share of the original the query shows, and ``query_coverage``: the share of the
  query's content that is the original (low for a collage that contains the work);
* ``colour_residual`` and ``grey_residual``: the colour evidence, measured by :mod:`.colour`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from artforge.matching.cells import cell_agreement, plain_correlation, tone_correlation
from artforge.matching.colour import colour_residual, grey_residual
from artforge.matching.layers import MatchLayers, QueryLayers, apply_dihedral, content_box, is_grey, to_grey

MIN_OVERLAP = 0.08  # share of the original below which nothing is compared
# ECC refinement (~8 ms, most of a comparison) is tried only from this unrefined correlation on, per source
# of the alignment.  On the robustness corpus (2026-12-07, 17,739 comparisons) the lowest unrefined correlation
# that refinement turned into a match was 0.71 for keypoint fits, 0.93 for searches, 0.67 for tiles, and
# 0.28 and 0.22 for frames and content boxes (a pad's box can start far off); below these floors lay half of
# the comparisons with unrelated works, and a third of the decision's time.
REFINE_FROM = {"keypoints": 0.5, "search": 0.6, "tile": 0.45, "global": 0.1, "content-box": 0.1}
SKIP_REFINEMENT_ABOVE = 0.997  # correlation at which ECC refinement cannot help (flat art at 0.985-0.99 is a px off)
ECC_ITERATIONS = 40
ECC_PROBE_ITERATIONS = 8
# A tile or a search peak starts within a few px; a frame or content box can start far off for a crop and
# travel further before it settles (a line-art crop's content box did, 1 query of 13,460), and a keypoint fit
# rarely wanders (the probe cost more than it saved).
PROBED_SOURCES = frozenset({"tile", "search"})
MAX_REFINE_CHANGE = 0.15  # a refinement that moves further is not of a copy
RATIO_TEST = 0.85
MAX_DESCRIPTOR_DISTANCE = 64
MIN_INLIERS = 3


@dataclass(frozen=True)
class Alignment:
    """A hypothesis: the query image (after ``dihedral`` and ``mirrored``) maps to the thumbnail by ``matrix``."""

    matrix: np.ndarray  # 2x3, query working pixels -> thumbnail pixels
    source: str  # "global", "content-box" or "keypoints"
    dihedral: str = "identity"
    mirrored: bool = False
    inliers: int = 0


@dataclass(frozen=True)
class Comparison:
    """Pixel evidence for one candidate."""

    alignment: Alignment
    correlation: float
    agreement: float
    textured_agreement: float  # the same, over the cells with structure only
    textured_cells: int
    detailed_cells: int  # cells of the original with fine detail: how much evidence the pixels hold
    original_grey: bool  # the registered original has no colour (so colour cannot tell works apart)
    occlusion: float  # share of the overlap hidden under added content; the other measures leave it out
    coverage: float
    query_coverage: float
    colour_residual: float | None  # None when the query has no colour, or when not measured (see compare)
    grey_residual: float | None  # only for a grey query of colour art
    refined: bool
    matrix: np.ndarray  # the final query -> thumbnail map, after refinement
    overlap: np.ndarray | None = None  # the thumbnail's pixels compared (bool): what the evidence rests on

    @property
    def score(self) -> float:
        """One number for ranking and calibration: mean of correlation (clipped at 0) and agreement."""
        return 0.5 * max(self.correlation, 0.0) + 0.5 * self.agreement


def oriented_query(query: QueryLayers, dihedral: str, mirrored: bool) -> np.ndarray:
    """The query's working image, mirrored and then turned or flipped as a hypothesis says (made once)."""
    key = ("image", dihedral, mirrored)
    if key not in query.views:
        work = query.work[:, ::-1] if mirrored else query.work
        query.views[key] = apply_dihedral(np.ascontiguousarray(work), dihedral)
    return query.views[key]


def oriented_mask(query: QueryLayers, dihedral: str, mirrored: bool) -> np.ndarray | None:
    """Which pixels of :func:`oriented_query` are content (None: all of them)."""
    if query.mask is None:
        return None
    mask = query.mask[:, ::-1] if mirrored else query.mask
    return apply_dihedral(np.ascontiguousarray(mask), dihedral)


def oriented_box(query: QueryLayers, dihedral: str, mirrored: bool) -> tuple[float, float, float, float]:
    """The content box of :func:`oriented_query` (found once per orientation, not once per candidate)."""
    key = ("box", dihedral, mirrored)
    if key not in query.views:
        query.views[key] = content_box(oriented_query(query, dihedral, mirrored))
    return query.views[key]


def box_alignment(query_image: np.ndarray, thumb_shape: tuple[int, int], stored_box: tuple[float, ...] | None,
                  use_query_box: bool, dihedral: str, source: str | None = None,
                  query_box: tuple[float, ...] | None = None) -> Alignment:
    """Map the (oriented) query's frame or content box (``query_box`` when already known) onto the stored
    frame or content box."""
    height, width = query_image.shape[:2]
    if not use_query_box:
        qbox = (0.0, 0.0, 1.0, 1.0)
    else:
        qbox = query_box if query_box is not None else content_box(query_image)
    th, tw = thumb_shape
    sbox = stored_box or (0.0, 0.0, 1.0, 1.0)
    qx0, qy0, qx1, qy1 = qbox[0] * width, qbox[1] * height, qbox[2] * width, qbox[3] * height
    tx0, ty0, tx1, ty1 = sbox[0] * tw, sbox[1] * th, sbox[2] * tw, sbox[3] * th
    sx, sy = (tx1 - tx0) / max(qx1 - qx0, 1e-6), (ty1 - ty0) / max(qy1 - qy0, 1e-6)
    matrix = np.array([[sx, 0, tx0 - qx0 * sx], [0, sy, ty0 - qy0 * sy]], np.float64)
    return Alignment(matrix, source or ("content-box" if (use_query_box or stored_box) else "global"),
                     dihedral=dihedral)


SEARCH_SCALES = tuple(1.0 - 0.05 * i for i in range(9))  # the query shows 100% down to 60% of a side
SEARCH_MIN_SIDE = 12  # px of the scaled query below which a scale is not tried
# For a textured query (keypoints already cover its crops) a search is compared only from this peak on:
# searches that found a copy peaked at 0.83-1.0, unrelated candidates at a median 0.41 (2026-11-26).
SEARCH_MIN_PEAK_TEXTURED = 0.8


def search_alignment(query_image: np.ndarray, thumb_grey: np.ndarray, dihedral: str,
                     min_peak: float = 0.0, query_box: tuple[float, ...] | None = None) -> Alignment | None:
    """Find where the (oriented) query's content sits inside the thumbnail: a scale and offset search.

    For a crop of flat or smooth art, which has too few keypoints for :func:`keypoint_alignment` and
    whose content box is not the original's: the query's content box is scaled to show 100% down to
    60% of the thumbnail's width or height, and each scale is slid over the thumbnail by normalised
    cross-correlation (``cv2.matchTemplate``); the best peak seeds the ECC refinement in :func:`compare`.
    None when no placement correlates at least ``min_peak``.  ``query_box``: the query's content box, when known.
    """
    height, width = query_image.shape[:2]
    qbox = query_box if query_box is not None else content_box(query_image)
    qx0, qy0 = qbox[0] * width, qbox[1] * height
    box_w, box_h = (qbox[2] - qbox[0]) * width, (qbox[3] - qbox[1]) * height
    content = to_grey(query_image[int(round(qy0)):int(round(qy0 + box_h)), int(round(qx0)):int(round(qx0 + box_w))])
    if content.size == 0 or float(content.std()) < 1.0:
        return None
    th, tw = thumb_grey.shape
    fit = min(tw / box_w, th / box_h)  # the query box filling the thumbnail in one dimension
    best: tuple[float, float, int, int] | None = None
    for share in SEARCH_SCALES:
        scale = fit * share
        w, h = min(tw, int(round(box_w * scale))), min(th, int(round(box_h * scale)))
        if min(w, h) < SEARCH_MIN_SIDE:
            break
        template = cv2.resize(content.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        if float(template.std()) < 1.0:
            continue
        scores = cv2.matchTemplate(thumb_grey, template, cv2.TM_CCOEFF_NORMED)
        _, peak, _, (x, y) = cv2.minMaxLoc(scores)
        if np.isfinite(peak) and (best is None or peak > best[0]):
            best = (float(peak), scale, x, y)
    if best is None or best[0] < min_peak:
        return None
    _, scale, x, y = best
    matrix = np.array([[scale, 0, x - qx0 * scale], [0, scale, y - qy0 * scale]], np.float64)
    return Alignment(matrix, "search", dihedral=dihedral)


def keypoint_alignment(query: QueryLayers, stored: MatchLayers, thumb_shape: tuple[int, int],
                       mirrored: bool) -> Alignment | None:
    """A similarity fit (RANSAC) from ORB matches between the query (or its mirror) and the stored points."""
    points = query.mirror_points if mirrored else query.points
    descriptors = query.mirror_descriptors if mirrored else query.descriptors
    if len(descriptors) < MIN_INLIERS or len(stored.descriptors) < MIN_INLIERS:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(descriptors, np.ascontiguousarray(stored.descriptors), k=2)
    good = [p[0] for p in pairs if p and p[0].distance <= MAX_DESCRIPTOR_DISTANCE
            and (len(p) < 2 or p[0].distance < RATIO_TEST * p[1].distance)]
    if len(good) < MIN_INLIERS:
        return None
    th, tw = thumb_shape
    source = np.float32([points[m.queryIdx] for m in good])
    target = np.float32([stored.points[m.trainIdx] * (tw, th) for m in good])
    matrix, inlier_mask = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC,
                                                      ransacReprojThreshold=max(2.0, 0.02 * max(tw, th)),
                                                      maxIters=2000, confidence=0.995)
    if matrix is None or inlier_mask is None or int(inlier_mask.sum()) < MIN_INLIERS:
        return None
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if not 0.02 <= scale <= 8.0:
        return None
    return Alignment(matrix.astype(np.float64), "keypoints", mirrored=mirrored, inliers=int(inlier_mask.sum()))


def _warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int],
          content: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``image`` by ``matrix`` into ``size`` (w, h), pre-shrinking to avoid aliasing; and its valid mask
    (where the image, or its ``content`` mask when given, lands)."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if content is None:
        content = np.full(image.shape[:2], 255, np.uint8)
    if scale < 0.8:
        # The size is given, not fx/fy: OpenCV would round a thin query's short side (a 320x1 strip) to 0 px.
        height, width = image.shape[:2]
        size_small = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(image, size_small, interpolation=cv2.INTER_AREA)
        factor_x, factor_y = small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]
        matrix = matrix @ np.diag([1 / factor_x, 1 / factor_y, 1.0])
        content = cv2.resize(content, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
        image = small
    warped = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpAffine(content, matrix, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    return warped, mask


def _refine(reference: np.ndarray, warped: np.ndarray, mask: np.ndarray, probe: bool = False) -> np.ndarray | None:
    """ECC affine refinement of an already close alignment; None when it fails or wanders off.

    Most refinements (86% of 400 on the whole-verify benchmark) start from alignments that do not hold and
    wander off.  With ``probe``, a run of ``ECC_PROBE_ITERATIONS`` first drops those already twice as far off
    as allowed; the survivors are refined from the start, so a kept result is the same as without it.  Only
    for starts that are close by construction (see ``PROBED_SOURCES``).
    """
    reference, warped = reference.astype(np.float32, copy=False), warped.astype(np.float32, copy=False)
    if probe:
        early = _ecc(reference, warped, mask, ECC_PROBE_ITERATIONS)
        if early is None or not _close(early, reference.shape, 2 * MAX_REFINE_CHANGE):
            return None
    warp = _ecc(reference, warped, mask, ECC_ITERATIONS)
    return warp if warp is not None and _close(warp, reference.shape, MAX_REFINE_CHANGE) else None


def _ecc(reference: np.ndarray, warped: np.ndarray, mask: np.ndarray, iterations: int) -> np.ndarray | None:
    try:
        _, warp = cv2.findTransformECC(reference, warped, np.eye(2, 3, dtype=np.float32), cv2.MOTION_AFFINE,
                                       (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, 1e-4), mask, 3)
    except cv2.error:
        return None
    return warp


def _close(warp: np.ndarray, shape: tuple[int, ...], change: float) -> bool:
    """Whether ``warp`` stays within ``change`` of no change (linear part; shift as a share of the long side)."""
    return bool(np.abs(warp[:, :2] - np.eye(2)).max() <= change and np.abs(warp[:, 2]).max() <= change * max(shape))


def compare(query: QueryLayers, thumb: np.ndarray, alignment: Alignment,
            colour_when: Callable[[Comparison], bool] | None = None) -> Comparison | None:
    """Warp the query onto a work's decoded thumbnail (RGB) and measure how well they agree; None without overlap.

    The colour evidence is the dearest measure (a third of a comparison) and only ever decides between
    candidates whose structure matches: with ``colour_when``, it is measured only when that predicate
    holds for the comparison without it, and is None otherwise.
    """
    th, tw = thumb.shape[:2]
    image = oriented_query(query, alignment.dihedral, alignment.mirrored)
    content = oriented_mask(query, alignment.dihedral, alignment.mirrored)
    warped, mask = _warp(image, alignment.matrix, (tw, th), content)
    reference_grey = cv2.GaussianBlur(to_grey(thumb).astype(np.float32), (0, 0), 1.0)
    warped_grey = cv2.GaussianBlur(to_grey(warped).astype(np.float32), (0, 0), 1.0)
    matrix = alignment.matrix
    refined = False
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8))
    initial = plain_correlation(reference_grey[inner > 0], warped_grey[inner > 0]) if inner.any() else 0.0
    if inner.mean() / 255 >= MIN_OVERLAP and REFINE_FROM.get(alignment.source, 0.0) <= initial < SKIP_REFINEMENT_ABOVE:
        warp = _refine(reference_grey, warped_grey, inner, probe=alignment.source in PROBED_SOURCES)
        if warp is not None:
            full = np.vstack([warp, [0, 0, 1]]).astype(np.float64)
            candidate_matrix = (np.linalg.inv(full) @ np.vstack([alignment.matrix, [0, 0, 1]]))[:2]
            candidate, candidate_mask = _warp(image, candidate_matrix, (tw, th), content)
            candidate_grey = cv2.GaussianBlur(to_grey(candidate).astype(np.float32), (0, 0), 1.0)
            candidate_inner = cv2.erode(candidate_mask, np.ones((5, 5), np.uint8)) > 0
            if candidate_inner.mean() >= MIN_OVERLAP and \
                    plain_correlation(reference_grey[candidate_inner], candidate_grey[candidate_inner]) >= initial:
                warped, mask, warped_grey, matrix, refined = candidate, candidate_mask, candidate_grey, \
                    candidate_matrix, True
                inner = cv2.erode(mask, np.ones((5, 5), np.uint8))
    valid = inner > 0
    coverage = float(valid.mean())
    if coverage < MIN_OVERLAP:
        return None
    cells = cell_agreement(reference_grey, warped_grey, valid)
    shown = cells.visible if cells.visible.mean() >= MIN_OVERLAP else valid
    correlation = tone_correlation(reference_grey[shown], warped_grey[shown])
    original_grey = is_grey(thumb)
    # How much of the query's own content lands on the original (a collage shows more than the work).
    qh, qw = image.shape[:2]
    qbox = oriented_box(query, alignment.dihedral, alignment.mirrored)
    corners = np.array([[qbox[0] * qw, qbox[1] * qh], [qbox[2] * qw, qbox[3] * qh]])
    grid = np.stack(np.meshgrid(np.linspace(corners[0, 0], corners[1, 0], 24),
                                np.linspace(corners[0, 1], corners[1, 1], 24)), -1).reshape(-1, 2)
    mapped = grid @ matrix[:, :2].T + matrix[:, 2]
    inside = (mapped[:, 0] >= 0) & (mapped[:, 0] < tw) & (mapped[:, 1] >= 0) & (mapped[:, 1] < th)
    structure = Comparison(alignment=alignment, correlation=correlation, agreement=cells.agreement,
                           textured_agreement=cells.textured_agreement, textured_cells=cells.textured,
                           occlusion=cells.occlusion, detailed_cells=cells.detailed, original_grey=original_grey,
                           coverage=coverage, query_coverage=float(inside.mean()), colour_residual=None,
                           grey_residual=None, refined=refined, matrix=matrix, overlap=shown)
    if colour_when is not None and not colour_when(structure):
        return structure
    colour = None if query.grey_source else colour_residual(thumb, warped, shown)
    grey = grey_residual(thumb, to_grey(warped), shown) if query.grey_source and not original_grey else None
    return replace(structure, colour_residual=colour, grey_residual=grey)
