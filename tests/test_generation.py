"""Sampling and generation: determinism, conditions, grids, GIFs, and generated works born registered."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from artforge.errors import UsageError
from artforge.generation.sampling import (
    generate_images,
    interpolate,
    load_model,
    parse_seeds,
    sample,
)
from artforge.generation.training import TrainConfig, train
from artforge.usecases.generate import generate_and_register
from artforge.usecases.home import Home
from artforge.usecases.verify import verify_images


def _train(tmp_path: Path, model: str, data: str, name: str) -> str:
    options = {"width": 8} if model == "vae" else {"g_width": 8, "d_width": 8}
    config = TrainConfig(model=model, data=data, image_size=16, batch_size=16, steps=3, out=str(tmp_path / name),
                         data_limit=64, model_options=options, sample_every=100, checkpoint_every=100)
    return train(config).checkpoint


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("models")
    return {"dcgan": _train(root, "dcgan", "builtin:digits", "dcgan"),
            "label": _train(root, "cgan", "builtin:digits", "label"),
            "text": _train(root, "cgan", "builtin:shapes", "text"),
            "vae": _train(root, "vae", "builtin:digits", "vae")}


def test_same_seed_same_pixels_whatever_the_batch(checkpoints) -> None:
    model = load_model(checkpoints["dcgan"])
    alone = sample(model, [5])
    among = sample(model, [1, 2, 5, 9])
    assert torch.equal(alone[0], among[2])
    assert not torch.equal(among[0], among[1])
    again = sample(load_model(checkpoints["dcgan"]), [5])
    assert torch.equal(alone, again)


def test_truncation_and_conditions(checkpoints) -> None:
    label_model = load_model(checkpoints["label"])
    images = sample(label_model, [0, 1], label=7, truncation=0.5)
    assert images.shape == (2, 1, 16, 16)
    with pytest.raises(UsageError, match="out of range"):
        sample(label_model, [0], label=10)
    with pytest.raises(UsageError, match="give `label`"):
        sample(label_model, [0])
    text_model = load_model(checkpoints["text"])
    red, blue = sample(text_model, [0], prompt="a red circle on black"), sample(text_model, [0], prompt="a blue circle on black")
    assert not torch.equal(red, blue)
    with pytest.raises(UsageError, match="no word in the prompt is one the model knows.*pink"):
        sample(text_model, [0], prompt="a pink blob")  # one unknown word among known ones is only a warning
    with pytest.raises(UsageError, match="unconditional"):
        sample(load_model(checkpoints["vae"]), [0], label=1)
    with pytest.raises(UsageError):
        sample(load_model(checkpoints["dcgan"]), [0], truncation=1.5)


def test_parse_seeds() -> None:
    assert parse_seeds("0-3,10", 99) == [0, 1, 2, 3, 10]
    assert parse_seeds(None, 3) == [0, 1, 2]
    for bad in ("x", "5-2", "0-20000"):
        with pytest.raises(UsageError):
            parse_seeds(bad, 1)


def test_generate_files_and_grid(checkpoints, tmp_path: Path) -> None:
    result, _ = generate_images(checkpoints["vae"], tmp_path / "out", [3, 4], grid=tmp_path / "grid.png")
    assert [Path(i.path).name for i in result.images] == ["img-seed000003.png", "img-seed000004.png"]
    assert Image.open(result.images[0].path).size == (16, 16)
    assert Image.open(tmp_path / "grid.png").size == (2 * 18 + 2, 18 + 2)
    with pytest.raises(UsageError):
        generate_images(checkpoints["vae"], tmp_path / "out", [1], prefix="../evil")


def test_interpolation_gif_and_frames(checkpoints, tmp_path: Path) -> None:
    [gif] = interpolate(checkpoints["dcgan"], 0, 1, 5, tmp_path / "walk.gif")
    assert Image.open(gif).n_frames == 5
    frames = interpolate(checkpoints["label"], 0, 1, 3, tmp_path / "frames", label=2)
    assert len(frames) == 3


def test_generated_images_are_born_registered(checkpoints, home: Home, tmp_path: Path) -> None:
    result = generate_and_register(home, checkpoints["text"], tmp_path / "gen", [0, 1], licence_id="CC-BY-NC-4.0",
                                   prompt="a green square on gray", truncation=0.7)
    model = load_model(checkpoints["text"])
    for item in result.images:
        [report] = verify_images(home, [item.path], workers=1)
        assert report.verdict == "exact-copy" and report.match.work_id == item.work_id and report.signature_valid
        origin = report.details.work.origin
        generator = origin["generator"]
        assert origin["type"] == "generated" and generator["seed"] == item.seed
        # The record names the file the user receives, byte for byte (a chunk added afterwards changed it).
        assert report.details.work.file_sha256 == hashlib.sha256(Path(item.path).read_bytes()).hexdigest()
        assert generator["checkpoint_sha256"] == model.checkpoint.sha256
        assert generator["prompt"] == "a green square on gray" and generator["truncation_milli"] == 700
        assert generator["dataset"]["fingerprint"] == model.checkpoint.data["dataset"]["fingerprint"]
        assert generator["family"] == "cgan"


def test_registration_refusal_writes_no_images(checkpoints, home: Home, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="unknown licence"):
        generate_and_register(home, checkpoints["dcgan"], tmp_path / "none", [0], licence_id="Nope")
    assert not (tmp_path / "none").exists()
    with home.registry() as registry:
        assert registry.count_works() == 0
