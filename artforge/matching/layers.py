"""The matching layers of one image: what survives crops, pads, flips, turns and small rotations.

Global perceptual hashes (see :mod:`artforge.provenance.fingerprints`) describe the whole frame, so a crop or a pad
moves every bit.  These layers add:

* **content box**: the image with uniform borders peeled off (padding, letterboxing, screenshot frames),
  as fractions of the frame, and the PDQ hash of that box.  A padded copy's box is the original's frame.
* **tone map**: a 256-bit average hash (16x16 grey, each cell above or below the mean) of the content
  box.  PDQ says little about smooth art (gradients, soft shapes) and ORB finds no corners on it; the
  coarse tone layout survives re-encoding, resizing and colour edits, and proposes candidates there.
* **tone tiles** (smooth works only): the same average hash of 18 windows of the frame, at 75% and 60% of
  each side on a 3x3 grid of positions, computed from the thumbnail.  A crop of smooth art keeps no
  keypoints and moves the whole-image hash far away; it lands near one of these windows instead.  A 19th
  tile is the whole frame, not peeled: on stripe art (flags) the "border" peeled off is a stripe, and
  noise, a crop or a pad changes how much of it peels, so the frame is the stable hash there.
* **keypoints**: ORB corners with their 256-bit descriptors on a working copy whose long side is
  ``WORK_SIDE``.  A crop keeps the keypoints inside it; a similarity fit (RANSAC) recovers scale, shift and
  rotation from as few as three of them.  Coordinates are stored as fractions of the frame.
* **reference thumbnail**: the image at ``THUMB_SIDE`` px (JPEG q90).  The decision step warps a disputed
  image onto it and compares pixels, which is what separates a copy from a look-alike.

Queries get the same layers plus the PDQ hashes of all eight dihedral variants (flips and 90-degree
turns), and the keypoints of their mirror image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

cv2.setNumThreads(1)  # batches run one process per core; OpenCV's own threads would only contend

LAYERS_VERSION = 1
WORK_SIDE = 320  # long side of the copy keypoints are found on
THUMB_SIDE = 160  # long side of the stored reference thumbnail
MAX_KEYPOINTS = 160  # stored per registered work
INDEXED_KEYPOINTS = 64  # the strongest of them go into the descriptor index
QUERY_KEYPOINTS = 400
BORDER_TOLERANCE = 14  # grey levels a border line may differ from its colour and still be border
BORDER_MIN_UNIFORM = 0.985  # share of a line's pixels that must be within the tolerance
MAX_BORDER_SHARE = 0.45  # never peel more than this much of a side
# Tone tiles: windows at these shares of each side, anchored on a 3x3 grid (left/centre/right x top/...).
# Two scales bracket crops from 20% to 40% per side; lighter crops stay near the whole-box hash.
TILE_SCALES = (0.75, 0.6)
TILE_ANCHORS = (0.0, 0.5, 1.0)
# Works with fewer keypoints or a weaker PDQ than this get tiles: crops of them may have too few keypoints
# for the local layer (looser than the query side's test, so a crop of a middling work is still covered).
TILE_BELOW = (128, 70)  # stored keypoints, PDQ quality of the content box
BOX_MIN_CHANGE = 0.02  # a box smaller than the frame by less than this is the frame
FRAME = (0.0, 0.0, 1.0, 1.0)  # a box that is the whole frame
CONTENT_MARGIN = 2  # px of the working image dropped along the edge of a query's content mask

# pdqhash.compute_dihedral's order; each entry maps an image to the variant whose hash is at that index.
DIHEDRAL_OPS = ("identity", "rot90", "rot180", "rot270", "flipud", "fliplr", "transpose", "antitranspose")


def apply_dihedral(array: np.ndarray, op: str) -> np.ndarray:
    """The image turned or flipped as ``op`` names (numpy's rot90 turns counter-clockwise)."""
    if op == "identity":
        return array
    if op.startswith("rot"):
        return np.ascontiguousarray(np.rot90(array, int(op[3:]) // 90))
    if op == "flipud":
        return np.ascontiguousarray(array[::-1])
    if op == "fliplr":
        return np.ascontiguousarray(array[:, ::-1])
    if op == "transpose":
        return np.ascontiguousarray(np.swapaxes(array, 0, 1))
    if op == "antitranspose":
        return np.ascontiguousarray(np.swapaxes(np.rot90(array, 2), 0, 1))
    raise ValueError(f"unknown dihedral op {op!r}")


def resize_long_side(array: np.ndarray, side: int) -> np.ndarray:
    """Resize so the long side is ``side`` px (area filter down, linear up)."""
    height, width = array.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return array
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def content_box(rgb: np.ndarray) -> tuple[float, float, float, float]:
    """The frame minus uniform borders, as fractions ``(left, top, right, bottom)`` of width and height.

    Each side is peeled while its outermost line is (almost) one colour, the colour of that side's
    first line; so a white pad, a black letterbox and a coloured frame all go, and content that merely
    touches the edge stays.  Works on a copy of at most 256 px.
    """
    small = resize_long_side(rgb, 256) if max(rgb.shape[:2]) > 256 else rgb
    pixels = small.astype(np.int16)
    height, width = pixels.shape[:2]
    top, bottom, left, right = 0, height, 0, width

    def peeled(lines: np.ndarray, colour: np.ndarray, along: int) -> int:
        """How many of ``lines`` (outermost first; a line runs along axis ``along``) are border in a row:
        (almost) all their pixels within the tolerance of ``colour``.  Tested in growing chunks (1, 4,
        16... lines), not one line at a time: most images have no border, a padded one a thick one."""
        total = lines.shape[1 - along] if lines.size else 0
        count, step = 0, 1
        while count < total:
            chunk = lines[count:count + step] if along == 1 else lines[:, count:count + step]
            near = (np.abs(chunk - colour) <= BORDER_TOLERANCE).all(axis=-1).mean(axis=along) >= BORDER_MIN_UNIFORM
            if not near.all():
                return count + int(near.argmin())
            count, step = count + len(near), step * 4
        return count

    reach_y, reach_x = int(np.ceil(height * MAX_BORDER_SHARE)), int(np.ceil(width * MAX_BORDER_SHARE))
    top = peeled(pixels[:reach_y], np.median(pixels[0], axis=0), 1)
    bottom = height - peeled(pixels[::-1][:reach_y], np.median(pixels[-1], axis=0), 1)
    if bottom > top:
        left = peeled(pixels[top:bottom, :reach_x], np.median(pixels[:, 0], axis=0), 0)
        right = width - peeled(pixels[top:bottom, ::-1][:, :reach_x], np.median(pixels[:, -1], axis=0), 0)
    # Channels first, so each channel's spread reduces along contiguous memory (np.ptp over axes (0, 1)
    # took 2 ms of a content box's 4).
    inside = np.ascontiguousarray(pixels[top:bottom, left:right].transpose(2, 0, 1)).reshape(3, -1)
    if bottom - top < 4 or right - left < 4 or float((inside.max(axis=1) - inside.min(axis=1)).max()) <= BORDER_TOLERANCE:
        return FRAME  # a plain image is all "border": its box is the frame
    box = (left / width, top / height, right / width, bottom / height)
    if box[0] < BOX_MIN_CHANGE and box[1] < BOX_MIN_CHANGE and box[2] > 1 - BOX_MIN_CHANGE \
            and box[3] > 1 - BOX_MIN_CHANGE:
        return FRAME
    return box


def crop_box(array: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The part of ``array`` inside a fractional box."""
    height, width = array.shape[:2]
    x0, y0 = int(round(box[0] * width)), int(round(box[1] * height))
    x1, y1 = max(x0 + 1, int(round(box[2] * width))), max(y0 + 1, int(round(box[3] * height)))
    return array[y0:y1, x0:x1]


def parse_box(text: str) -> tuple[float, float, float, float]:
    """A content box as stored in the registry (``MatchLayers.to_row``)."""
    left, top, right, bottom = (float(v) for v in text.split(","))
    return (left, top, right, bottom)


def is_full_frame(box: tuple[float, float, float, float]) -> bool:
    return box == FRAME


AHASH_SIDE = 16


def ahash_bits(rgb: np.ndarray) -> np.ndarray:
    """Average hash (256 bits, packed to 32 bytes) of an RGB array: 16x16 grey cells above their mean."""
    small = cv2.resize(to_grey(rgb), (AHASH_SIDE, AHASH_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    return np.packbits(small > small.mean())


def tile_boxes() -> list[tuple[float, float, float, float]]:
    """The tone tiles' windows as fractional boxes, in the order their hashes are stored; the frame last."""
    return [(ax * (1 - scale), ay * (1 - scale), ax * (1 - scale) + scale, ay * (1 - scale) + scale)
            for scale in TILE_SCALES for ay in TILE_ANCHORS for ax in TILE_ANCHORS] + [FRAME]


FRAME_TILE = len(tile_boxes()) - 1


def tile_hashes(thumbnail: np.ndarray) -> bytes:
    """Average hashes of each window's content box (``len(tile_boxes())`` x 32 bytes), from the thumbnail;
    the frame's own hash, not its content box's, for the last (its content box is ``box_ahash``)."""
    codes = []
    for box in tile_boxes():
        window = crop_box(thumbnail, box)
        inner = FRAME if box == FRAME else content_box(window)
        codes.append(ahash_bits(window if is_full_frame(inner) else crop_box(window, inner)))
    return np.concatenate(codes).tobytes()


def work_tiles(thumbnail: bytes, keypoint_count: int, box_quality: int) -> bytes:
    """The tone tiles a work stores: :func:`tile_hashes` of its thumbnail when it is smooth, else b""."""
    if keypoint_count < TILE_BELOW[0] or box_quality < TILE_BELOW[1]:
        return tile_hashes(decode_thumbnail(thumbnail))
    return b""


def ahash_dihedral_bits(rgb: np.ndarray) -> np.ndarray:
    """Average hashes of the 8 dihedral variants, (8, 32), in :data:`DIHEDRAL_OPS` order."""
    small = cv2.resize(to_grey(rgb), (AHASH_SIDE, AHASH_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    bits = small > small.mean()
    return np.stack([np.packbits(apply_dihedral(bits, op)) for op in DIHEDRAL_OPS])


def pdq_bits(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """PDQ hash (256 packed bits as 32 bytes) and quality of an RGB array (reduced to <= 512 px first)."""
    import pdqhash

    if max(rgb.shape[:2]) > 512:
        rgb = resize_long_side(rgb, 512)
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(bits.astype(bool)), int(quality)


def pdq_dihedral_bits(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """PDQ hashes of the 8 dihedral variants, shape (8, 32) packed, in :data:`DIHEDRAL_OPS` order."""
    import pdqhash

    if max(rgb.shape[:2]) > 512:
        rgb = resize_long_side(rgb, 512)
    hashes, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return np.stack([np.packbits(np.asarray(h).astype(bool)) for h in hashes]), int(quality)


_ORB_CACHE: dict[int, cv2.ORB] = {}
ORB_EDGE = 15  # ORB's edgeThreshold: no corner is looked for within this many px of the border
# ORB finds nothing in an image whose short side is under this (every pixel is within ORB_EDGE of a border),
# and on a 1-px-thin one its pyramid rounds a level to 0 px and OpenCV's resize asserts.
ORB_MIN_SIDE = 2 * ORB_EDGE + 1


def _orb(n_features: int) -> cv2.ORB:
    # A low FAST threshold finds corners on smooth art too; edgeThreshold 15 keeps corners near the edge.
    if n_features not in _ORB_CACHE:
        _ORB_CACHE[n_features] = cv2.ORB_create(nfeatures=n_features, scaleFactor=1.25, nlevels=6,
                                                edgeThreshold=ORB_EDGE, patchSize=15, fastThreshold=8)
    return _ORB_CACHE[n_features]


def _no_keypoints() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)


def keypoints(grey: np.ndarray, n_features: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ORB keypoints ``(n, 2)`` in pixels of ``grey`` (where ``mask`` is non-zero), strongest first, and
    descriptors ``(n, 32)``; none for an image too thin to hold one (a 4000x2 strip's working copy)."""
    if min(grey.shape[:2]) < ORB_MIN_SIDE:
        return _no_keypoints()
    found, descriptors = _orb(n_features).detectAndCompute(grey, mask)
    if descriptors is None or not found:
        return _no_keypoints()
    order = np.argsort([-k.response for k in found], kind="stable")
    points = np.array([found[i].pt for i in order], dtype=np.float32)
    return points, descriptors[order]


GREY_SPREAD = 6  # grey levels the channels of a grey pixel may differ by (JPEG chroma noise)
GREY_PERCENTILE = 99.0  # share of pixels (%) that must be grey: a few coloured specks do not make colour


def is_grey(rgb: np.ndarray) -> bool:
    """True when an RGB array carries no colour (its channels agree to within a few levels).

    Element-wise maxima and a 256-bin histogram: a reduction over the last axis and ``np.percentile``
    took 15 ms on a 1024 px query; this is the same test (``np.percentile``'s linear interpolation) in ~2.
    """
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    return histogram_percentile(np.bincount(spread.ravel(), minlength=256), GREY_PERCENTILE) <= GREY_SPREAD


def histogram_percentile(counts: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) of integer values given as a histogram."""
    total = int(counts.sum())
    position = q / 100.0 * (total - 1)
    below = int(np.floor(position))
    cumulative = np.cumsum(counts)
    low = int(np.searchsorted(cumulative, below, side="right"))
    high = int(np.searchsorted(cumulative, min(below + 1, total - 1), side="right"))
    return low + (high - low) * (position - below)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def encode_thumbnail(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90, subsampling=0)
    return buffer.getvalue()


def thumbnail_shape(data: bytes) -> tuple[int, int]:
    """``(height, width)`` of a stored thumbnail, from its JPEG header (no pixels decoded)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.height, image.width


def decode_thumbnail(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


@dataclass(frozen=True)
class MatchLayers:
    """What is stored for a registered work beyond its global fingerprint."""

    box: tuple[float, float, float, float]  # content box, fractions of width and height
    box_pdq: bytes  # 32 bytes; the PDQ of the content box (the frame's PDQ when there is no border)
    box_quality: int
    box_ahash: bytes  # 32 bytes; the average hash of the content box
    points: np.ndarray  # (n, 2) float32, fractions of width and height, strongest first
    descriptors: np.ndarray  # (n, 32) uint8 ORB descriptors
    thumbnail: bytes  # JPEG, long side THUMB_SIDE
    tile_ahash: bytes | None = b""  # tone tiles (see tile_hashes); b"" for a textured work, None: not computed
    version: int = LAYERS_VERSION

    def to_row(self) -> dict:
        return {
            "version": self.version, "box": ",".join(f"{v:.5f}" for v in self.box), "box_pdq": self.box_pdq,
            "box_quality": self.box_quality, "box_ahash": self.box_ahash, "points": self.points.astype(np.float32).tobytes(),
            "descriptors": self.descriptors.astype(np.uint8).tobytes(), "thumbnail": self.thumbnail,
            "tile_ahash": self.tile_ahash,
        }

    @classmethod
    def from_row(cls, row: dict) -> "MatchLayers":
        return cls(
            box=parse_box(row["box"]),
            box_pdq=bytes(row["box_pdq"]), box_quality=int(row["box_quality"]), box_ahash=bytes(row["box_ahash"]),
            points=np.frombuffer(row["points"], dtype=np.float32).reshape(-1, 2),
            descriptors=np.frombuffer(row["descriptors"], dtype=np.uint8).reshape(-1, 32),
            thumbnail=bytes(row["thumbnail"]), version=int(row["version"]),
            tile_ahash=None if row.get("tile_ahash") is None else bytes(row["tile_ahash"]),
        )


def compute_layers(rgb: np.ndarray) -> MatchLayers:
    """The matching layers of a registered image (an ``(h, w, 3)`` uint8 RGB array)."""
    box = content_box(rgb)
    boxed = rgb if is_full_frame(box) else crop_box(rgb, box)
    box_pdq, box_quality = pdq_bits(boxed)
    work = resize_long_side(rgb, WORK_SIDE)
    points, descriptors = keypoints(to_grey(work), MAX_KEYPOINTS)
    height, width = work.shape[:2]
    fractions = points / np.array([width, height], dtype=np.float32)
    thumbnail = encode_thumbnail(resize_long_side(rgb, THUMB_SIDE))
    tiles = work_tiles(thumbnail, len(points), box_quality)
    return MatchLayers(box=box, box_pdq=box_pdq.tobytes(), box_quality=box_quality,
                       box_ahash=ahash_bits(boxed).tobytes(), points=fractions,
                       descriptors=descriptors, thumbnail=thumbnail, tile_ahash=tiles)


@dataclass
class QueryLayers:
    """A disputed image prepared for matching."""

    work: np.ndarray  # RGB, long side WORK_SIDE
    grey_source: bool  # the query carries no colour (so compare in grey)
    box: tuple[float, float, float, float]
    dihedral: np.ndarray  # (8, 32) PDQ of the frame's dihedral variants
    box_dihedral: np.ndarray | None  # (8, 32) PDQ of the content box's variants, None without a border
    ahash_dihedral: np.ndarray  # (8, 32) average hashes of the content box's variants
    frame_ahash_dihedral: np.ndarray | None  # (8, 32) the same of the frame, None without a border
    quality: int
    points: np.ndarray  # (n, 2) pixels of ``work``
    descriptors: np.ndarray
    mirror_points: np.ndarray  # keypoints of the left-right mirror of ``work``, in its own pixels
    mirror_descriptors: np.ndarray
    # A query that had been turned by a small angle with filled corners is matched upright (see
    # :func:`.straighten.disputed_layers`): the angle it had been turned by, which pixels of ``work`` are
    # content...
    straightened: float = 0.0
    mask: np.ndarray | None = None
    # ...and the query as it came, matched when the upright one finds nothing (a texture of tilted bricks
    # can look like a turned copy).
    as_given: QueryLayers | None = None
    # What the decision derives from the query once per orientation rather than once per candidate (the
    # turned or flipped image, its content box): see :func:`.compare.oriented_query`.  Not copied by replace().
    views: dict = field(default_factory=dict, init=False, repr=False, compare=False)


def query_layers(rgb: np.ndarray, content: np.ndarray | None = None, straightened: float = 0.0) -> QueryLayers:
    """Prepare a disputed image (an ``(h, w, 3)`` uint8 RGB array) for matching.  ``content`` (same size,
    uint8) marks the pixels that are the image's own, for an image already straightened (see
    :func:`.straighten.disputed_layers`, which also sets ``straightened`` and ``as_given``)."""
    grey_source = is_grey(rgb)
    box = content_box(rgb)
    dihedral, quality = pdq_dihedral_bits(rgb)
    boxed = rgb if is_full_frame(box) else crop_box(rgb, box)
    box_dihedral = None if is_full_frame(box) else pdq_dihedral_bits(boxed)[0]
    work = resize_long_side(rgb, WORK_SIDE)
    mask = None
    if content is not None:  # less a margin: the edge pixels were blended with fill when the image was turned
        mask = cv2.resize(content, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_NEAREST)
        mask = cv2.erode(mask, np.ones((2 * CONTENT_MARGIN + 1,) * 2, np.uint8))
    grey = to_grey(work)
    points, descriptors = keypoints(grey, QUERY_KEYPOINTS, mask)
    mirror_points, mirror_descriptors = keypoints(np.ascontiguousarray(grey[:, ::-1]), QUERY_KEYPOINTS,
                                                  None if mask is None else np.ascontiguousarray(mask[:, ::-1]))
    return QueryLayers(work=work, grey_source=grey_source, box=box, dihedral=dihedral, box_dihedral=box_dihedral,
                       ahash_dihedral=ahash_dihedral_bits(boxed),
                       frame_ahash_dihedral=None if is_full_frame(box) else ahash_dihedral_bits(rgb),
                       quality=quality, points=points,
                       descriptors=descriptors, mirror_points=mirror_points, mirror_descriptors=mirror_descriptors,
                       straightened=straightened, mask=mask)
