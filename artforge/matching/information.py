"""How much information the matched part of an original carries: the input of the false-match estimate.

A pixel check that two images agree means little when there is little to agree on.  Two plain colour
bands agree with any other two bands of similar colours once the search finds the split; a symmetric
badge agrees with its own mirror.  So the estimate (:func:`.calibration.false_match_probability`) reads,
of the original's thumbnail inside the overlap the query was compared on:

* ``regions``: distinct areas of one colour (at least ``MIN_REGION_SHARE`` of the overlap each), after
  quantising the colours: a two-band flag has 2, a pictogram on a label 3-6, a photograph dozens;
* ``flat_share``: the share of the overlap where the colour does not change (no edge, no texture);
* ``symmetry``: how much the overlap looks like its own mirror or half turn (1: it is the same), so how
  little its orientation and layout tell apart;
* ``bits``: its description length: the compressed size (zlib), over that of a blank image, of the
  overlap scaled to ``DESCRIPTION_SIDE`` px square and quantised like the regions.  Two plain bands take ~300 bits, a word
  on a plain ground ~1,500, a photograph thousands.  The simpler a picture, the likelier that someone
  else made the same one independently.

``bits`` sets the false-pass rate in :mod:`.calibration` and, below ``MIN_MATCH_BITS``, makes a match
ambiguous; the others, with the comparison's counts (cells with fine detail, keypoints supporting the
alignment), say in the report why.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from artforge.matching.cells import plain_correlation

QUANT_STEP = 32  # colour levels per quantisation step: JPEG noise on flat art stays inside one step
MIN_REGION_SHARE = 0.01
MAX_REGIONS = 64  # counted up to here: beyond it an overlap is rich either way
FLAT_GRADIENT = 3.0  # grey levels per pixel below which the colour does not change
DESCRIPTION_SIDE = 48  # the overlap is described at this area (px squared), whatever its shape


@dataclass(frozen=True)
class Information:
    """What the overlap of an original holds (see the module's docstring)."""

    regions: int
    flat_share: float
    symmetry: float
    bits: int


def measure_information(thumb: np.ndarray, overlap: np.ndarray) -> Information:
    """The information of ``thumb`` (RGB, the stored thumbnail) inside ``overlap`` (a bool mask of its pixels)."""
    total = int(overlap.sum())
    if total == 0:
        return Information(0, 1.0, 1.0, 0)
    smooth = cv2.medianBlur(np.ascontiguousarray(thumb), 3)
    codes = (smooth // QUANT_STEP).astype(np.int32)
    code = codes[..., 0] * 64 + codes[..., 1] * 8 + codes[..., 2]  # a grey original's channels agree anyway
    # A pixel is inside a region when its right and lower neighbours share its code; regions are what an
    # edge map's complement splits into.
    same = np.ones(code.shape, bool)
    same[:, :-1] &= code[:, :-1] == code[:, 1:]
    same[:-1, :] &= code[:-1, :] == code[1:, :]
    inside = (same & overlap).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(inside, connectivity=4)
    regions = int((stats[1:, cv2.CC_STAT_AREA] >= MIN_REGION_SHARE * total).sum()) if count > 1 else 0
    grey = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    flat_share = float((gradient[overlap] < FLAT_GRADIENT * 8).mean())  # a 3x3 Sobel pair weighs a step by 8
    rows, cols = np.flatnonzero(overlap.any(axis=1)), np.flatnonzero(overlap.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return Information(min(regions, MAX_REGIONS), flat_share, _symmetry(grey[box]), _description_bits(thumb[box]))


def _description_bits(rgb: np.ndarray) -> int:
    """Compressed bits of ``rgb`` at DESCRIPTION_SIDE squared px, quantised, beyond those of a blank image."""
    height, width = rgb.shape[:2]
    scale = DESCRIPTION_SIDE / np.sqrt(height * width)
    size = (max(4, round(width * scale)), max(4, round(height * scale)))
    small = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)
    codes = (cv2.medianBlur(small, 3) // QUANT_STEP).astype(np.uint8).tobytes()
    # zlib, not PNG: the same measure at an eighth of the cost (OpenCV's PNG writer took 1 ms)
    return max(0, 8 * (len(zlib.compress(codes, 9)) - len(zlib.compress(bytes(len(codes)), 9))))


def _symmetry(box: np.ndarray) -> float:
    """The best correlation of ``box`` (grey: the overlap's bounding box) with its mirror, flip or half turn."""
    if float(box.std()) < 1.0:
        return 1.0  # one flat colour looks the same every way
    flat = box.ravel().astype(np.float64)
    return max(plain_correlation(flat, turned.ravel().astype(np.float64))
               for turned in (box[:, ::-1], box[::-1, :], box[::-1, ::-1]))


def describe_information(regions: int, flat_share: float, symmetry: float, detailed_cells: int, inliers: int,
                         bits: int) -> str:
    """Plain words for what the compared part of an original holds (for a low-information note)."""
    parts = [f"{regions} flat colour region{'s' if regions != 1 else ''}" if flat_share >= 0.8
             else f"{regions} colour regions", f"about {bits} bits of description"]
    parts.append("no fine detail" if detailed_cells == 0 else f"fine detail in {detailed_cells} of 64 cells")
    if symmetry >= 0.9:
        parts.append("symmetric")
    parts.append("no keypoints supporting the alignment" if inliers == 0 else f"{inliers} keypoints supporting it")
    return ", ".join(parts)
