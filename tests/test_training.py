"""Training: every family trains, checkpoints round-trip, runs are deterministic and resume exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from artforge.errors import BadInput, Interrupted, UsageError
from artforge.generation.model_checkpoint import load_checkpoint, save_checkpoint
from artforge.generation.procedural import draw_art
from artforge.generation.train_config import parse_duration
from artforge.generation.training import TrainConfig, Trainer, train

FAMILIES = [("dcgan", "builtin:digits"), ("cgan", "builtin:shapes"), ("cgan", "builtin:digits"), ("vae", "builtin:digits"),
            ("mlpgan", "builtin:digits")]


def tiny(tmp_path: Path, model: str = "dcgan", data: str = "builtin:digits", name: str = "run", **overrides) -> TrainConfig:
    options = {"width": 8} if model == "vae" else {"g_width": 8, "d_width": 8}
    values = dict(model=model, data=data, image_size=16, batch_size=16, steps=6, out=str(tmp_path / name),
                  data_limit=64, model_options=options, sample_every=4, checkpoint_every=4, log_every=1)
    values.update(overrides)
    return TrainConfig(**values)


def _losses(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(("model", "data"), FAMILIES)
def test_each_family_trains_and_writes_a_complete_run(tmp_path: Path, model: str, data: str) -> None:
    result = train(tiny(tmp_path, model, data))
    run = Path(result.run_dir)
    assert result.step == 6 and Path(result.checkpoint).name == "ckpt-00000006.pt"
    assert [p.name for p in sorted((run / "samples").iterdir())] == ["step-00000004.png", "step-00000006.png"]
    rows = _losses(run)
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert all(torch.isfinite(torch.tensor(v)) for r in rows for k, v in r.items() if isinstance(v, float))
    checkpoint = load_checkpoint(result.checkpoint)
    assert checkpoint.sha256 == result.checkpoint_sha256
    data_info = checkpoint.data
    assert data_info["spec"]["family"] == model and data_info["dataset"]["name"] == data
    assert set(data_info["optimizers"]) and "torch" in data_info["rng"]
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"]["fingerprint"] == data_info["dataset"]["fingerprint"]


def test_same_seed_same_losses_other_seed_other_losses(tmp_path: Path) -> None:
    a = _losses(Path(train(tiny(tmp_path, name="a")).run_dir))
    b = _losses(Path(train(tiny(tmp_path, name="b")).run_dir))
    c = _losses(Path(train(tiny(tmp_path, name="c", seed=1)).run_dir))
    assert [r["loss_g"] for r in a] == [r["loss_g"] for r in b]
    assert [r["loss_g"] for r in a] != [r["loss_g"] for r in c]


@pytest.mark.parametrize(("model", "data"), [("dcgan", "builtin:digits"), ("cgan", "builtin:shapes"), ("vae", "builtin:digits"),
                                             ("mlpgan", "builtin:shapes")])
def test_resume_continues_exactly(tmp_path: Path, model: str, data: str) -> None:
    straight = train(tiny(tmp_path, model, data, name="straight", steps=10, checkpoint_every=100))
    train(tiny(tmp_path, model, data, name="split", steps=4, checkpoint_every=100))
    resumed = train(tiny(tmp_path, model, data, name="split", steps=10, checkpoint_every=100), resume="latest")
    assert resumed.step == 10
    assert _losses(Path(straight.run_dir)) != [] and [
        {k: v for k, v in r.items() if k not in ("elapsed", "images_per_second")} for r in _losses(Path(straight.run_dir))
    ] == [{k: v for k, v in r.items() if k not in ("elapsed", "images_per_second")} for r in _losses(Path(resumed.run_dir))]
    a, b = load_checkpoint(straight.checkpoint).data, load_checkpoint(resumed.checkpoint).data
    for name, state in a["modules"].items():
        for key, tensor in state.items():
            assert torch.equal(tensor, b["modules"][name][key]), (name, key)


def test_interrupt_writes_a_checkpoint(tmp_path: Path) -> None:
    class StopAtThree:
        def on_start(self, trainer): ...
        def on_sample(self, trainer, path): ...
        def on_checkpoint(self, trainer, path): ...
        def on_end(self, trainer, result): ...

        def on_step(self, trainer, metrics):
            if trainer.step == 3:
                trainer._on_sigint(2, None)  # what Ctrl-C does

    with pytest.raises(Interrupted, match="step 3"):
        train(tiny(tmp_path, steps=100), [StopAtThree()])
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "ckpt-00000003.pt").step == 3


def test_time_budget_and_epochs(tmp_path: Path) -> None:
    by_time = train(tiny(tmp_path, name="t", steps=None, time_budget=0.0))
    assert by_time.step == 0
    by_epochs = train(tiny(tmp_path, name="e", steps=None, epochs=2))
    assert by_epochs.step == 8  # 64 images / batch 16 = 4 steps per epoch
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300 and parse_duration("1.5h") == 5400
    # A run that ends between log steps still reports its true rate: the images it trained over its seconds.
    between = train(tiny(tmp_path, name="b", steps=None, time_budget=0.3, log_every=10**6))
    assert between.step >= 1 and between.images_per_second > 0
    assert between.images_per_second == pytest.approx(between.step * 16 / between.seconds, rel=0.05)
    with pytest.raises(UsageError):
        parse_duration("soon")


def test_bad_checkpoints(tmp_path: Path) -> None:
    (tmp_path / "random.pt").write_bytes(b"\x00garbage" * 100)
    torch.save({"hello": torch.zeros(2)}, tmp_path / "foreign.pt")
    torch.save({"format": "artforge.checkpoint/1", "spec": {}}, tmp_path / "incomplete.pt")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"format": "artforge.checkpoint/1", "x": Evil()}, tmp_path / "evil.pt")
    full = train(tiny(tmp_path))
    raw = Path(full.checkpoint).read_bytes()
    (tmp_path / "truncated.pt").write_bytes(raw[: len(raw) // 2])
    # Each says what is wrong in words (torch's own text spoke of zip central directories, cut at 120 chars).
    for name, message in [("random.pt", "not a checkpoint file"), ("foreign.pt", "not an artforge checkpoint"),
                          ("incomplete.pt", "incomplete"), ("evil.pt", "holds Python objects"),
                          ("truncated.pt", r"damaged or truncated checkpoint \(\d+ bytes.*copy it again"),
                          ("absent.pt", "no such checkpoint")]:
        with pytest.raises(BadInput, match=message):
            load_checkpoint(tmp_path / name)


def test_resume_refuses_data_that_changed(tmp_path: Path) -> None:
    folder = tmp_path / "art"
    folder.mkdir()
    for seed in range(16):
        draw_art(seed, (24, 24)).save(folder / f"{seed}.png")
    train(tiny(tmp_path, data=str(folder), steps=2))
    draw_art(99, (24, 24)).save(folder / "new.png")  # the folder changed since the checkpoint
    with pytest.raises(BadInput, match="other data"):
        Trainer(tiny(tmp_path, data=str(folder), steps=4), resume="latest")


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"spec": {}, "modules": {}, "step": 1})
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(OSError):
        save_checkpoint(path, {"spec": {}, "modules": {}, "step": 2})
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_batch_larger_than_data(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="fewer than one batch"):
        Trainer(tiny(tmp_path, batch_size=128))


def test_resume_refuses_every_option_that_differs_from_the_checkpoint(tmp_path: Path) -> None:
    first = train(tiny(tmp_path, steps=2, checkpoint_every=100))
    other = tiny(tmp_path, steps=4, data="builtin:shapes", image_size=32)
    with pytest.raises(UsageError) as refused:
        Trainer(other, resume=first.checkpoint, given={"data", "image_size", "steps"})
    message = str(refused.value)
    assert "`data` (the checkpoint's: builtin:digits)" in message and "`image_size` (the checkpoint's: 16)" in message
    assert "`model`" not in message  # the same model: not a conflict
    # How long, where and how often to write are the caller's to change when resuming.
    resumed = train(tiny(tmp_path, steps=4, checkpoint_every=100, sample_every=1), resume=first.checkpoint)
    assert resumed.step == 4 and len(list((Path(resumed.run_dir) / "samples").iterdir())) >= 3


def test_a_folder_smaller_than_a_batch_trains_in_one_batch_unless_a_batch_was_asked_for(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for seed in range(12):
        draw_art(seed, (48, 48)).save(folder / f"{seed}.png")
    config = tiny(tmp_path, data=str(folder), steps=2, data_limit=None, batch_size=64)
    result = Trainer(config, given=set()).fit()  # 64 was the default, not the user's choice
    assert result.step == 2 and any("batches of 12" in note for note in result.notes)
    assert load_checkpoint(result.checkpoint).data["train_config"]["batch_size"] == 12
    assert config.batch_size == 64  # the caller's config is left as it was
    with pytest.raises(BadInput, match="give `batch_size` 12 or less"):
        Trainer(config, given={"batch_size"})


def test_the_mlp_gan_is_the_keras_mnist_gan() -> None:
    from torch import nn

    from artforge.generation.models.cgan import Condition
    from artforge.generation.models.mlpgan import MLPDiscriminator, MLPGANConfig, MLPGenerator

    config = MLPGANConfig(image_size=28, channels=1)
    g, d = MLPGenerator(config), MLPDiscriminator(config)
    dense = [(m.in_features, m.out_features) for m in g.modules() if isinstance(m, nn.Linear)]
    assert dense == [(100, 256), (256, 512), (512, 1024), (1024, 784)]
    assert [(m.in_features, m.out_features) for m in d.modules() if isinstance(m, nn.Linear)] == \
        [(784, 512), (512, 256), (256, 1)]
    norms = [m for m in g.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 3 and all(abs(m.momentum - 0.2) < 1e-9 and m.eps == 1e-3 for m in norms)
    assert isinstance(list(g.net)[-1], nn.Tanh)
    assert all(float(m.bias.detach().abs().max()) == 0 for m in g.modules() if isinstance(m, nn.Linear))  # Keras: zeros
    g.eval()
    with torch.no_grad():
        image = g(torch.randn(3, 100))
    assert image.shape == (3, 1, 28, 28) and float(image.abs().max()) <= 1
    assert d(image).shape == (3,)
    with pytest.raises(ValueError, match="unconditional"):
        MLPGenerator(config, Condition(mode="label", num_classes=10))
