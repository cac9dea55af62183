"""Draw a few pieces of procedural art for the demo, and a disputed copy of one of them.

Usage: python examples/make_demo_images.py OUT_DIR
Writes OUT_DIR/art-0.png ... art-3.png and OUT_DIR/disputed.jpg (art-1, slightly cropped, resized
to 80% and saved as JPEG quality 80), and prints their paths.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from artforge.generation.procedural import draw_art


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
