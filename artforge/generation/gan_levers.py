"""The GAN training levers the recipes choose between: the loss, the R1 penalty and the EMA schedule.

Each is a small function so that :mod:`artforge.generation.recipes` reads as the step it is, and
``benchmarks/gan_levers.py`` can compare them one at a time (the defaults come from that table).

* Losses: ``ns``, the non-saturating logistic loss of Goodfellow et al. (D: softplus, G: -log D(G(z)));
  ``hinge`` (Lim & Ye 2017; Miyato et al. 2018), D: relu(1 - D(x)) + relu(1 + D(G(z))), G: -D(G(z)).
* R1 (Mescheder et al. 2018): gamma/2 * |grad_x D(x)|^2 on real images, applied lazily every ``every``
  steps with the penalty scaled by ``every`` (StyleGAN2), so its cost is one small extra pass per interval.
* Mode seeking (MSGAN, Mao et al. 2019): pairs of images for one condition from two noises are pushed
  apart, against the conditional GAN's habit of drawing one picture per prompt.
* EMA with ramp-up (StyleGAN2-ADA's ``ema_rampup``): the average's half-life is at most a fraction of the
  images seen so far, so a short run is not averaged over its own poor start; ``ema_decay`` caps it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from artforge.errors import UsageError

LOSSES = ("ns", "hinge")


def check_loss(name: str) -> str:
    """The loss name, or :class:`UsageError` naming the choices."""
    if name not in LOSSES:
        raise UsageError(f"unknown GAN loss {name!r}; use {', '.join(LOSSES)}")
    return name


def discriminator_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D's loss on real and generated logits (float32)."""
    if name == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss on D's logits for its images."""
    if name == "hinge":
        return -fake_logits.mean()
    return F.softplus(-fake_logits).mean()


def r1_penalty(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of |d logits / d inputs|^2 (inputs must require grad); differentiable."""
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return grad.float().square().sum(dim=(1, 2, 3)).mean()


def paired_conditions(cond: torch.Tensor | None) -> torch.Tensor | None:
    """The batch's conditions with the second half replaced by the first, so images i and i + B/2 are drawn
    for one condition from different noise (what the mode-seeking term compares)."""
    if cond is None:
        return None
    half = len(cond) // 2
    return torch.cat([cond[:half], cond[:half], cond[2 * half:]])


def mode_seeking_loss(images: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN (Mao et al. 2019): 1 / (image distance / noise distance) over the pairs (i, i + B/2); lower when
    two noises give two different pictures, so G cannot ignore its noise for a condition."""
    half = len(images) // 2
    image_gap = (images[:half] - images[half:2 * half]).float().abs().mean()
    noise_gap = (z[:half] - z[half:2 * half]).abs().mean()
    return 1 / (image_gap / noise_gap + eps)


def ema_decay_at(step: int, decay: float, rampup: float) -> float:
    """The EMA decay for update ``step`` (0-based).

    With ``rampup`` > 0 the half-life is at most ``rampup`` x the images seen, i.e. ``rampup x (step + 1)``
    steps whatever the batch size; without it, the warm-up ``(1 + step) / (10 + step)`` that many GAN
    codebases use.  Never above ``decay``.
    """
    if rampup > 0:
        return min(decay, 0.5 ** (1 / (rampup * (step + 1))))
    return min(decay, (1 + step) / (10 + step))
