"""Fine-tuning (``train --init``): a new run from a trained model, with its lineage signed into what it makes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import run, run_json

from artforge.errors import BadInput, UsageError
from artforge.generation.model_checkpoint import load_checkpoint
from artforge.generation.procedural import draw_art
from artforge.generation.train_config import TrainConfig
from artforge.generation.training import Trainer, train

TINY = ["--batch-size", "16", "--width", "8", "--data-limit", "64"]


def _folder(root: Path, count: int, classes: tuple[str, ...] = ()) -> Path:
    for index in range(count):
        folder = root / classes[index % len(classes)] if classes else root
        folder.mkdir(parents=True, exist_ok=True)
        draw_art(100 + index, (40, 40)).save(folder / f"{index}.png")
    return root


def test_fine_tuning_starts_from_the_base_and_its_samples_sign_their_lineage(tmp_path: Path) -> None:
    assert run("init", "--no-encrypt").exit_code == 0
    base = run("train", "--steps", "3", "--size", "16", *TINY, "--out", tmp_path / "base")
    assert base.exit_code == 0, base.stderr
    mine = _folder(tmp_path / "mine", 12)
    tuned = run("train", "--init", base.stdout.strip(), "--data", mine, "--steps", "2", "--out", tmp_path / "tuned")
    assert tuned.exit_code == 0, tuned.stderr
    assert "batches of 12" in tuned.stderr  # a folder smaller than the default batch
    parent, child = load_checkpoint(base.stdout.strip()), load_checkpoint(tuned.stdout.strip())
    assert child.data["parent"]["checkpoint_sha256"] == parent.sha256
    assert child.spec == parent.spec  # the base's architecture, read at its size
    assert child.data["dataset"]["images"] == 12 and child.data["train_config"]["init"] == base.stdout.strip()
    # FreezeD: the discriminator's first layer is the base's, its head has moved.
    first = "net.features.0.parametrizations.weight.original"
    assert torch.equal(child.data["modules"]["d"][first], parent.data["modules"]["d"][first])
    assert not torch.equal(child.data["modules"]["d"]["net.head.parametrizations.weight.original"],
                           parent.data["modules"]["d"]["net.head.parametrizations.weight.original"])
    code, made = run_json("generate", tuned.stdout.strip(), "-n", "1", "--out", tmp_path / "gen", "--register",
                          "--license", "CC-BY-4.0")
    assert code == 0, made
    shown = run("show", made["data"]["images"][0]["work_id"])
    assert f"fine-tuned from dcgan checkpoint {parent.sha256[:12]} (builtin:digits) on 12 images" in shown.stdout
    code, history = run_json("history", made["data"]["images"][0]["work_id"])
    assert "fine-tuned from dcgan" in history["data"]["history"][0]["summary"]
    resumed = run("train", "--resume", "latest", "--steps", "3", "--out", tmp_path / "tuned")
    assert resumed.exit_code == 0, resumed.stderr
    assert load_checkpoint(resumed.stdout.strip()).data["parent"] == child.data["parent"]


def test_init_keeps_the_base_architecture_and_names_what_differs(tmp_path: Path) -> None:
    base = train(TrainConfig(data="builtin:digits", image_size=16, batch_size=16, steps=1, data_limit=32,
                             model_options={"g_width": 8, "d_width": 8}, out=str(tmp_path / "base")))
    config = TrainConfig(model="vae", image_size=32, data=str(_folder(tmp_path / "mine", 8)), steps=1,
                         init=base.checkpoint, out=str(tmp_path / "t"))
    with pytest.raises(UsageError) as refused:
        Trainer(config, given={"model", "image_size", "data", "init", "steps"})
    assert "`model` vae (the base's: dcgan)" in str(refused.value)
    assert "`image_size` 32 (the base's: 16)" in str(refused.value)


def test_a_class_conditioned_base_fine_tunes_on_folders_named_after_its_classes(tmp_path: Path) -> None:
    base = train(TrainConfig(model="cgan", data="builtin:digits", image_size=16, batch_size=16, steps=1,
                             data_limit=64, model_options={"g_width": 8, "d_width": 8}, out=str(tmp_path / "base")))
    known = _folder(tmp_path / "known", 8, ("three", "seven"))
    result = train(TrainConfig(data=str(known), steps=1, init=base.checkpoint, out=str(tmp_path / "t")))
    checkpoint = load_checkpoint(result.checkpoint)
    assert checkpoint.spec["condition"]["class_names"] == load_checkpoint(base.checkpoint).spec["condition"]["class_names"]
    unknown = _folder(tmp_path / "unknown", 8, ("cats", "seven"))
    with pytest.raises(UsageError, match="class\\(es\\) the base does not know: cats"):
        Trainer(TrainConfig(data=str(unknown), steps=1, init=base.checkpoint, out=str(tmp_path / "u")))
    flat = _folder(tmp_path / "flat", 8)
    with pytest.raises(UsageError, match="subfolders named after them"):
        Trainer(TrainConfig(data=str(flat), steps=1, init=base.checkpoint, out=str(tmp_path / "f")))


def test_the_shipped_base_models_are_recorded_generate_and_fine_tune(tmp_path: Path) -> None:
    import hashlib
    import json

    from artforge.generation.model_checkpoint import BASE_MODELS_DIR, builtin_models
    from artforge.generation.sampling import generate_images

    assert builtin_models() == ["cgan-shapes", "dcgan-digits"]
    records = json.loads((BASE_MODELS_DIR / "base-models.json").read_text())
    for name in builtin_models():
        path = BASE_MODELS_DIR / f"base-{name}.pt"
        assert records[name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()  # the run made this file
        assert records[name]["command"].startswith("python -m artforge.generation.base_models build")
        assert path.stat().st_size < 3_000_000
        checkpoint = load_checkpoint(f"builtin:{name}")
        assert checkpoint.data["base_model"]["name"] == name and "optimizers" not in checkpoint.data
    result, _ = generate_images("builtin:cgan-shapes", tmp_path / "gen", [0, 1], prompt="a red circle on purple")
    assert len(result.images) == 2
    tuned = train(TrainConfig(data=str(_folder(tmp_path / "mine", 10)), steps=2, init="builtin:dcgan-digits",
                              out=str(tmp_path / "tuned")))
    parent = load_checkpoint(tuned.checkpoint).data["parent"]
    assert parent["checkpoint_sha256"] == records["dcgan-digits"]["sha256"] and parent["family"] == "dcgan"
    with pytest.raises(BadInput, match="no training state to resume; start a new run from it with `init`"):
        Trainer(TrainConfig(steps=1, out=str(tmp_path / "r")), resume="builtin:dcgan-digits")
