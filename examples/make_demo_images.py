"""Draw a few pieces of procedural art for the demo, and a disputed copy of one of them.

Usage: python examples/make_demo_images.py OUT_DIR
Writes OUT_DIR/art-0.png ... art-3.png and OUT_DIR/disputed.jpg (art-1, slightly cropped, resized
to 80% and saved as JPEG quality 80), and prints their paths.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def draw_art(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A gradient background with random discs, boxes and strokes; different for each seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width] / max(size)
    base = rng.integers(0, 256, 3)
    tilt = rng.uniform(-200, 200, (2, 3))
    pixels = np.clip(base + x[..., None] * tilt[0] + y[..., None] * tilt[1], 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 2)), y0 + int(rng.integers(20, height // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(3, 12)))
    return image


def disputed_copy(image: Image.Image) -> Image.Image:
    """What turns up on the web: 2% cropped off each side, shrunk to 80%."""
    width, height = image.size
    dx, dy = int(width * 0.02), int(height * 0.02)
    cropped = image.crop((dx, dy, width - dx, height - dy))
    return cropped.resize((int(cropped.width * 0.8), int(cropped.height * 0.8)), Image.Resampling.LANCZOS)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for seed in range(4):
        path = out_dir / f"art-{seed}.png"
        draw_art(seed).save(path)
        print(path)
    disputed = out_dir / "disputed.jpg"
    disputed_copy(draw_art(1)).save(disputed, quality=80)
    print(disputed)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/make_demo_images.py OUT_DIR")
    main(Path(sys.argv[1]))
