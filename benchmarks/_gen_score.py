"""Scoring generated images for the generation benchmarks: two independent feature nets, FD, precision, recall.

Not a benchmark itself.  :class:`Scorer` holds the real set of one built-in dataset embedded by both shipped
feature nets of its task (``digits`` + ``digits-b``, or ``shapes`` + ``shapes-b``: another architecture and
seed), and scores a batch of generated images against it.  For the prompt-conditioned shapes the images are
generated from :meth:`Scorer.conditions` (the real set's own captions, in a seeded order), so FD compares the
joint distribution of pictures and prompts, and the ``shapes`` net also reads whether each image shows what
its prompt asked for.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from artforge.generation.data import load_dataset
from artforge.generation.featurenet import caption_targets, load_feature_net, task_of
from artforge.generation.quality import density_coverage, frechet_distance, precision_recall

NETS = {"builtin:digits": ("digits", "digits-b"), "builtin:shapes": ("shapes", "shapes-b")}


class Scorer:
    """The real set of ``data`` at ``size`` px, embedded by both feature nets of its task."""

    def __init__(self, data: str, size: int, channels: int | None = None, seed: int = 0):
        if data not in NETS:
            raise SystemExit(f"no feature nets for {data}: use {', '.join(NETS)}")
        self.data, self.seed = data, seed
        self.real = load_dataset(data, size, channels)
        self.nets = {name: load_feature_net(name) for name in NETS[data]}
        self.real_feats = {name: net.run(self.real.images)[0].double().numpy() for name, net in self.nets.items()}

    def conditions(self, count: int) -> list[str] | None:
        """Captions to generate from (the real set's, seeded order), or None for unconditional data."""
        if not self.real.captions:
            return None
        order = np.random.default_rng(self.seed).permutation(len(self.real.captions))
        return [self.real.captions[i] for i in np.resize(order, count)]

    def score(self, images: torch.Tensor, captions: list[str] | None = None) -> dict[str, float]:
        """FD, precision, recall, density and coverage on both nets (without a suffix the first net's; ``_b`` the
        second's), plus prompt accuracy for captioned shapes."""
        out: dict[str, float] = {}
        for index, (name, net) in enumerate(self.nets.items()):
            feats, preds = net.run(images)
            fake = feats.double().numpy()
            suffix = "" if index == 0 else "_b"
            out["fd" + suffix] = frechet_distance(self.real_feats[name], fake)
            out["precision" + suffix], out["recall" + suffix] = precision_recall(self.real_feats[name], fake)
            out["density" + suffix], out["coverage" + suffix] = density_coverage(self.real_feats[name], fake)
            if index == 0 and captions is not None and task_of(name) == "shapes":
                wanted = caption_targets(captions)
                hits = torch.stack([preds[h] == wanted[h] for h in wanted])
                out["prompt_accuracy"] = float(hits.all(0).double().mean())
        return {key: round(value, 4) for key, value in out.items()}


def generate_all(generate: Callable[[torch.Tensor, list[str] | None], torch.Tensor], z_dim: int, count: int,
                 captions: list[str] | None, seed: int, batch: int = 250) -> torch.Tensor:
    """``count`` images from ``generate(z, captions_or_None)`` in batches, with seeded noise."""
    generator = torch.Generator().manual_seed(seed + 1)
    z = torch.randn(count, z_dim, generator=generator)
    parts = []
    with torch.no_grad():
        for start in range(0, count, batch):
            part = None if captions is None else captions[start:start + batch]
            parts.append(generate(z[start:start + batch], part).float().cpu())
    return torch.cat(parts)


def real_vs_real(scorer: Scorer) -> dict[str, float]:
    """The floor: one half of the real set scored against the other (first net)."""
    name = next(iter(scorer.nets))
    feats = scorer.real_feats[name]
    halves = np.array_split(np.random.default_rng(scorer.seed).permutation(len(feats)), 2)
    precision, recall = precision_recall(feats[halves[0]], feats[halves[1]])
    return {"fd": round(frechet_distance(feats[halves[0]], feats[halves[1]]), 4), "precision": round(precision, 4),
            "recall": round(recall, 4)}
