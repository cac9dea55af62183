"""Low-information images for the false-match calibration: art where a global match is cheap.

``_robust_data`` keeps its template families apart on purpose (no edit bridges two members), which
measures recall without collisions.  Here nothing is kept apart: every image is an independent draw,
so two of them can be as alike as two real plain flags or two real line icons are.  That is the
point: the false-match estimate must learn how often unrelated plain works pass the pixel check.

Kinds (``PLAIN_KINDS``), all flat colour, long side 160-480 px:

* ``bands``: 2-4 horizontal or vertical bands of random colours at random split points;
* ``badge``: a centred shape (disc, square, diamond, ring, cross, star), sometimes inside a second one,
  on a plain ground: symmetric under a mirror, a flip and usually a half turn;
* ``lines``: a few dark strokes (segments, arcs, polygon outlines) on a light ground: line art;
* ``text``: one or two short words on a plain ground.

``build_plain_pool(folder, originals, distractors, seed)`` writes them round-robin by kind; originals
and distractors come from separate random streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PLAIN_KINDS = ("bands", "badge", "lines", "text")
_WORDS = ("SALE", "OPEN", "STOP", "EXIT", "MENU", "HELLO", "LOVE", "CAFE", "NEW", "FREE", "HOME", "SHOP",
          "ART", "JAZZ", "BOOK", "TEA", "SUN", "MOON", "WIND", "RAIN", "GOLD", "ROCK", "BLUE", "WAVE")


@dataclass
class PlainPool:
    """What :func:`build_plain_pool` wrote: paths and the kind of each."""

    originals: list[Path]
    distractors: list[Path]
    kinds: dict[Path, str]


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))  # type: ignore[return-value]


def _apart(rng: np.random.Generator, other: tuple[int, int, int]) -> tuple[int, int, int]:
    """A random colour that an eye tells from ``other`` (neighbouring areas of flat art differ)."""
    while True:
        colour = _colour(rng)
        if sum(abs(a - b) for a, b in zip(colour, other)) >= 120:
            return colour


def _size(rng: np.random.Generator) -> tuple[int, int]:
    long_side = int(rng.integers(160, 481))
    aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    if aspect >= 1:
        return long_side, max(16, round(long_side / aspect))
    return max(16, round(long_side * aspect)), long_side


def _bands(rng: np.random.Generator) -> Image.Image:
    width, height = _size(rng)
    count = int(rng.integers(2, 5))
    vertical = bool(rng.random() < 0.5)
    cuts = np.sort(rng.uniform(0.15, 0.85, count - 1))
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    colour = _colour(rng)
    edges = [0.0, *cuts.tolist(), 1.0]
    for start, stop in zip(edges, edges[1:]):
        if vertical:
            draw.rectangle([round(start * width), 0, round(stop * width), height], fill=colour)
        else:
            draw.rectangle([0, round(start * height), width, round(stop * height)], fill=colour)
        colour = _apart(rng, colour)
    return image


def _shape(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float, fill: tuple) -> None:
    if kind == "disc":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif kind == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif kind == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=fill)
    elif kind == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=fill, width=max(2, round(r / 4)))
    elif kind == "cross":
        arm = r / 3
        draw.rectangle([cx - r, cy - arm, cx + r, cy + arm], fill=fill)
        draw.rectangle([cx - arm, cy - r, cx + arm, cy + r], fill=fill)
    else:  # a five-pointed star: mirror-symmetric, not under a half turn
        points = []
        for i in range(10):
            angle = -np.pi / 2 + i * np.pi / 5
            radius = r if i % 2 == 0 else r * 0.45
            points.append((cx + radius * np.cos(angle), cy + radius * np.sin(angle)))
        draw.polygon(points, fill=fill)


def _badge(rng: np.random.Generator) -> Image.Image:
    width, height = _size(rng)
    ground = _colour(rng)
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    shapes = ("disc", "square", "diamond", "ring", "cross", "star")
    r = min(width, height) * float(rng.uniform(0.25, 0.45))
    outer = _apart(rng, ground)
    _shape(draw, shapes[int(rng.integers(len(shapes)))], width / 2, height / 2, r, outer)
    if rng.random() < 0.5:
        _shape(draw, shapes[int(rng.integers(len(shapes)))], width / 2, height / 2, r * float(rng.uniform(0.3, 0.6)),
               _apart(rng, outer))
    return image


def _lines(rng: np.random.Generator) -> Image.Image:
    width, height = _size(rng)
    light = tuple(int(v) for v in rng.integers(200, 256, 3))
    ink = tuple(int(v) for v in rng.integers(0, 70, 3))
    image = Image.new("RGB", (width, height), light)
    draw = ImageDraw.Draw(image)
    stroke = max(2, round(min(width, height) * float(rng.uniform(0.01, 0.03))))
    for _ in range(int(rng.integers(2, 6))):
        x0, x1 = sorted(rng.uniform(0.05, 0.95, 2) * width)
        y0, y1 = sorted(rng.uniform(0.05, 0.95, 2) * height)
        shape = int(rng.integers(3))
        if shape == 0:
            draw.line([(x0, y0), (x1, y1)] if rng.random() < 0.5 else [(x0, y1), (x1, y0)], fill=ink, width=stroke)
        elif shape == 1:
            draw.arc([x0, y0, x1 + 2, y1 + 2], float(rng.uniform(0, 360)), float(rng.uniform(0, 360)), fill=ink,
                     width=stroke)
        else:
            draw.rectangle([x0, y0, x1 + 2, y1 + 2], outline=ink, width=stroke)
    return image


def _text(rng: np.random.Generator) -> Image.Image:
    width, height = _size(rng)
    ground = _colour(rng)
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    words = " ".join(_WORDS[int(i)] for i in rng.integers(len(_WORDS), size=int(rng.integers(1, 3))))
    size = max(10, round(min(height * 0.4, width / max(1, len(words)) * 1.6)))
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):
        font = ImageFont.load_default()
    box = draw.textbbox((0, 0), words, font=font)
    x = (width - (box[2] - box[0])) / 2 - box[0]
    y = (height - (box[3] - box[1])) / 2 - box[1]
    draw.text((x, y), words, fill=_apart(rng, ground), font=font)
    return image


_DRAW = {"bands": _bands, "badge": _badge, "lines": _lines, "text": _text}


def build_plain_pool(folder: Path, originals: int, distractors: int, seed: int = 0) -> PlainPool:
    """Write ``originals`` + ``distractors`` low-information PNGs into ``folder``, round-robin by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = PlainPool([], [], {})
    for side, (count, prefix, paths) in enumerate(((originals, "plain-orig", pool.originals),
                                                   (distractors, "plain-dist", pool.distractors))):
        for i in range(count):
            kind = PLAIN_KINDS[i % len(PLAIN_KINDS)]
            rng = np.random.default_rng([seed, 7919, side, i])
            path = folder / f"{prefix}-{i:05d}-{kind}.png"
            _DRAW[kind](rng).save(path, format="PNG", compress_level=1)
            paths.append(path)
            pool.kinds[path] = kind
    return pool
