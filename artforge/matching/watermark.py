"""An invisible watermark that carries a 64-bit mark id in an image's luma: scheme ``artforge-dct-1``.

Why our own code and not ``invisible-watermark`` or ``blind-watermark`` (STYLE.md lists both): each requires
the desktop ``opencv-python`` wheel, which installs the same ``cv2`` module as the pinned
``opencv-python-headless`` and replaced it (4.14 -> 5.1) when tried on 2026-12-07; the matcher's thresholds are
measured on the pinned build.  Their DWT-DCT schemes also work on the image's own pixel grid, so a resize
loses the mark; this one works in a fixed frame.  ``benchmarks/watermark.py`` measures both where the
library can be imported.

The scheme, in the order of embedding:

* the luma is resized to a ``FRAME`` x ``FRAME`` canonical frame, so a resize of either axis lands on the same
  frame; its Haar LL band (2x2 sums / 2) is cut into 4x4 blocks and each block's 4x4 DCT taken;
* each block holds two slots, the coefficient pairs in ``PAIRS`` (low-middle frequencies: 16-32 cycles across
  the image, which JPEG and downscaling keep); a slot's bit is the sign of the difference within its pair,
  made at least ``MARGIN`` apart where the image does not already say it;
* the codeword is the 64-bit id and a 32-bit check (SHA-256 of the id), whitened by a fixed sequence and
  spread over the 2,048 slots by a fixed permutation (each bit ~21 times, all over the image);
* the change is brought back to the image's size and added equally to R, G and B (colours keep their hue), and
  scaled down where needed so the PSNR stays >= ``MIN_PSNR_DB``.

Reading takes soft votes per bit; a mark is *found* only when the check matches, which a random image passes
1 time in 2^32 for each orientation tried.  Sign differences ignore brightness and contrast changes.  What
removes the mark is measured in ``benchmarks/watermark.py`` and summarised in docs/watermark.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

SCHEME = "artforge-dct-1"
FRAME = 256  # canonical frame side, px
BLOCK = 4  # DCT block side in the LL band (8 px of the frame)
PAIRS = (((1, 2), (2, 1)), ((0, 2), (2, 0)))  # (vertical, horizontal) frequency indices of each slot's pair
MARGIN = 10.0  # the least difference within a pair after embedding (LL-band DCT units)
MIN_PSNR_DB = 40.0
EMBED_ROUNDS = 3
TARGET_VOTES = (0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35)  # mean vote per bit, strongest first
MIN_SIDE = 128  # px; below it the frame is mostly upsampling and a mark does not survive a re-encode
ID_BITS = 64
CHECK_BITS = 32
CODE_BITS = ID_BITS + CHECK_BITS
CHASE_BITS = 6  # weakest bits tried flipped when the check fails (see _decode_votes)
ALIGN_SEARCH = 2  # frame pixels each way (see read_mark_aligned)
_BLOCKS = FRAME // 2 // BLOCK  # 32 blocks a side in the LL band
_SLOTS = _BLOCKS * _BLOCKS * len(PAIRS)


def _dct_matrix(n: int) -> np.ndarray:
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(BLOCK)
_LAYOUT = np.random.default_rng(0x5EED_3A7F).permutation(_SLOTS) % CODE_BITS  # slot -> codeword bit
_CHECK_HASH = hashlib.sha256(SCHEME.encode() + b"\0")
_FLIPS = ((np.arange(1 << CHASE_BITS)[:, None] >> np.arange(CHASE_BITS)) & 1).astype(np.uint8)
_WHITEN = np.random.default_rng(0xC0DE_0BAD).integers(0, 2, CODE_BITS).astype(np.uint8)


@dataclass(frozen=True)
class MarkReading:
    """What reading an image for a mark gave."""

    found: bool
    mark_id: str | None  # 16 hex characters when found
    strength: float  # mean |vote| of the bits, 0..1 (about 0.1 on unmarked images)
    orientation: str  # the turn/flip of the image under which the mark was read ("identity" when none)

    def to_dict(self) -> dict:
        return {"found": self.found, "mark_id": self.mark_id, "strength": round(self.strength, 3),
                "orientation": self.orientation}


def _check_bytes(mark: bytes) -> bytes:
    digest = _CHECK_HASH.copy()
    digest.update(mark)
    return digest.digest()[: CHECK_BITS // 8]


def _check(mark: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(_check_bytes(mark), np.uint8))


def codeword(mark_id: str) -> np.ndarray:
    """The whitened 96 bits (0/1) that carry ``mark_id`` (16 hex characters)."""
    mark = bytes.fromhex(mark_id)
    if len(mark) != ID_BITS // 8:
        raise ValueError("a mark id is 16 hex characters")
    bits = np.concatenate([np.unpackbits(np.frombuffer(mark, np.uint8)), _check(mark)])
    return bits ^ _WHITEN


def _luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _to_frame(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    shrink = w >= FRAME and h >= FRAME
    return cv2.resize(plane, (FRAME, FRAME), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _coefficients(frame: np.ndarray) -> np.ndarray:
    """The 4x4 DCT of every block of the frame's Haar LL band: (blocks, blocks, 4, 4)."""
    ll = (frame[0::2, 0::2] + frame[0::2, 1::2] + frame[1::2, 0::2] + frame[1::2, 1::2]) / 2.0
    blocks = ll.reshape(_BLOCKS, BLOCK, _BLOCKS, BLOCK).transpose(0, 2, 1, 3)
    return _DCT @ blocks @ _DCT.T


def _slot_differences(coefficients: np.ndarray) -> np.ndarray:
    """Each slot's difference within its pair, in slot order (block-major, then pair)."""
    return np.stack([coefficients[:, :, a[0], a[1]] - coefficients[:, :, b[0], b[1]] for a, b in PAIRS],
                    axis=-1).reshape(-1)


def _frame_change(frame: np.ndarray, bits: np.ndarray, target: float) -> np.ndarray:
    """The least change to the frame, slot by slot, that brings every bit's mean vote up to ``target``.

    A slot's vote is its pair's difference over ``MARGIN``, clipped to [-1, 1].  Slots are pushed to a full
    vote cheapest first (change per vote gained): a slot that already leans the right way or sits near zero
    costs little, while one the picture pulls hard the other way (an edge) would cost much and is left as it
    is; its bit is carried by the others.
    """
    coefficients = _coefficients(frame)
    want = np.where(bits[_LAYOUT] == 1, 1.0, -1.0)
    leaning = want * _slot_differences(coefficients)
    vote = np.clip(leaning / MARGIN, -1.0, 1.0)
    shift = np.maximum(0.0, (MARGIN - leaning) / 2.0)  # per coefficient of the pair, towards a full vote
    gain = 1.0 - vote
    price = np.where(gain > 1e-6, shift ** 2 / np.maximum(gain, 1e-6), np.inf)
    chosen = np.zeros(_SLOTS, bool)
    for bit in range(CODE_BITS):
        slots = np.flatnonzero(_LAYOUT == bit)
        missing = target * len(slots) - vote[slots].sum()
        for slot in slots[np.argsort(price[slots], kind="stable")]:
            if missing <= 0 or not np.isfinite(price[slot]):
                break
            chosen[slot] = True
            missing -= gain[slot]
    push = (np.where(chosen, shift, 0.0) * want).reshape(_BLOCKS, _BLOCKS, len(PAIRS))
    delta = np.zeros_like(coefficients)
    for slot, (a, b) in enumerate(PAIRS):
        delta[:, :, a[0], a[1]] += push[:, :, slot]
        delta[:, :, b[0], b[1]] -= push[:, :, slot]
    ll_delta = (_DCT.T @ delta @ _DCT).transpose(0, 2, 1, 3).reshape(FRAME // 2, FRAME // 2)
    # A change of the LL band by x changes each pixel of its 2x2 square by x / 2.
    return np.repeat(np.repeat(ll_delta / 2.0, 2, axis=0), 2, axis=1)


def _psnr(original: np.ndarray, marked: np.ndarray) -> float:
    mse = float(np.mean((original.astype(np.float64) - marked.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def can_carry(width: int, height: int) -> bool:
    """Whether an image of this size is big enough to carry a mark that survives re-encoding."""
    return min(width, height) >= MIN_SIDE


def _to_image(change: np.ndarray, width: int, height: int) -> np.ndarray:
    shrink = width <= FRAME and height <= FRAME
    return cv2.resize(change.astype(np.float32), (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _embed_at(rgb: np.ndarray, bits: np.ndarray, target: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    original = rgb.astype(np.float32)
    change = np.zeros((height, width), np.float32)
    marked = rgb
    for _ in range(EMBED_ROUNDS):
        change += _to_image(_frame_change(_to_frame(_luma(marked)), bits, target), width, height)
        marked = np.clip(np.rint(original + change[..., None]), 0, 255).astype(np.uint8)
    return marked


def embed(rgb: np.ndarray, mark_id: str) -> tuple[np.ndarray, float]:
    """A marked copy of ``rgb`` (H x W x 3 uint8) carrying ``mark_id``, and its PSNR against the original (dB).

    The change is made in the frame, brought to the image's size, rounded and clipped; each of these loses
    some of it, so the marked image is read back and the slots still short are pushed again
    (``EMBED_ROUNDS`` times).  The strongest of ``TARGET_VOTES`` whose PSNR stays >= ``MIN_PSNR_DB`` is
    kept: busy pictures hide a strong mark, flat ones only a weaker one.  Raises ValueError for an image
    smaller than ``MIN_SIDE`` on a side.
    """
    height, width = rgb.shape[:2]
    if not can_carry(width, height):
        raise ValueError(f"{width}x{height} px is too small to carry a watermark (needs >= {MIN_SIDE} px a side)")
    bits = codeword(mark_id)
    for target in TARGET_VOTES:
        marked = _embed_at(rgb, bits, target)
        psnr = _psnr(rgb, marked)
        if psnr >= MIN_PSNR_DB:
            return marked, psnr
    # Even the weakest is too loud (rare: a tiny, busy image); scale it down to the limit.
    change = marked.astype(np.float32) - rgb.astype(np.float32)
    for _ in range(4):
        change *= 10 ** ((psnr - MIN_PSNR_DB - 0.2) / 20)
        marked = np.clip(np.rint(rgb.astype(np.float32) + change), 0, 255).astype(np.uint8)
        psnr = _psnr(rgb, marked)
        if psnr >= MIN_PSNR_DB:
            break
    return marked, psnr


def _votes(frame: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Soft votes in [-1, 1] for each codeword bit (before un-whitening)."""
    votes = np.clip(_slot_differences(_coefficients(frame)) / MARGIN, -1.0, 1.0)
    weight = np.ones(_SLOTS) if weights is None else weights
    sums = np.bincount(_LAYOUT, weights=votes * weight, minlength=CODE_BITS)
    totals = np.bincount(_LAYOUT, weights=weight, minlength=CODE_BITS)
    return np.divide(sums, totals, out=np.zeros(CODE_BITS), where=totals > 0)


def _decode_votes(votes: np.ndarray, orientation: str) -> MarkReading:
    """The mark the votes carry, if the check bits agree with the id bits.

    Where they do not, the ``CHASE_BITS`` least certain bits are flipped in every combination (Chase
    decoding): a JPEG or a downscale usually spoils a few weak bits, not strong ones.  Each combination
    is one more chance for a random image to pass, so a read costs a false find 2^CHASE_BITS / 2^32 per
    orientation (about 5e-7 an image over eight orientations).
    """
    hard = (votes > 0).astype(np.uint8) ^ _WHITEN
    strength = float(np.mean(np.abs(votes)))
    weakest = np.argsort(np.abs(votes), kind="stable")[:CHASE_BITS]
    candidates = np.repeat(hard[None, :], len(_FLIPS), axis=0)
    candidates[:, weakest] ^= _FLIPS
    marks = np.packbits(candidates[:, :ID_BITS], axis=1)
    checks = np.packbits(candidates[:, ID_BITS:], axis=1)
    for mark, check in zip(marks.tolist(), checks.tolist()):
        if _check_bytes(bytes(mark)) == bytes(check):
            return MarkReading(True, bytes(mark).hex(), strength, orientation)
    return MarkReading(False, None, strength, orientation)


_ORIENTATIONS = {
    "identity": lambda a: a, "rot90": lambda a: np.rot90(a, 1), "rot180": lambda a: np.rot90(a, 2),
    "rot270": lambda a: np.rot90(a, 3), "flip": lambda a: a[:, ::-1], "flip-rot90": lambda a: np.rot90(a[:, ::-1], 1),
    "flip-rot180": lambda a: np.rot90(a[:, ::-1], 2), "flip-rot270": lambda a: np.rot90(a[:, ::-1], 3),
}


def read_mark(rgb: np.ndarray) -> MarkReading:
    """Look for a mark in an image as it is, then under each quarter turn and flip (the first found wins).

    ``rgb`` is H x W x 3 (any numeric type).  An image whose own frame no longer matches the marked one (a
    crop, a pad, a small rotation) needs :func:`read_mark_aligned`.
    """
    # Turning or flipping the frame is the same as doing it to the image first: one resize serves all.  A big
    # image is first shrunk in its own type (a 50-megapixel photo need not become floats to make a 256 px frame).
    height, width = rgb.shape[:2]
    if max(height, width) > 4 * FRAME:
        scale = 4 * FRAME / max(height, width)
        rgb = cv2.resize(np.ascontiguousarray(rgb), (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    frame = _to_frame(_luma(rgb))
    best = None
    for name, orient in _ORIENTATIONS.items():
        reading = _decode_votes(_votes(np.ascontiguousarray(orient(frame)), None), name)
        if reading.found:
            return reading
        best = reading if best is None or reading.strength > best.strength else best
    assert best is not None
    return MarkReading(False, None, best.strength, "identity")


def read_mark_aligned(rgb: np.ndarray, matrix: np.ndarray, size: tuple[int, int],
                      expected: str | None = None, symmetric: bool = True) -> MarkReading:
    """Look for a mark after warping the image into the marked original's frame.

    ``matrix`` (2x3) maps the image's pixels to the original's, whose size is ``size`` (width, height); what
    the image does not show of the original is left out of the vote.  An alignment found on a small thumbnail
    is off by a pixel or two of the frame, which scrambles the finest slots, so shifts of up to
    ``ALIGN_SEARCH`` frame pixels are tried, whole pixels first, then half pixels around the best; the
    placement kept is the one whose votes agree most with ``expected`` (the mark the matched work's record
    signs), or agree most among themselves without it.  Symmetric art (a flag, a badge) can be aligned under
    one of its symmetries, so when the upright read finds nothing and the art is ``symmetric``, each turn and
    flip of the warped frame is tried too (at whole-pixel shifts of one).  Whatever guided the search, a mark is found only when its check
    bits hold, so the search cannot make an unmarked image read as marked.
    """
    # Warp straight into the frame, from a copy first shrunk to about the frame's scale (no aliasing).
    to_frame = np.diag([FRAME / size[0], FRAME / size[1], 1.0]) @ np.vstack([matrix.astype(np.float64), [0, 0, 1]])
    luma = _luma(rgb)
    scale = float(np.sqrt(abs(np.linalg.det(to_frame[:2, :2]))))
    if scale < 1.0:
        height, width = luma.shape
        small = cv2.resize(luma, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        to_frame = to_frame @ np.diag([width / small.shape[1], height / small.shape[0], 1.0])
        luma = small
    ones = np.ones_like(luma)
    target = None if expected is None else np.where(codeword(expected) == 1, 1.0, -1.0)

    def read(shift: tuple[float, float], orient) -> tuple[float, np.ndarray]:
        moved = to_frame[:2] + np.array([[0, 0, shift[0]], [0, 0, shift[1]]])
        frame, cover = _warped_frame(luma, ones, moved)
        votes = _votes(np.ascontiguousarray(orient(frame)), _cover_weights(np.ascontiguousarray(orient(cover))))
        return float(np.mean(votes * target) if target is not None else np.mean(np.abs(votes))), votes

    def search(orient, reach: int, refine: bool) -> np.ndarray:
        whole = np.arange(-reach, reach + 0.5)
        best = max(((float(x), float(y)) for y in whole for x in whole), key=lambda shift: read(shift, orient)[0])
        if not refine:
            return read(best, orient)[1]
        around = [(best[0] + dx, best[1] + dy) for dy in (-0.5, 0.0, 0.5) for dx in (-0.5, 0.0, 0.5)]
        return max((read(shift, orient) for shift in around), key=lambda result: result[0])[1]

    upright = _decode_votes(search(_ORIENTATIONS["identity"], ALIGN_SEARCH, True), "aligned")
    if upright.found or not symmetric:
        return upright
    for name, orient in _ORIENTATIONS.items():
        if name != "identity":
            turned = _decode_votes(search(orient, 1, False), "aligned")
            if turned.found:
                return turned
    return upright


def _warped_frame(luma: np.ndarray, ones: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image warped into the frame by ``matrix`` (flat where unseen: no votes either way), and where it lands."""
    warped = cv2.warpAffine(luma, matrix, (FRAME, FRAME), flags=cv2.INTER_LINEAR)
    shown = cv2.warpAffine(ones, matrix, (FRAME, FRAME), flags=cv2.INTER_NEAREST)
    fill = float(warped[shown > 0].mean()) if (shown > 0).any() else 0.0
    return np.where(shown > 0, warped, fill), shown


def _cover_weights(cover: np.ndarray) -> np.ndarray:
    """Per slot: the share of its block's 8x8 px of the frame that is shown (blocks under 90% do not vote)."""
    per_block = cover.reshape(_BLOCKS, FRAME // _BLOCKS, _BLOCKS, FRAME // _BLOCKS).mean(axis=(1, 3))
    weights = np.repeat(per_block.reshape(-1), len(PAIRS))
    return np.where(weights > 0.9, weights, 0.0)
