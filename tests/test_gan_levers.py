"""The training levers (losses, R1, EMA schedule), the VAE's learned prior, precision/recall and the second
feature nets: each checked against what it must compute, and in a real (tiny) training run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from artforge.errors import UsageError
from artforge.generation.data import load_dataset
from artforge.generation.featurenet import WEIGHTS_DIR, accuracy, load_feature_net
from artforge.generation.gan_levers import discriminator_loss, ema_decay_at, generator_loss, r1_penalty
from artforge.generation.model_checkpoint import load_checkpoint
from artforge.generation.models.vae import VAE, VAEConfig
from artforge.generation.quality import density_coverage, frechet_distance, precision_recall
from artforge.generation.recipes import OptimConfig
from artforge.generation.sampling import load_model, sample
from artforge.generation.training import TrainConfig, train


def test_losses_are_the_published_formulas() -> None:
    real, fake = torch.tensor([2.0, -0.5]), torch.tensor([0.3, -3.0])
    assert discriminator_loss("hinge", real, fake).item() == pytest.approx((0 + 1.5) / 2 + (1.3 + 0) / 2)
    assert generator_loss("hinge", fake).item() == pytest.approx(-(0.3 - 3.0) / 2)
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    assert discriminator_loss("ns", real, fake).item() == pytest.approx(
        (softplus(-2.0) + softplus(0.5)) / 2 + (softplus(0.3) + softplus(-3.0)) / 2)
    assert generator_loss("ns", fake).item() == pytest.approx((softplus(-0.3) + softplus(3.0)) / 2)


def test_r1_is_the_squared_input_gradient() -> None:
    weights = torch.randn(1, 3, 4, 4)
    inputs = torch.randn(5, 3, 4, 4, requires_grad=True)
    logits = (inputs * weights).sum(dim=(1, 2, 3)) + (inputs ** 2).sum(dim=(1, 2, 3))  # grad = w + 2x
    expected = (weights + 2 * inputs.detach()).square().sum(dim=(1, 2, 3)).mean()
    penalty = r1_penalty(logits, inputs)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    assert penalty.requires_grad  # it must train D


def test_ema_schedule_follows_the_generator_early_and_caps_at_the_decay() -> None:
    assert ema_decay_at(0, 0.999, 0.0) == pytest.approx(0.1)
    assert ema_decay_at(10 ** 6, 0.999, 0.0) == 0.999
    # ramp-up: the half-life is rampup x the steps so far
    decay = ema_decay_at(99, 0.9999, 0.1)
    assert decay ** (0.1 * 100) == pytest.approx(0.5)
    assert ema_decay_at(10 ** 7, 0.999, 0.1) == 0.999
    assert ema_decay_at(0, 0.999, 0.05) < 1e-5  # the first update copies the generator


def test_an_unknown_loss_is_refused(tmp_path: Path) -> None:
    config = TrainConfig(data="builtin:digits", image_size=16, batch_size=16, steps=1, data_limit=32,
                         out=str(tmp_path / "run"), model_options={"g_width": 8, "d_width": 8},
                         optim=OptimConfig(loss="wasserstein"))
    with pytest.raises(UsageError, match="unknown GAN loss 'wasserstein'"):
        train(config)


@pytest.mark.parametrize("optim", [OptimConfig(loss="hinge", r1_gamma=1.0, r1_every=2, ema_rampup=0.05),
                                   OptimConfig(r1_gamma=0.5, r1_every=1, amp="off")])
def test_levers_train_a_real_gan_deterministically(tmp_path: Path, optim: OptimConfig) -> None:
    def run(name: str):
        return train(TrainConfig(data="builtin:digits", image_size=16, batch_size=16, steps=4, data_limit=64,
                                 out=str(tmp_path / name), model_options={"g_width": 8, "d_width": 8}, optim=optim,
                                 sample_every=100, checkpoint_every=100, log_every=1))

    first, second = run("a"), run("b")
    losses = {k: v for k, v in first.metrics.items() if k != "images_per_second"}
    assert losses == {k: v for k, v in second.metrics.items() if k != "images_per_second"}
    assert all(math.isfinite(v) for v in losses.values()) and {"loss_d", "loss_g"} <= set(losses)
    assert "r1" in (Path(first.run_dir) / "metrics.jsonl").read_text()  # the penalty ran
    assert isinstance(first.metrics["loss_d"], float)


def test_vae_prior_is_fitted_saved_and_used_for_sampling(tmp_path: Path) -> None:
    result = train(TrainConfig(model="vae", data="builtin:digits", image_size=16, batch_size=32, steps=30,
                               data_limit=256, out=str(tmp_path / "vae"), model_options={"width": 8, "z_dim": 8},
                               sample_every=100, checkpoint_every=100))
    state = load_checkpoint(result.checkpoint).data["modules"]["vae"]
    mean, tril = state["prior_mean"], state["prior_scale_tril"]
    assert not torch.equal(tril, torch.eye(8)) and torch.equal(tril, torch.tril(tril))
    model = load_model(result.checkpoint)
    images = sample(model, [0, 1, 2])
    assert torch.equal(images, sample(model, [0, 1, 2]))  # same seeds, same pixels
    z = torch.stack([torch.randn(8, generator=torch.Generator().manual_seed(s)) for s in (0, 1, 2)])
    assert torch.allclose(model.recipe.model.prior_latent(z), mean + z @ tril.T)


def test_a_vae_saved_before_the_prior_samples_from_the_standard_normal() -> None:
    vae = VAE(VAEConfig(image_size=16, channels=1, z_dim=4, width=8))
    old = {k: v for k, v in vae.state_dict().items() if not k.startswith("prior_")}
    fresh = VAE(VAEConfig(image_size=16, channels=1, z_dim=4, width=8))
    fresh.fit_prior(torch.randn(50, 4) * 3 + 1)
    fresh.load_state_dict(old)  # strict: the missing prior is filled with N(0, I)
    z = torch.randn(3, 4)
    assert torch.equal(fresh.prior_latent(z), z)


def test_precision_and_recall_separate_fidelity_from_coverage() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(600, 8))
    same = precision_recall(real, rng.normal(size=(600, 8)))
    collapsed = precision_recall(real, rng.normal(size=(600, 8)) * 0.2)
    spread = precision_recall(real, rng.normal(size=(600, 8)) * 3)
    elsewhere = precision_recall(real, rng.normal(size=(600, 8)) + 6)
    assert same[0] > 0.6 and same[1] > 0.6
    assert collapsed[0] > 0.95 and collapsed[1] < 0.2  # faithful but covers little
    assert spread[0] < 0.3 and spread[1] > 0.9  # covers all but mostly off the data
    assert elsewhere == (0.0, 0.0)
    with pytest.raises(UsageError):
        precision_recall(real[:3], real[:3])


@pytest.mark.parametrize("name, first", [("digits-b", "digits"), ("shapes-b", "shapes")])
def test_second_feature_nets_are_another_architecture_and_agree_on_quality(name: str, first: str) -> None:
    assert (WEIGHTS_DIR / f"{name}.pt").stat().st_size < 1_000_000
    second, original = load_feature_net(name), load_feature_net(first)
    assert second.meta["arch"]["kind"] == "strided" and original.meta["arch"].get("kind", "pool") == "pool"
    assert second.meta["train"]["seed"] != original.meta["train"]["seed"]
    assert min(second.meta["heldout_accuracy"].values()) >= 0.95
    data = load_dataset(f"builtin:{first}", 32)
    if first == "digits":
        assert accuracy(second, data.images[-300:], {"digit": data.labels[-300:]})["digit"] >= 0.95
    # Both nets rank a clean half above a noised one against the other half.
    half = len(data) // 2
    noisy = (data.images[half:2 * half].float() + torch.randn(data.images[half:2 * half].shape,
             generator=torch.Generator().manual_seed(0)) * 60).clamp(0, 255).to(torch.uint8)
    for net in (second, original):
        reference = net.run(data.images[:half])[0].numpy()
        clean = frechet_distance(reference, net.run(data.images[half:2 * half])[0].numpy())
        assert frechet_distance(reference, net.run(noisy)[0].numpy()) > 3 * clean


# -- the family defaults ---------------------------------------------------------------------------------

def test_a_new_run_takes_its_familys_defaults_and_stores_them_resolved(tmp_path: Path) -> None:
    from artforge.generation.family_defaults import arch_defaults, optim_defaults

    result = train(TrainConfig(data="builtin:digits", steps=1, batch_size=16, data_limit=32, out=str(tmp_path / "a"),
                               sample_every=100, checkpoint_every=100))
    saved = load_checkpoint(result.checkpoint).data
    optim = saved["train_config"]["optim"]
    assert {k: optim[k] for k in optim_defaults("dcgan")} == optim_defaults("dcgan")
    assert None not in optim.values()
    assert {k: saved["spec"]["config"][k] for k in arch_defaults("dcgan", 32)} == arch_defaults("dcgan", 32)
    assert arch_defaults("dcgan", 64) == {}  # larger images keep the network's own widths
    # What the caller chose wins over the family's default.
    chosen = train(TrainConfig(data="builtin:digits", steps=1, batch_size=16, data_limit=32, out=str(tmp_path / "b"),
                               sample_every=100, checkpoint_every=100, model_options={"g_width": 8, "d_width": 8},
                               optim=OptimConfig(lr_g=1e-4, loss="ns")))
    saved = load_checkpoint(chosen.checkpoint).data
    assert saved["train_config"]["optim"]["lr_g"] == 1e-4 and saved["train_config"]["optim"]["loss"] == "ns"
    assert saved["spec"]["config"]["g_width"] == 8


def test_a_resumed_run_keeps_its_settings_when_the_defaults_change(tmp_path: Path, monkeypatch) -> None:
    from artforge.generation import family_defaults

    config = TrainConfig(data="builtin:digits", steps=2, batch_size=16, data_limit=32, out=str(tmp_path / "run"),
                         sample_every=100, checkpoint_every=100)
    train(config)
    trained_with = family_defaults.optim_defaults("dcgan")
    monkeypatch.setitem(family_defaults.FAMILY_OPTIM, "dcgan", {"lr_g": 1e-5, "loss": "ns"})
    resumed = train(TrainConfig(data="builtin:digits", steps=3, batch_size=16, data_limit=32,
                                out=str(tmp_path / "run"), sample_every=100, checkpoint_every=100), resume="latest")
    optim = load_checkpoint(resumed.checkpoint).data["train_config"]["optim"]
    assert {k: optim[k] for k in trained_with} == trained_with  # the run's own settings, not today's defaults
    assert family_defaults.optim_defaults("dcgan")["lr_g"] == 1e-5


def test_settings_saved_before_the_levers_existed_read_as_they_trained() -> None:
    old = {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "ema_decay": 0.999, "augment": "auto"}
    optim = OptimConfig.from_dict(old)
    assert (optim.loss, optim.mode_seeking, optim.r1_gamma, optim.augment) == ("ns", 0.0, 0.0, "auto-v1")
    assert OptimConfig.from_dict({**old, "loss": "hinge"}).augment == "auto"


def test_auto_augment_policy_by_dataset_size() -> None:
    from artforge.generation.models.cgan import Condition
    from artforge.generation.recipes import auto_policy

    plain, prompts = Condition(), Condition(mode="text", vocabulary=("red",), encoder="slots")
    assert auto_policy("auto", 200, plain) == "color,translation,cutout"  # fine-tuning on a few pictures
    assert auto_policy("auto", 1797, plain) == "translation"
    assert auto_policy("auto", 200, prompts) == "translation"  # colour and outline are what prompts name
    assert auto_policy("auto", 50_000, plain) == "none"
    assert auto_policy("auto-v1", 1797, plain) == "color,translation,cutout"  # the rule older runs trained with


def test_density_and_coverage_are_not_fooled_by_generated_outliers() -> None:
    """Recall rises when a few generated vectors sit far off the data (their k-NN balls swallow it);
    coverage, with balls around the real vectors only, does not (Naeem et al. 2020)."""
    rng = np.random.default_rng(0)
    real = rng.normal(size=(600, 8))
    collapsed = rng.normal(size=(600, 8)) * 0.3
    with_outliers = np.concatenate([collapsed[:570], rng.normal(size=(30, 8)) * 8])
    assert precision_recall(real, with_outliers)[1] > precision_recall(real, collapsed)[1] + 0.3
    assert abs(density_coverage(real, with_outliers)[1] - density_coverage(real, collapsed)[1]) < 0.05
    density, coverage = density_coverage(real, rng.normal(size=(600, 8)))
    assert 0.7 < density < 1.3 and coverage > 0.9  # fakes spread like the data
    assert density_coverage(real, rng.normal(size=(600, 8)) + 6) == (0.0, 0.0)
    with pytest.raises(UsageError):
        density_coverage(real[:5], real[:5])
