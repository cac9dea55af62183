"""Training data: image folders (labels, captions, mixed modes, bad input) and the built-in sets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artforge.errors import BadInput, UsageError
from artforge.generation.data import load_dataset, shapes_dataset, to_float, to_uint8
from artforge.generation.procedural import draw_art


def _folder(root: Path, classes: dict[str, int], modes=("RGB",)) -> Path:
    index = 0
    for name, count in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            image = draw_art(index, (48 + index % 3 * 16, 40)).convert(modes[index % len(modes)])
            image.save(root / name / f"{index}.png")
            index += 1
    return root


def test_folder_with_subfolders_gives_labels_and_mixed_modes_become_rgb(tmp_path: Path) -> None:
    root = _folder(tmp_path / "art", {"cats": 5, "dogs": 5}, modes=("RGB", "L", "RGBA", "P"))
    data = load_dataset(str(root), image_size=16)
    assert data.images.shape == (10, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.class_names == ["cats", "dogs"]
    assert data.labels.tolist() == [0] * 5 + [1] * 5
    assert data.captions is None


def test_captions_csv(tmp_path: Path) -> None:
    root = _folder(tmp_path / "art", {"": 8})
    lines = ["file,caption"] + [f"{i}.png,a picture number {i}" for i in range(8)]
    (root / "captions.csv").write_text("\n".join(lines))
    data = load_dataset(str(root), image_size=16)
    assert data.captions[3] == "a picture number 3" and data.labels is None


def test_missing_caption_is_an_error(tmp_path: Path) -> None:
    root = _folder(tmp_path / "art", {"": 8})
    (root / "captions.csv").write_text("file,caption\n0.png,only one\n")
    with pytest.raises(BadInput, match="no caption for 7"):
        load_dataset(str(root), image_size=16)


@pytest.mark.parametrize("case", ["missing", "file", "empty", "few", "broken"])
def test_bad_folders(tmp_path: Path, case: str) -> None:
    root = tmp_path / "data"
    if case == "file":
        root.write_text("x")
    elif case == "empty":
        root.mkdir()
    elif case == "few":
        _folder(root, {"a": 3})
    elif case == "broken":
        _folder(root, {"a": 8})
        (root / "a" / "9.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    message = {"missing": "no such folder", "file": "not a folder", "empty": "no images found", "few": "at least 8",
               "broken": "9.png"}[case]
    with pytest.raises(BadInput, match=message):
        load_dataset(str(root), image_size=16)


def test_builtin_sets() -> None:
    digits = load_dataset("builtin:digits", image_size=28)
    assert digits.images.shape == (1797, 1, 28, 28) and digits.num_classes == 10
    shapes = load_dataset("builtin:shapes", image_size=16, limit=40)
    assert shapes.images.shape == (40, 3, 16, 16) and shapes.class_names == ["circle", "square", "triangle", "diamond"]
    assert all(c.startswith("a ") and " on " in c for c in shapes.captions)
    assert torch.equal(shapes_dataset(40, 16).images, shapes.images)  # deterministic
    with pytest.raises(UsageError):
        load_dataset("builtin:cifar", image_size=32)
    with pytest.raises(UsageError):
        load_dataset("builtin:digits", image_size=30)


def test_fingerprint_changes_with_content() -> None:
    a = load_dataset("builtin:shapes", image_size=16, limit=20)
    b = load_dataset("builtin:shapes", image_size=16, limit=21)
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == load_dataset("builtin:shapes", image_size=16, limit=20).fingerprint


def test_float_round_trip() -> None:
    images = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    assert torch.equal(to_uint8(to_float(images)), images)
