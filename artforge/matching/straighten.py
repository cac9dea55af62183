"""Undo a small rotation that left fill in the corners: the usual "rotate by a few degrees" in an editor.

Turning an image by a few degrees, on the same canvas or on one grown to fit, fills the corners with one
colour (white, black, transparent flattened).  Everything the matcher hashes then moves: the fill corners
change the global and tone hashes beyond their radius, and flat art has too few keypoints for a rotation
fit.  The fill itself gives the rotation away: its edges against the content are straight lines at one
angle (modulo 90 degrees).  :func:`straighten` measures that angle from the corner regions and turns the
image back, so the layers see the original's orientation; what was fill is masked out of the comparison.

Only a clear case is straightened: all four corners of one colour, the fill region bounded by straight
edges that agree on the angle, the angle between ``MIN_ANGLE`` and ``MAX_ANGLE``.  Anything else (art on a
plain ground, rounded frames, photographs of a tilted print with clutter) is left as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from artforge.matching.layers import QueryLayers, query_layers, resize_long_side

DETECT_SIDE = 512  # long side of the copy the fill and its edges are found on
MIN_SIDE = 32  # px; smaller images are not straightened
OUTPUT_SIDE = 512  # long side at most of the upright image (the layers work at 320 px and less)
FILL_TOLERANCE = 20  # grey levels (per channel) a fill pixel may differ from the corner colour (JPEG rings)
MIN_ANGLE, MAX_ANGLE = 0.5, 20.0  # degrees: below, nothing to undo; above, not a "small rotation"
MAX_FILL_SHARE = 0.4  # fill covering more of the frame than this is a plain ground, not corners
# The fill's boundary must be a rectangle's edge: the angle is searched in COARSE_STEP then FINE_STEP
# degrees for the one that puts most boundary pixels on two pairs of perpendicular lines.
COARSE_STEP, FINE_STEP = 0.1, 0.01
MIN_BOUNDARY_POINTS = 60
MIN_ON_LINES = 0.6  # share of the boundary on those lines (dark art merges with a black fill in places)
MIN_LINES, MIN_LINE_SHARE = 2, 0.1  # at least this many lines with this share each (sides of the frame)


@dataclass(frozen=True)
class Straightened:
    """An image turned back upright, and which of its pixels were content (255) rather than fill (0)."""

    rgb: np.ndarray
    mask: np.ndarray
    angle: float  # degrees the content had been turned, counter-clockwise as seen


def _fill_colour(pixels: np.ndarray) -> np.ndarray | None:
    """The colour of all four corners (3x3 medians), or None when they differ."""
    corners = [pixels[:3, :3], pixels[:3, -3:], pixels[-3:, :3], pixels[-3:, -3:]]
    colours = np.array([np.median(c.reshape(-1, 3), axis=0) for c in corners])
    colour = np.median(colours, axis=0)
    if np.abs(colours - colour).max() > FILL_TOLERANCE:
        return None
    return colour


def _fill_boundary(fill: np.ndarray) -> np.ndarray:
    """``(n, 2)`` x, y of the fill pixels next to content."""
    content = (fill == 0).astype(np.uint8)
    boundary = fill & (cv2.dilate(content, np.ones((3, 3), np.uint8)) > 0)
    ys, xs = np.nonzero(boundary)
    return np.column_stack([xs, ys]).astype(np.float64)


def _offset_counts(points: np.ndarray, degrees: float) -> list[np.ndarray]:
    """For lines at ``degrees`` and at ``degrees + 90``: how many of ``points`` lie at each 1-px offset
    along the lines' normal."""
    theta = math.radians(degrees)
    counts = []
    for normal in ((-math.sin(theta), math.cos(theta)), (math.cos(theta), math.sin(theta))):
        offsets = np.round(points @ np.array(normal)).astype(np.int64)
        counts.append(np.bincount(offsets - offsets.min()).astype(np.float64))
    return counts


def _lines_at(points: np.ndarray, degrees: float) -> tuple[float, list[float]]:
    """How well ``points`` lie on a few lines at ``degrees`` and ``degrees + 90``: the share of points on
    each of the two strongest lines per direction (3 px wide), and their total."""
    shares = []
    for counts in _offset_counts(points, degrees):
        window = np.convolve(counts, np.ones(3), mode="same")
        for _ in range(2):
            peak = int(np.argmax(window))
            shares.append(float(window[peak]) / len(points))
            window[max(0, peak - 3): peak + 4] = 0
    return sum(shares), shares


def _sharpness(points: np.ndarray, degrees: float) -> float:
    """How tightly ``points`` pile up on lines at ``degrees`` and ``degrees + 90``: the sum of squared
    1-px bin counts of their offsets (largest when each edge falls in one bin)."""
    return float(sum(counts @ counts for counts in _offset_counts(points, degrees)))


def _rotation_angle(fill: np.ndarray) -> float | None:
    """The angle (degrees, image axes) of the rectangle the fill surrounds, or None when the fill's edge
    is not a rectangle's at a small angle."""
    points = _fill_boundary(fill)
    if len(points) < MIN_BOUNDARY_POINTS:
        return None
    coarse = np.arange(-MAX_ANGLE, MAX_ANGLE + 1e-9, COARSE_STEP)
    best = float(coarse[int(np.argmax([_sharpness(points, a) for a in coarse]))])
    fine = np.arange(best - COARSE_STEP, best + COARSE_STEP + 1e-9, FINE_STEP)
    angle = float(fine[int(np.argmax([_sharpness(points, a) for a in fine]))])
    total, shares = _lines_at(points, angle)
    if total < MIN_ON_LINES or sum(share >= MIN_LINE_SHARE for share in shares) < MIN_LINES:
        return None
    return angle


def straighten(rgb: np.ndarray) -> Straightened | None:
    """``rgb`` turned back upright when it is a copy rotated by a small angle with filled corners; else None."""
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        return None
    # Found at one size: a small image is enlarged, so that its thin corner triangles have edges to measure.
    pixels = resize_long_side(rgb, DETECT_SIDE).astype(np.int16)
    colour = _fill_colour(pixels)
    if colour is None:
        return None
    near = (np.abs(pixels - colour).max(axis=2) <= FILL_TOLERANCE).astype(np.uint8)
    _, labels = cv2.connectedComponents(near, connectivity=4)
    sh, sw = near.shape
    corner_labels = {labels[0, 0], labels[0, sw - 1], labels[sh - 1, 0], labels[sh - 1, sw - 1]} - {0}
    fill = np.isin(labels, list(corner_labels)) & (near > 0)
    if not 0.002 < fill.mean() <= MAX_FILL_SHARE:
        return None
    angle = _rotation_angle(fill)
    if angle is None or not MIN_ANGLE <= abs(angle) <= MAX_ANGLE:
        return None
    # The fill's edges run at ``angle`` degrees (image axes, y down); turning by it brings them level.  The
    # result need not be larger than the matcher's layers use.
    source = resize_long_side(rgb, OUTPUT_SIDE) if max(height, width) > OUTPUT_SIDE else rgb
    size = (source.shape[1], source.shape[0])
    matrix = cv2.getRotationMatrix2D(((size[0] - 1) / 2, (size[1] - 1) / 2), angle, 1.0)
    upright = cv2.warpAffine(source, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # What the rotation pushed off the canvas is lost: the corners of the upright frame whose turned position
    # lies outside it (by geometry, not colour: the art may have areas of the fill's colour).  Fill inside
    # the canvas comes back as a border around the content, which the content box peels off.
    mask = cv2.warpAffine(np.full(source.shape[:2], 255, np.uint8), matrix, size, flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # Those corners are painted in from the content next to them, so that hashes of the whole frame see the
    # original's layout rather than fill; the mask keeps them out of the comparison.
    holes = cv2.dilate((mask == 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    upright = cv2.inpaint(upright, holes, 3, cv2.INPAINT_TELEA)
    return Straightened(rgb=upright, mask=mask, angle=-angle)


def disputed_layers(rgb: np.ndarray) -> QueryLayers:
    """The query layers of a disputed image: of it turned back upright when it is a turned copy (with the
    image as given kept in ``as_given``, tried when the upright one matches nothing), else of it as it is."""
    upright = straighten(rgb)
    if upright is None:
        return query_layers(rgb)
    return replace(query_layers(upright.rgb, upright.mask, upright.angle), as_given=query_layers(rgb))
