"""Images of extreme aspect ratio (a 4000x2 strip, a 6x2500 column, 1x1, 3000x1) through the CLI.

Their working copies are a few pixels thin: ORB's pyramid and OpenCV's resize once rounded a side to 0 and
asserted.  They must fingerprint, register and verify like any image (matched exactly only, or perceptually
when their layers allow), with a side-by-side ``--diff`` of sane size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run
from PIL import Image

from artforge.generation.procedural import draw_art
from artforge.matching.layers import compute_layers, keypoints, query_layers

SHAPES = [(4000, 2), (6, 2500), (1, 1), (3000, 1), (2, 4000), (5000, 12)]


def _strip(folder: Path, size: tuple[int, int]) -> Path:
    path = folder / f"strip-{size[0]}x{size[1]}.png"
    draw_art(size[0] * 31 + size[1], size).save(path)
    return path


@pytest.fixture
def strips(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "strips"
    folder.mkdir()
    return [_strip(folder, size) for size in SHAPES]


def test_strips_fingerprint_register_and_verify(isolated_home: Path, strips: list[Path], tmp_path: Path) -> None:
    assert run("init", "--no-encrypt").exit_code == 0
    result = run("fingerprint", *strips, "--json")
    assert result.exit_code == 0, result.stderr
    sizes = [(row["width"], row["height"]) for row in json.loads(result.stdout)["data"]]
    assert sizes == SHAPES
    # Six images: the batch runs on the process pool, as a real register of many files does.
    result = run("register", *strips, "--license", "CC0-1.0", "--json")
    assert result.exit_code == 0, result.stderr
    work_ids = [row["work_id"] for row in json.loads(result.stdout)["data"]]
    assert len(set(work_ids)) == len(SHAPES)
    result = run("verify", *strips, "--json")
    assert result.exit_code == 0, result.stderr
    reports = [json.loads(line)["data"] for line in result.stdout.splitlines()]
    assert [r["verdict"] for r in reports] == ["exact-copy"] * len(SHAPES)


def test_edited_strips_are_verified_without_crashing(isolated_home: Path, strips: list[Path], tmp_path: Path) -> None:
    assert run("init", "--no-encrypt").exit_code == 0
    normal = tmp_path / "normal.png"
    draw_art(5, (320, 240)).save(normal)
    assert run("register", *strips, normal, "--license", "CC0-1.0").exit_code == 0
    edited = []
    for path in strips:
        image = Image.open(path)
        width, height = image.size
        jpeg = tmp_path / f"{path.stem}.jpg"
        image.convert("RGB").save(jpeg, quality=70)  # re-encoded: no exact match, the layers decide
        half = tmp_path / f"{path.stem}-half.png"
        image.resize((max(1, width // 2), max(1, height // 2))).save(half)
        edited += [jpeg, half]
    diffs = tmp_path / "diffs"
    diffs.mkdir()
    result = run("verify", *edited, "--diff", diffs, "--json")
    assert result.exit_code in (0, 3), result.stderr  # a match or no match, never an internal error
    assert "Error" not in result.stderr
    reports = [json.loads(line)["data"] for line in result.stdout.splitlines()]
    assert len(reports) == len(edited)
    assert {r["verdict"] for r in reports} <= {"exact-copy", "modified-copy", "derived-work", "no-match"}
    # A re-encoded 1x1 pixel is too small to match perceptually (its "half" is itself: an exact copy).
    [tiny] = [r for r in reports if r["path"].endswith("strip-1x1.jpg")]
    assert tiny["verdict"] == "no-match" and any("under 24 px" in note for note in tiny["notes"])
    # The jpeg of the wide strip is found, and its diff picture is not a 150,000-px-wide panel.
    wide = next(r for r in reports if r["path"].endswith("strip-4000x2.jpg"))
    assert wide["verdict"] == "modified-copy"
    for picture in diffs.iterdir():
        assert max(Image.open(picture).size) <= 2000


@pytest.mark.parametrize("shape", [(1, 320), (320, 1), (2, 320), (30, 320), (320, 30)])
def test_too_thin_for_orb_has_no_keypoints(shape: tuple[int, int]) -> None:
    grey = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    points, descriptors = keypoints(grey, 160)
    assert points.shape == (0, 2) and descriptors.shape == (0, 32)


@pytest.mark.parametrize("size", SHAPES)
def test_layers_of_strips(size: tuple[int, int]) -> None:
    rgb = np.asarray(draw_art(7, size).convert("RGB"))
    layers = compute_layers(rgb)
    assert len(layers.points) == len(layers.descriptors)
    query = query_layers(rgb)
    assert query.work.shape[0] >= 1 and query.work.shape[1] >= 1
