"""Offline quality metrics: FID and KID in a small classifier's feature space, and conditional accuracy.

* **FID** (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the features of real
  and generated images.  Lower is better; it is biased upwards at small sample counts, so compare models
  at the same ``samples``.
* **KID** (Bińkowski et al. 2018): the unbiased squared MMD with the cubic polynomial kernel
  ``k(x, y) = (x·y / d + 1)^3``, averaged over random subsets (mean and standard deviation reported).
  Unbiased, so it is about 0 for two samples of one distribution whatever their size.
* **Precision and recall** (Kynkäänniemi et al. 2019): fidelity and coverage, each the share of one set
  inside the k-nearest-neighbour balls of the other (FID mixes the two into one number).
* **Accuracy** (conditional models): how often the classifier recognises the label or the prompt's
  attributes in the images generated for it.

The features come from :mod:`artforge.generation.featurenet` (small CNNs trained on the built-in data, shipped with
the package) instead of an Inception network that would have to be downloaded: the numbers are
comparable with each other, not with published ImageNet FIDs.  ``fid_real_vs_real`` (FID between two
halves of the real set) shows the floor a perfect generator would reach at that sample size.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from artforge.errors import BadInput, UsageError
from artforge.generation.data import DEFAULT_SHAPES_COUNT, ImageDataset, load_dataset, tokenize
from artforge.generation.featurenet import FeatureNet, load_feature_net
from artforge.generation.sampling import MAX_IMAGES, LoadedModel, load_model, sample

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
SMALL_SAMPLE = 1000  # below this, say that FID is biased upwards
NET_DATASETS = {"builtin:digits": "digits", "builtin:shapes": "shapes"}  # a feature net's own training data


# -- the metrics ---------------------------------------------------------------------------------------

def gaussian_frechet_distance(mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray,
                              eps: float = 1e-6) -> float:
    """``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, as in the reference implementation (pytorch-fid)."""
    diff = mu_a - mu_b
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma_a @ sigma_b)
        singular = any(issubclass(w.category, linalg.LinAlgWarning) for w in caught)
        if singular or not np.isfinite(covmean).all() or (
                np.iscomplexobj(covmean) and not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)):
            # A (near-)singular product, e.g. fewer samples than dimensions: regularise both covariances.
            offset = np.eye(len(mu_a)) * eps
            covmean = linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    # Imaginary parts left are rounding noise; the distance is >= 0 in exact arithmetic.
    distance = diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2 * np.trace(covmean.real)
    return max(float(distance), 0.0)


def _as_features(feats) -> np.ndarray:
    array = np.asarray(feats, dtype=np.float64)
    if array.ndim != 2 or len(array) < 2:
        raise UsageError("need at least two feature vectors (N, D) on each side")
    return array


def frechet_distance(feats_a, feats_b, eps: float = 1e-6) -> float:
    """FID between two feature sets (N, D) and (M, D)."""
    a, b = _as_features(feats_a), _as_features(feats_b)
    return gaussian_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False), eps)


def kernel_inception_distance(feats_a, feats_b, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
                              seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD² over ``subsets`` random subsets."""
    a, b = _as_features(feats_a), _as_features(feats_b)
    m, d = min(subset_size, len(a), len(b)), a.shape[1]
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        k_xx, k_yy, k_xy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        # Unbiased: the within-set sums leave out k(x_i, x_i).
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        scores.append(within - 2 * k_xy.mean())
    return float(np.mean(scores)), float(np.std(scores))


def _knn_radii(feats: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Distance from each vector to its k-th nearest neighbour in the same set (itself excluded); in chunks of
    rows, so memory grows with N x chunk, not N x N."""
    tensor = torch.from_numpy(feats)
    return torch.cat([torch.cdist(tensor[i:i + chunk], tensor).kthvalue(k + 1, dim=1).values
                      for i in range(0, len(tensor), chunk)]).numpy()


def _covered(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 2048) -> float:
    """Fraction of ``points`` inside at least one ball (centre, radius)."""
    centre_tensor, radius_tensor = torch.from_numpy(centres), torch.from_numpy(radii)
    inside = [(torch.cdist(torch.from_numpy(points[i:i + chunk]), centre_tensor) <= radius_tensor).any(dim=1)
              for i in range(0, len(points), chunk)]
    return float(torch.cat(inside).double().mean())


def precision_recall(real_feats, fake_feats, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019): the share of generated images inside the
    real data's k-NN manifold (fidelity), and of real images inside the generated one's (coverage)."""
    real, fake = _as_features(real_feats), _as_features(fake_feats)
    if min(len(real), len(fake)) <= k:
        raise UsageError(f"precision and recall need more than k={k} vectors on each side")
    return (_covered(fake, real, _knn_radii(real, k)), _covered(real, fake, _knn_radii(fake, k)))


def density_coverage(real_feats, fake_feats, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020), the outlier-robust counterparts of precision and recall.

    Both use balls around the *real* vectors only (k-NN radii within the real set): density is the mean
    number of real balls a generated vector falls in, over k (about 1 when fakes are spread like the data);
    coverage is the share of real vectors whose ball holds at least one generated vector.  Recall instead
    draws balls around the generated vectors, so a few far-off generated outliers, with huge radii, cover
    much of the data: a worse generator can score a higher recall.
    """
    real, fake = _as_features(real_feats), _as_features(fake_feats)
    if min(len(real), len(fake)) <= k:
        raise UsageError(f"density and coverage need more than k={k} vectors on each side")
    radii = torch.from_numpy(_knn_radii(real, k))
    real_tensor, fake_tensor = torch.from_numpy(real), torch.from_numpy(fake)
    inside_count = torch.zeros(len(fake), dtype=torch.float64)
    nearest_fake = torch.full((len(real),), float("inf"), dtype=torch.float64)
    for i in range(0, len(fake), 2048):
        distances = torch.cdist(fake_tensor[i:i + 2048], real_tensor)  # (chunk, n_real)
        inside_count[i:i + 2048] = (distances <= radii).double().sum(dim=1)
        nearest_fake = torch.minimum(nearest_fake, distances.min(dim=0).values)
    return float(inside_count.mean() / k), float((nearest_fake <= radii).double().mean())


# -- the report ----------------------------------------------------------------------------------------

def _sig(value: float, digits: int = 5) -> float:
    return float(f"{value:.{digits}g}")


@dataclass
class ConditionScore:
    """The images generated for one label or prompt, and how often the classifier agreed with it."""

    name: str  # the class name or the prompt
    label: int | None
    prompt: str | None
    samples: int
    accuracy: dict[str, float] | None  # per attribute, plus "all" when there are several

    def to_dict(self) -> dict:
        data = asdict(self)
        data["accuracy"] = None if self.accuracy is None else {k: round(v, 4) for k, v in self.accuracy.items()}
        return data


@dataclass
class QualityReport:
    """What ``artforge evaluate`` measured for one checkpoint."""

    checkpoint: str
    checkpoint_sha256: str
    family: str
    dataset: str
    condition: str  # "none", "label" or "text"
    feature_net: str
    samples: int
    real_samples: int
    seed: int
    fid: float
    kid_mean: float
    kid_std: float
    kid_subsets: int
    kid_subset_size: int
    fid_real_vs_real: float  # FID between two halves of the real set: the floor
    accuracy: dict[str, float] | None = None  # conditional models: over all generated images
    per_condition: list[ConditionScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("fid", "kid_mean", "kid_std", "fid_real_vs_real"):
            data[key] = _sig(data[key])
        if self.accuracy is not None:
            data["accuracy"] = {k: round(v, 4) for k, v in self.accuracy.items()}
        data["per_condition"] = [c.to_dict() for c in self.per_condition]
        return data


# -- evaluation ----------------------------------------------------------------------------------------

def _reference(model: LoadedModel, notes: list[str]) -> ImageDataset:
    """The checkpoint's training dataset, reloaded in full at the model's size and channels."""
    info = model.checkpoint.data.get("dataset") or {}
    name = info.get("name")
    if not name:
        raise BadInput(f"{model.checkpoint.path}: the checkpoint does not say what it was trained on")
    if not name.startswith("builtin:") and not Path(name).is_dir():
        raise BadInput(f"{name}: this checkpoint's training folder no longer exists, and the quality "
                       "score compares generated images with it; restore the folder to evaluate")
    # builtin:shapes draws as many images as asked for; the others are reloaded whole.
    limit = max(info.get("images", 0), DEFAULT_SHAPES_COUNT) if name.startswith("builtin:shapes") else None
    real = load_dataset(name, info["image_size"], info["channels"], limit)
    data_limit = model.checkpoint.data.get("train_config", {}).get("data_limit")
    if data_limit and data_limit < len(real):
        notes.append(f"the model was trained on the first {data_limit} images; the reference is all {len(real)}")
    elif info.get("fingerprint") and real.fingerprint != info["fingerprint"]:
        notes.append("the training data changed since this checkpoint was made (fingerprints differ); "
                     "the reference is the data as it is now")
    return real


def _conditions(model: LoadedModel, real: ImageDataset) -> list[tuple[int | None, str | None, str]]:
    """(label, prompt, name) for each condition to spread the samples over."""
    mode = model.condition.mode
    if mode == "label":
        return [(i, None, name) for i, name in enumerate(model.condition.class_names)]
    if mode == "text":
        data_limit = model.checkpoint.data.get("train_config", {}).get("data_limit")
        captions = (real.captions or [])[:data_limit]
        vocabulary = model.vocabulary
        prompts = sorted({c for c in captions if tokenize(c) and not vocabulary.unknown(c)})
        if not prompts:
            raise BadInput(f"{real.name}: no training captions left to prompt this text-conditioned model with")
        return [(None, p, p) for p in prompts]
    return [(None, None, "all")]


def _targets(net: FeatureNet, text: str) -> dict[str, int]:
    """Class per head named by exactly one word of ``text`` (a class name or a prompt)."""
    words = set(tokenize(text))
    found = {}
    for head, names in net.head_names.items():
        hits = [i for i, name in enumerate(names) if name in words]
        if len(hits) == 1:
            found[head] = hits[0]
    return found


def _accuracy(correct: dict[str, int], count: int) -> dict[str, float]:
    return {k: v / count for k, v in correct.items()}


def evaluate_checkpoint(checkpoint_path: str | Path, samples: int = 1000, seed: int = 0, features: str | None = None,
                        batch_size: int = 256, kid_subsets: int = KID_SUBSETS,
                        kid_subset_size: int = KID_SUBSET_SIZE) -> QualityReport:
    """Generate ``samples`` images (seeds ``seed``..``seed+samples-1``) and score them against the training data.

    Conditional models get their samples spread evenly over the labels, or over the distinct training
    captions, and a per-condition classifier accuracy where the feature net knows the classes.
    """
    if not 2 <= samples <= MAX_IMAGES:
        raise UsageError(f"`samples` must be between 2 and {MAX_IMAGES}")
    if batch_size < 1 or kid_subsets < 1 or kid_subset_size < 2:
        raise UsageError("batch size, KID subsets and KID subset size must be positive (subset size >= 2)")
    notes: list[str] = []
    model = load_model(checkpoint_path)
    real = _reference(model, notes)
    net_name = features or NET_DATASETS.get(real.name, "shapes")
    if features is None and real.name not in NET_DATASETS:
        notes.append("features from the 'shapes' net: scores are only comparable between models evaluated "
                     "with the same feature net")
    net = load_feature_net(net_name)
    if real.channels != net.in_channels:
        notes.append(f"{real.channels}-channel images are converted to the feature net's {net.in_channels}")
    if samples < SMALL_SAMPLE:
        notes.append(f"FID is biased upwards below {SMALL_SAMPLE} samples: compare models at the same sample count")

    conditions = _conditions(model, real)
    # Sample k goes to condition k * P // N: contiguous, even blocks (or an even spread when P > N).
    owner = np.arange(samples) * len(conditions) // samples
    measure = NET_DATASETS.get(real.name) == net_name and model.condition.mode != "none"
    generated, per_condition = [], []
    totals: dict[str, int] = {}
    with torch.inference_mode():
        real_feats = net.run(real.images, batch_size)[0].double().numpy()
        for index, (label, prompt, name) in enumerate(conditions):
            seeds = (seed + np.flatnonzero(owner == index)).tolist()
            if not seeds:
                continue
            images = sample(model, seeds, label=label, prompt=prompt, batch_size=batch_size)
            feats, preds = net.run(images, batch_size)
            generated.append(feats.double().numpy())
            target = _targets(net, name) if measure else {}
            correct = {h: int((preds[h] == t).sum()) for h, t in target.items()}
            if len(target) > 1:
                correct["all"] = int(torch.stack([preds[h] == t for h, t in target.items()]).all(0).sum())
            for key, value in correct.items():
                totals[key] = totals.get(key, 0) + value
            if model.condition.mode != "none":
                per_condition.append(ConditionScore(name, label, prompt, len(seeds),
                                                    _accuracy(correct, len(seeds)) if correct else None))
    fake_feats = np.concatenate(generated)
    if model.condition.mode != "none" and not totals:
        notes.append("no classifier accuracy: the feature net does not know this dataset's classes")

    kid_mean, kid_std = kernel_inception_distance(real_feats, fake_feats, kid_subsets, kid_subset_size, seed)
    halves = np.array_split(np.random.default_rng(seed).permutation(len(real_feats)), 2)
    return QualityReport(
        checkpoint=str(checkpoint_path), checkpoint_sha256=model.checkpoint.sha256, family=model.family,
        dataset=real.name, condition=model.condition.mode, feature_net=net_name, samples=samples,
        real_samples=len(real_feats), seed=seed, fid=frechet_distance(real_feats, fake_feats),
        kid_mean=kid_mean, kid_std=kid_std, kid_subsets=kid_subsets,
        kid_subset_size=min(kid_subset_size, len(real_feats), samples),
        fid_real_vs_real=frechet_distance(real_feats[halves[0]], real_feats[halves[1]]),
        accuracy=_accuracy(totals, samples) if totals else None, per_condition=per_condition, notes=notes,
    )
