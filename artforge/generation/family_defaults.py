"""The training defaults of each model family, chosen from the lever ablation (``benchmarks/gan_levers.py``;
the tables and the commands that give them are in docs/training.md).

A setting the caller leaves at ``None`` in :class:`~artforge.generation.recipe_parts.OptimConfig`, or an
architecture option not given, takes its family's value here; anything chosen explicitly wins.  Saved runs keep
the values they trained with (their configs are stored resolved), so changing a default here never changes an
existing checkpoint or a resumed run.
"""

from __future__ import annotations

# What a family not named below trains with (and what every run before the ablation trained with).
BASE_OPTIM = {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "loss": "ns", "mode_seeking": 0.0}

FAMILY_OPTIM: dict[str, dict] = {
    # digits, 60 s: hinge + lr 4e-4 + Adam(0, 0.99) at width 16: FD 0.70x width 16 alone, which is 0.59x width 64
    "dcgan": {"lr_g": 4e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.99, "loss": "hinge"},
    # shapes, 60 s: the same, plus mode seeking, without which each prompt gets one picture (recall 0)
    "cgan": {"lr_g": 4e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.99, "loss": "hinge", "mode_seeking": 1.0},
    # digits at 28 px, 45 s: FD 0.56x / 0.35x (nets A / B) the Keras example's settings
    "mlpgan": {"lr_g": 4e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.99, "loss": "hinge"},
    # digits, 45 s: FD 1.01x / 0.81x, recall up; the VAE recipe scales lr_g by 5 (an effective 2e-3)
    "vae": {"lr_g": 4e-4},
}

# Architecture options per family, for images up to ARCH_MAX_SIZE px (larger images keep the networks' own
# defaults: the ablation measured 32 px).
ARCH_MAX_SIZE = 32
FAMILY_ARCH: dict[str, dict] = {
    "dcgan": {"g_width": 16, "d_width": 16},
    "cgan": {"g_width": 16, "d_width": 16},
}


def optim_defaults(family: str) -> dict:
    """Every family-dependent optimisation setting for ``family``."""
    return {**BASE_OPTIM, **FAMILY_OPTIM.get(family, {})}


def arch_defaults(family: str, image_size: int) -> dict:
    """The family's architecture options at ``image_size`` (empty: the network's own defaults)."""
    return dict(FAMILY_ARCH.get(family, {})) if image_size <= ARCH_MAX_SIZE else {}
