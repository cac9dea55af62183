"""Shared fixtures: every test gets its own artforge home; real images are drawn on the spot.

With ``ARTFORGE_WITHOUT_CHAIN=1`` the optional extra ``artforge[chain]`` (web3, eth-tester) cannot be
imported, as on a machine where only ``pip install artforge`` ran: ``make test`` runs the core tests that way
as well (see the Makefile), so a module-level ``import web3`` anywhere outside minting fails them.
"""

from __future__ import annotations

import os
import sys
from importlib.abc import MetaPathFinder
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHAIN_EXTRA = frozenset({"web3", "eth_tester", "eth_account", "eth_abi", "eth_utils", "eth_typing", "eth_keys",
                         "eth_hash", "eth", "hexbytes"})


class _ChainExtraAbsent(MetaPathFinder):
    """Import finder that makes the chain extra's packages absent (ModuleNotFoundError, as if uninstalled)."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102 - the MetaPathFinder protocol
        if fullname.partition(".")[0] in CHAIN_EXTRA:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if os.environ.get("ARTFORGE_WITHOUT_CHAIN") == "1":
    sys.meta_path.insert(0, _ChainExtraAbsent())

from artforge.config import Settings  # noqa: E402
from artforge.generation.procedural import draw_art  # noqa: E402
from artforge.usecases.home import Home, init_home  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ARTFORGE_HOME at a fresh folder for each test (never the user's real home)."""
    home = tmp_path / "home"
    monkeypatch.setenv("ARTFORGE_HOME", str(home))
    monkeypatch.delenv("ARTFORGE_DATABASE_URL", raising=False)  # a developer's shared registry is never touched
    return home


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster for the session (tests/pg_server.py).  Missing binaries skip the
    PostgreSQL tests with the reason; under CI (``$CI`` set) they fail instead, as CI must run them."""
    from pg_server import start_server

    try:
        server = start_server()
    except (FileNotFoundError, RuntimeError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests cannot run in CI: {exc}")
        pytest.skip(str(exc))
    yield server
    server.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets ``REGISTRY_BACKENDS`` runs each of its tests that has a home (or asks for
    ``registry_backend``) once per backend; ``@pytest.mark.sqlite_only`` keeps one test on SQLite."""
    backends = getattr(metafunc.module, "REGISTRY_BACKENDS", None)
    if backends and "registry_backend" in metafunc.fixturenames:
        if metafunc.definition.get_closest_marker("sqlite_only"):
            backends = ("sqlite",)
        metafunc.parametrize("registry_backend", backends, indirect=True)


@pytest.fixture
def registry_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sqlite`` (the default), or ``postgresql``: then ARTFORGE_DATABASE_URL names a fresh database."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        monkeypatch.setenv("ARTFORGE_DATABASE_URL", server.new_database())
    return backend


@pytest.fixture
def home(isolated_home: Path, registry_backend: str) -> Home:
    """An initialised home with a default, unencrypted key (on the module's registry backends)."""
    h = Home(settings=Settings(home=isolated_home))
    init_home(h)
    return h


@pytest.fixture
def server(home: Home):
    """``artforge serve`` on a free port over the test's home (and registry backend); yields its base URL."""
    from service_helpers import run_server

    yield from run_server(home.settings.home)


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
