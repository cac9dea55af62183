"""Offline quality metrics: FID and KID against closed forms, the shipped feature nets, evaluate_checkpoint."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from artforge.errors import BadInput, UsageError
from artforge.generation.data import SHAPES, load_dataset, shapes_dataset, to_float
from artforge.generation.featurenet import WEIGHTS_DIR, accuracy, build_feature_net, load_feature_net, targets
from artforge.generation.quality import (
    evaluate_checkpoint,
    frechet_distance,
    gaussian_frechet_distance,
    kernel_inception_distance,
)
from artforge.generation.training import TrainConfig, train


def exact_gaussian_sample(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray, n: int) -> np.ndarray:
    """n points whose sample mean and (ddof=1) covariance are exactly ``mean`` and ``cov``."""
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whitened: covariance exactly I
    return z @ np.linalg.cholesky(cov).T + mean


def random_cov(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# -- FID -----------------------------------------------------------------------------------------------

def test_fid_of_identical_sets_is_zero():
    feats = np.random.default_rng(0).normal(size=(300, 32))
    assert frechet_distance(feats, feats) == pytest.approx(0, abs=1e-6)


def test_fid_one_dimensional_closed_form():
    # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 2
    one = np.ones((1, 1))
    assert gaussian_frechet_distance(np.zeros(1), one, np.ones(1), 4 * one) == pytest.approx(2.0)


def test_fid_matches_closed_form_for_commuting_covariances():
    # Same eigenvectors: Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) = sum (sqrt(a_i) - sqrt(b_i))^2
    rng = np.random.default_rng(1)
    d = 12
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    ev_a, ev_b = rng.uniform(0.5, 3, d), rng.uniform(0.1, 5, d)
    mu_a, mu_b = rng.normal(size=d), rng.normal(size=d)
    a = exact_gaussian_sample(rng, mu_a, q @ np.diag(ev_a) @ q.T, 400)
    b = exact_gaussian_sample(rng, mu_b, q @ np.diag(ev_b) @ q.T, 300)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(ev_a) - np.sqrt(ev_b)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_fid_matches_symmetric_form_for_general_covariances():
    # Tr((S_a S_b)^(1/2)) = Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)), computed independently with eigh.
    rng = np.random.default_rng(2)
    d = 10
    s_a, s_b = random_cov(rng, d), random_cov(rng, d)
    w, v = np.linalg.eigh(s_a)
    root_a = v @ np.diag(np.sqrt(w)) @ v.T
    inner = np.linalg.eigvalsh(root_a @ s_b @ root_a)
    mu_b = np.full(d, 0.5)
    expected = d * 0.25 + np.trace(s_a) + np.trace(s_b) - 2 * np.sqrt(inner.clip(0)).sum()
    assert gaussian_frechet_distance(np.zeros(d), s_a, mu_b, s_b) == pytest.approx(expected, rel=1e-8)


def test_fid_grows_with_a_shift_by_exactly_its_squared_length():
    feats = np.random.default_rng(3).normal(size=(200, 16))
    distances = [frechet_distance(feats, feats + shift) for shift in (0.1, 0.5, 2.0)]
    assert distances == pytest.approx([16 * 0.01, 16 * 0.25, 16 * 4.0], rel=1e-6)


def test_fid_copes_with_fewer_samples_than_dimensions():
    rng = np.random.default_rng(4)
    a, b = np.maximum(rng.normal(size=(40, 128)), 0), np.maximum(rng.normal(size=(40, 128)) + 0.3, 0)
    value = frechet_distance(a, b)
    assert math.isfinite(value) and value > 0
    with pytest.raises(UsageError):
        frechet_distance(a[:1], b)


# -- KID -----------------------------------------------------------------------------------------------

def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD² with k(x, y) = (x·y/d + 1)^3, term by term."""
    d, m = x.shape[1], len(x)
    k = lambda u, v: (u @ v / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_with_one_full_subset_is_the_unbiased_mmd():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(15, 6)), rng.normal(0.4, 1.2, size=(15, 6))
    mean, std = kernel_inception_distance(x, y, subsets=1, subset_size=15)
    assert mean == pytest.approx(brute_force_mmd2(x, y), rel=1e-9)
    assert std == 0


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same_mean, same_std = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    shifted_mean, shifted_std = kernel_inception_distance(a, b + 0.5, subsets=20, subset_size=200)
    assert abs(same_mean) < 0.05 and abs(same_mean) < 3 * same_std + 1e-3
    assert shifted_mean > 0.5 and shifted_mean > 10 * shifted_std
    assert shifted_mean > 20 * abs(same_mean)


# -- the feature nets ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, floor", [("digits", 0.97), ("shapes", 0.95)])
def test_shipped_feature_nets_load_and_state_their_accuracy(name, floor):
    path = WEIGHTS_DIR / f"{name}.pt"
    assert path.stat().st_size < 1_000_000
    net = load_feature_net(name)
    meta = net.meta
    assert meta["name"] == name and meta["arch"]["embed_dim"] == 128 and meta["train"]["data_fingerprint"]
    assert all(value >= floor for value in meta["heldout_accuracy"].values())


def test_digits_net_on_held_out_digits_at_another_size():
    net = load_feature_net("digits")
    digits = load_dataset("builtin:digits", 16, 1)
    held = digits.images[-300:]  # inside the held-out last 20%
    found = accuracy(net, held, {"digit": digits.labels[-300:]})["digit"]
    assert found >= net.meta["heldout_accuracy"]["digit"] - 0.02
    rgb = load_dataset("builtin:digits", 32, 3)  # RGB in, luminance for the grey net
    assert accuracy(net, rgb.images[-300:], {"digit": rgb.labels[-300:]})["digit"] >= 0.95


def test_shapes_net_on_fresh_shapes():
    net = load_feature_net("shapes")
    fresh = shapes_dataset(300, 28, 3, seed=12345)  # a seed and size it never saw
    found = accuracy(net, fresh.images, targets("shapes", fresh))
    for head, value in found.items():
        assert value >= min(net.meta["heldout_accuracy"][head], 0.97) - 0.02, head
    features, predictions = net.run(fresh.images[:5])
    assert features.shape == (5, 128) and set(predictions) == {"shape", "colour", "background"}


def test_scores_in_the_shapes_feature_space_grow_with_noise():
    net = load_feature_net("shapes")
    reference = net.run(shapes_dataset(200, 32, 3, seed=5).images)[0].numpy()
    other = to_float(shapes_dataset(200, 32, 3, seed=6).images)
    noise = torch.randn(other.shape, generator=torch.Generator().manual_seed(0))
    fids, kids = [], []
    for sigma in (0.0, 0.1, 0.3, 0.6):
        features = net.run((other + sigma * noise).clamp(-1, 1))[0].numpy()
        fids.append(frechet_distance(reference, features))
        kids.append(kernel_inception_distance(reference, features, subsets=5, subset_size=150)[0])
    assert fids == sorted(fids) and kids == sorted(kids)
    assert fids[-1] > 10 * fids[0]


def test_build_feature_net_runs_a_few_steps():
    net = build_feature_net("digits", steps=2, seed=1)
    features, logits = net(torch.zeros(3, 1, 16, 16))
    assert features.shape == (3, 128) and logits["digit"].shape == (3, 10)
    assert net.meta["train"]["steps"] == 2 and set(net.meta["heldout_accuracy"]) == {"digit"}
    with pytest.raises(UsageError):
        build_feature_net("faces", steps=1)


# -- evaluate_checkpoint -------------------------------------------------------------------------------

def tiny_checkpoint(out: Path, model: str, data: str) -> str:
    config = TrainConfig(model=model, data=data, image_size=16, batch_size=16, steps=3, out=str(out),
                         data_limit=64, model_options={"g_width": 8, "d_width": 8}, sample_every=1000,
                         checkpoint_every=1000)
    return train(config).checkpoint


@pytest.fixture(scope="module")
def dcgan_digits(tmp_path_factory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp("dcgan") / "run", "dcgan", "builtin:digits")


def test_evaluate_unconditional_checkpoint(dcgan_digits):
    report = evaluate_checkpoint(dcgan_digits, samples=64)
    assert (report.samples, report.real_samples, report.feature_net) == (64, 1797, "digits")
    assert report.family == "dcgan" and report.condition == "none" and report.kid_subset_size == 64
    assert all(math.isfinite(v) for v in (report.fid, report.kid_mean, report.kid_std, report.fid_real_vs_real))
    assert report.fid > report.fid_real_vs_real  # three training steps are far from the data
    assert report.accuracy is None and report.per_condition == []
    data = json.loads(json.dumps(report.to_dict()))
    assert data["samples"] == 64 and len(data["checkpoint_sha256"]) == 64
    again = evaluate_checkpoint(dcgan_digits, samples=64, kid_subsets=10)
    assert again.fid == pytest.approx(report.fid, rel=1e-6)  # seeded: the same images and features
    with pytest.raises(UsageError):
        evaluate_checkpoint(dcgan_digits, samples=1)
    with pytest.raises(UsageError):
        evaluate_checkpoint(dcgan_digits, samples=8, features="inception")


def test_evaluate_text_conditional_checkpoint_per_prompt(tmp_path):
    checkpoint = tiny_checkpoint(tmp_path / "run", "cgan", "builtin:shapes")
    report = evaluate_checkpoint(checkpoint, samples=64, kid_subsets=10)
    assert report.condition == "text" and report.feature_net == "shapes" and report.samples == 64
    assert sum(c.samples for c in report.per_condition) == 64
    assert all(c.prompt and c.prompt.startswith("a ") and c.label is None for c in report.per_condition)
    assert len({c.prompt for c in report.per_condition}) == len(report.per_condition) > 1
    for entry in report.per_condition:
        assert set(entry.accuracy) == {"shape", "colour", "background", "all"}
        assert all(0 <= v <= 1 for v in entry.accuracy.values())
    assert set(report.accuracy) == {"shape", "colour", "background", "all"}
    assert report.accuracy["all"] <= min(report.accuracy["shape"], report.accuracy["colour"])
    assert json.loads(json.dumps(report.to_dict()))["per_condition"][0]["accuracy"]


def test_evaluate_label_conditional_checkpoint_per_label(tmp_path):
    checkpoint = tiny_checkpoint(tmp_path / "run", "cgan", "builtin:digits")
    report = evaluate_checkpoint(checkpoint, samples=30, kid_subsets=5)
    assert report.condition == "label"
    assert [c.label for c in report.per_condition] == list(range(10))
    assert [c.samples for c in report.per_condition] == [3] * 10
    assert all(set(c.accuracy) == {"digit"} for c in report.per_condition)
    assert report.accuracy["digit"] == pytest.approx(np.mean([c.accuracy["digit"] for c in report.per_condition]))


def test_evaluate_folder_checkpoint_needs_its_folder(tmp_path, art):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for seed in range(16):
        shutil.copy(art(seed, size=(48, 48)), folder / f"p{seed}.png")
    checkpoint = tiny_checkpoint(tmp_path / "run", "dcgan", str(folder))
    report = evaluate_checkpoint(checkpoint, samples=16, kid_subsets=5)
    assert report.feature_net == "shapes" and report.real_samples == 16
    assert any("only comparable" in note for note in report.notes)
    shutil.rmtree(folder)
    with pytest.raises(BadInput, match="no longer exists"):
        evaluate_checkpoint(checkpoint, samples=16)


def test_label_names_map_to_the_shapes_head():
    # The class names of builtin:shapes are the shape head's classes, in the same order.
    assert load_feature_net("shapes").head_names["shape"] == list(SHAPES)
