"""Shared fixtures: every test gets its own artforge home; real images are drawn on the spot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artforge.config import Settings
from artforge.generation.procedural import draw_art
from artforge.usecases.home import Home, init_home


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ARTFORGE_HOME at a fresh folder for each test (never the user's real home)."""
    home = tmp_path / "home"
    monkeypatch.setenv("ARTFORGE_HOME", str(home))
    return home


@pytest.fixture
def home(isolated_home: Path) -> Home:
    """An initialised home with a default, unencrypted key."""
    h = Home(settings=Settings(home=isolated_home))
    init_home(h)
    return h


@pytest.fixture
def art(tmp_path: Path):
    """Factory: ``art(seed, name=None, size=(320, 240))`` writes a distinct PNG and returns its path."""

    def make(seed: int, name: str | None = None, size: tuple[int, int] = (320, 240)) -> Path:
        folder = tmp_path / "images"
        folder.mkdir(exist_ok=True)
        path = folder / (name or f"art-{seed}.png")
        draw_art(seed, size).save(path)
        return path

    return make


def save_variant(image: Image.Image, path: Path, **save_options) -> Path:
    """Save an edited copy (helper for tests that build disputed images)."""
    image.save(path, **save_options)
    return path


def noise_image(seed: int, size: tuple[int, int] = (64, 64)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
