"""``verify --diff``: the registered original and the disputed image side by side, the matched region outlined.

Left: the original (its stored thumbnail), with the part the disputed image shows outlined.  Right: the
disputed image, turned or mirrored as the matcher found it, with the original's frame outlined.  People
would rather look than read a correlation score.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from artforge.fsutil import write_output
from artforge.matching.compare import oriented_query
from artforge.matching.layers import QueryLayers, content_box, decode_thumbnail, to_grey

PANEL_HEIGHT = 320
MAX_PANEL_WIDTH = 960
OUTLINE = (230, 40, 40)


def _polygon(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _box_corners(width: int, height: int, box: tuple[float, float, float, float] = (0, 0, 1, 1)) -> np.ndarray:
    x0, y0, x1, y1 = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def _panel_scale(width: int, height: int) -> float:
    # PANEL_HEIGHT tall, unless that makes a thin strip (a 320x1 query) a panel 100,000 px wide.
    return min(PANEL_HEIGHT / height, MAX_PANEL_WIDTH / width)


def _panel_size(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_diff(query: QueryLayers, thumbnail: bytes, matrix: np.ndarray | None, *, dihedral: str = "identity",
                mirrored: bool = False, caption: str = "") -> Image.Image:
    """The side-by-side picture; ``matrix`` maps the oriented query's pixels to the thumbnail's (None: identity fit)."""
    original = decode_thumbnail(thumbnail)
    image = oriented_query(query, dihedral, mirrored)
    oh, ow = original.shape[:2]
    qh, qw = image.shape[:2]
    if matrix is None:  # an exact copy: frame onto frame
        matrix = np.array([[ow / qw, 0, 0], [0, oh / qh, 0]], np.float64)
    left_scale, right_scale = _panel_scale(ow, oh), _panel_scale(qw, qh)
    left = cv2.resize(original, _panel_size(ow, oh, left_scale), interpolation=cv2.INTER_CUBIC)
    right = cv2.resize(image, _panel_size(qw, qh, right_scale), interpolation=cv2.INTER_AREA)
    shown = _polygon(_box_corners(qw, qh, content_box(image)), matrix) * left_scale
    frame = _polygon(_box_corners(ow, oh), np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]) * right_scale
    cv2.polylines(left, [np.round(shown).astype(np.int32)], True, OUTLINE, 2, cv2.LINE_AA)
    cv2.polylines(right, [np.round(frame).astype(np.int32)], True, OUTLINE, 2, cv2.LINE_AA)
    gap, header = 12, 24
    height = max(left.shape[0], right.shape[0])
    canvas = Image.new("RGB", (left.shape[1] + gap + right.shape[1], height + header), "white")
    canvas.paste(Image.fromarray(left), (0, header))
    canvas.paste(Image.fromarray(right), (left.shape[1] + gap, header))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 6), "registered original", fill=(0, 0, 0))
    turned = " ".join(filter(None, [dihedral if dihedral != "identity" else "", "mirrored" if mirrored else ""]))
    draw.text((left.shape[1] + gap + 4, 6), "disputed image" + (f" ({turned})" if turned else "") +
              (f": {caption}" if caption else ""), fill=(0, 0, 0))
    return canvas


def write_diff(picture: Image.Image, out: Path) -> Path:
    """Save as PNG, atomically."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return write_output(out, buffer.getvalue())


def difference_overlay(query: QueryLayers, thumbnail: bytes, matrix: np.ndarray | None, *, dihedral: str = "identity",
                       mirrored: bool = False) -> Image.Image:
    """The original in grey with where the disputed image differs from it in red (the image warped onto the
    original by the match's alignment; outside what the image shows: dimmed)."""
    original = decode_thumbnail(thumbnail)
    image = oriented_query(query, dihedral, mirrored)
    oh, ow = original.shape[:2]
    qh, qw = image.shape[:2]
    if matrix is None:
        matrix = np.array([[ow / qw, 0, 0], [0, oh / qh, 0]], np.float64)
    warped = cv2.warpAffine(image, matrix, (ow, oh), flags=cv2.INTER_LINEAR)
    shown = cv2.warpAffine(np.full((qh, qw), 255, np.uint8), matrix, (ow, oh), flags=cv2.INTER_NEAREST) > 0
    difference = np.abs(original.astype(np.float32) - warped.astype(np.float32)).max(axis=2)
    strength = np.clip((difference - 12.0) / 60.0, 0.0, 1.0)[..., None]  # small differences are re-encoding
    grey = np.repeat(to_grey(original)[..., None], 3, axis=2).astype(np.float32) * 0.75 + 48
    red = np.array([230, 40, 40], np.float32)
    picture = np.where(shown[..., None], grey * (1 - strength) + red * strength, grey * 0.45)
    scale = _panel_scale(ow, oh)
    return Image.fromarray(cv2.resize(np.clip(picture, 0, 255).astype(np.uint8), _panel_size(ow, oh, scale),
                                      interpolation=cv2.INTER_NEAREST))
