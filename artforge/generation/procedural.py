"""Procedural art: varied, structured RGB pictures drawn from a seed, with no data files.

Used by the demo, the tests and the benchmarks wherever a real image is needed and none may be
downloaded.  Deterministic: the same seed and size always give the same pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def draw_art(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """Procedural RGB art, different for every seed: a gradient, sine texture or noise field, then shapes.

    The three background styles give decoders and hashes different work: smooth gradients compress to
    almost nothing, blurred noise and interference patterns behave more like photographs.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) / max(size)
    style = int(rng.integers(0, 3))
    base = rng.uniform(0, 255, 3).astype(np.float32)
    if style == 0:  # linear gradient
        tilt = rng.uniform(-200, 200, (2, 3)).astype(np.float32)
        pixels = base + x[..., None] * tilt[0] + y[..., None] * tilt[1]
    elif style == 1:  # interference of a few plane waves, one per channel mix
        pixels = np.broadcast_to(base, (height, width, 3)).copy()
        for _ in range(3):
            fx, fy = rng.uniform(-40, 40, 2)
            wave = np.sin(2 * np.pi * (fx * x + fy * y) + rng.uniform(0, 6.3))
            pixels += wave[..., None] * rng.uniform(-70, 70, 3).astype(np.float32)
    else:  # low-frequency noise: small random field upscaled, plus fine grain
        cells = rng.uniform(0, 255, (int(rng.integers(3, 12)), int(rng.integers(3, 12)), 3)).astype(np.uint8)
        field = Image.fromarray(cells, "RGB").resize((width, height), Image.Resampling.BICUBIC)
        pixels = np.asarray(field, np.float32) + rng.normal(0, 12, (height, width, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 20))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1 = x0 + int(rng.integers(max(2, width // 20), max(3, width // 2)))
        y1 = y0 + int(rng.integers(max(2, height // 20), max(3, height // 2)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 4))
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif shape == 2:
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=max(1, int(rng.integers(1, max(2, width // 60)))))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 3.0))))
    return image
