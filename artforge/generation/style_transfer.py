"""Style transfer by optimisation (Gatys, Ecker & Bethge 2016), made stable for any feature network.

The picture is optimised so that its deep activations match the content picture's (one layer) and the
statistics of its activations match the style picture's (one layer per block), starting from the content
picture, with L-BFGS, as Gatys did and as the PyTorch tutorial does.  What differs from the tutorial's loop
(which ``benchmarks/style.py`` runs as the reference at equal time):

* **centred statistics, normalised per layer**: each style layer's channel means and covariance (not the
  uncentred Gram matrix, which ReLU offsets dominate), each relative to its target's size, and content
  relative to the content activations' variance, so one set of weights suits the shipped feature net and
  a VGG file alike and no layer drowns the others;
* **a strong-Wolfe line search** in L-BFGS: without one, the tutorial's loop blew up on two of four pairs;
* **coarse to fine**: 60% of the time at half size, where an iteration costs a quarter, then refined at
  full size;
* a small total-variation term against the speckle pixel optimisation leaves behind.

Adam on the pixels (``optimiser="adam"``) was measured too: less progress per second than L-BFGS.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from artforge.generation.style_features import StyleFeatures, feature_stats

Progress = Callable[[int, int], None]  # (iterations done, iterations planned)


@dataclass
class StyleWeights:
    """How much each term counts (losses are normalised per layer, so these are comparable)."""

    style: float = 5.0
    content: float = 1.0
    tv: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class GatysConfig:
    """The optimisation method's settings."""

    size: int = 256  # long side of the result
    iterations: int = 200  # optimiser steps over all levels
    levels: int = 2  # 1 = full size only; 2 = half size first
    coarse_share: float = 0.6  # of the iterations (or the time budget) spent below full size
    time_budget: float | None = None  # seconds; stops early when spent
    optimiser: str = "lbfgs"  # "lbfgs" (with a strong-Wolfe line search) or "adam"
    adam_lr: float = 0.02
    weights: StyleWeights = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.weights is None:
            self.weights = StyleWeights()

    def to_dict(self) -> dict:
        return {**asdict(self), "weights": self.weights.to_dict()}


@dataclass
class StyleLosses:
    """The terms at one point (normalised; lower is closer)."""

    style: float
    content: float
    tv: float
    total: float

    def to_dict(self) -> dict:
        return {k: round(v, 6) for k, v in asdict(self).items()}


def resize_long_side(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) or (B, 3, H, W) -> the same with its long side ``size`` (aspect kept, antialiased)."""
    batch = image if image.dim() == 4 else image[None]
    h, w = batch.shape[-2:]
    scale = size / max(h, w)
    target = (max(1, round(h * scale)), max(1, round(w * scale)))
    if target != (h, w):
        batch = F.interpolate(batch, size=target, mode="bilinear", align_corners=False, antialias=scale < 1)
    return batch if image.dim() == 4 else batch[0]


class StyleObjective:
    """The loss for one content/style pair at one size: targets computed once, reused every iteration.

    Style: per style layer, the channels' means and covariance against the style picture's, each relative to
    the target's own mean square.  Content: the content layer's squared error relative to the content
    picture's activation variance (not its mean square, which the ReLU offset inflates).  Total variation:
    the mean absolute difference of neighbouring pixels."""

    def __init__(self, net: StyleFeatures, content: torch.Tensor, style: torch.Tensor, size: int,
                 weights: StyleWeights):
        self.net, self.weights = net, weights
        self.layers = set(net.style_layers) | {net.content_layer}
        self.content = resize_long_side(content, size)[None]  # (1, 3, H, W)
        with torch.no_grad():
            self.content_target = net(self.content, [net.content_layer])[net.content_layer]
            style_acts = net(resize_long_side(style, size)[None], net.style_layers)
            self.style_targets = {name: feature_stats(act) for name, act in style_acts.items()}

    @staticmethod
    def _relative(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(value, target.expand_as(value)) / target.pow(2).mean().clamp_min(1e-8)

    def losses(self, image: torch.Tensor, content_target: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, StyleLosses]:
        """(B, 3, H, W) -> (weighted total as a tensor, the terms as numbers).  ``content_target``: the
        content activations to match instead of the content picture's (training on other photographs)."""
        acts = self.net(image, self.layers)
        target = self.content_target if content_target is None else content_target
        content = (F.mse_loss(acts[self.net.content_layer], target)
                   / target.var(dim=(2, 3)).mean().clamp_min(1e-8))
        style = 0.0
        for name, (mean_goal, covariance_goal) in self.style_targets.items():
            mean, covariance = feature_stats(acts[name])
            style = style + self._relative(mean, mean_goal) + self._relative(covariance, covariance_goal)
        style = style / len(self.style_targets)
        tv = (image[..., 1:, :] - image[..., :-1, :]).abs().mean() + (image[..., 1:] - image[..., :-1]).abs().mean()
        w = self.weights
        total = w.style * style + w.content * content + w.tv * tv
        return total, StyleLosses(style.item(), content.item(), tv.item(), total.item())


def _level_sizes(size: int, levels: int) -> list[int]:
    return [max(32, size >> (levels - 1 - i)) for i in range(levels)]


LBFGS_INNER = 20  # iterations per L-BFGS step (torch's default): its history survives between steps


def _optimise(image: torch.Tensor, objective: StyleObjective, config: GatysConfig, iterations: int,
              deadline: float | None, done: int, planned: int, progress: Progress | None) -> int:
    """Run one level's iterations (or until ``deadline``) on ``image`` in place; returns iterations done."""
    lbfgs = config.optimiser == "lbfgs"
    optimiser = (torch.optim.LBFGS([image], lr=1.0, max_iter=LBFGS_INNER, line_search_fn="strong_wolfe") if lbfgs
                 else torch.optim.Adam([image], lr=config.adam_lr))

    def closure() -> torch.Tensor:
        with torch.no_grad():  # keep the pixels in range where the optimiser looks (as the tutorial does)
            image.clamp_(0, 1)
        optimiser.zero_grad(set_to_none=True)
        total, _ = objective.losses(image)
        total.backward()
        return total

    first = done
    while done - first < iterations and (deadline is None or time.perf_counter() < deadline):
        if lbfgs:  # never past the planned iterations
            optimiser.param_groups[0]["max_iter"] = min(LBFGS_INNER, iterations - (done - first))
        optimiser.step(closure)
        if lbfgs:
            inner = optimiser.state[image].get("n_iter", 0)
            if inner == done - first:  # converged: L-BFGS made no step
                break
            done = first + inner
        else:
            done += 1
        if progress:
            progress(min(done, planned), planned)
    return done


def stylize_by_optimisation(content: torch.Tensor, style: torch.Tensor, net: StyleFeatures, config: GatysConfig,
                            progress: Progress | None = None) -> tuple[torch.Tensor, StyleLosses, int]:
    """Content and style (3, H, W) in [0, 1] -> (the stylized (3, H', W') with long side ``config.size``, its
    losses at full size, the iterations run)."""
    started = time.perf_counter()
    sizes = _level_sizes(config.size, config.levels)
    coarse = len(sizes) - 1
    shares = [config.coarse_share / coarse] * coarse + [1 - config.coarse_share] if coarse else [1.0]
    plan = [max(1, round(config.iterations * share)) for share in shares]
    image = resize_long_side(content, sizes[0])[None].clone()
    done = 0
    for level, (size, iterations) in enumerate(zip(sizes, plan, strict=True)):
        if level:
            image = F.interpolate(image.detach(), size=resize_long_side(content, size).shape[-2:], mode="bilinear",
                                  align_corners=False)
        objective = StyleObjective(net, content, style, size, config.weights)
        image = image.detach().clamp(0, 1).requires_grad_(True)
        deadline = None if config.time_budget is None else started + config.time_budget * sum(shares[:level + 1])
        budget = iterations if deadline is None else 10**9  # with a time budget, time decides
        done = _optimise(image, objective, config, budget, deadline, done, sum(plan), progress)
    with torch.no_grad():
        image.clamp_(0, 1)
    # The losses at full size: the last level's objective when it ran at full size (its targets are computed).
    final = objective if sizes[-1] == config.size else StyleObjective(net, content, style, config.size, config.weights)
    with torch.no_grad():
        _, losses = final.losses(image.detach())
    return image.detach()[0], losses, done
