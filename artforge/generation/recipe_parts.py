"""What every training recipe shares: the optimisation settings, the model spec, a batch, bf16 autocast, Adam.

Kept apart from the recipes (:mod:`artforge.generation.recipes` for the GANs, :mod:`artforge.generation.vae_recipe`)
so each family's step lives in its own module and none imports another's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from artforge.errors import UsageError
from artforge.generation.family_defaults import BASE_OPTIM, optim_defaults
from artforge.generation.models.cgan import Condition


@dataclass
class OptimConfig:
    """Optimisation settings shared by the families; ``None`` takes the family's default (:meth:`for_family`)."""

    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    ema_decay: float = 0.999  # 0 disables the EMA generator; with ema_rampup, the cap on the decay
    ema_rampup: float = 0.0  # >0: the EMA half-life is at most this fraction of the images seen (gan_levers)
    loss: str | None = None  # GAN loss: "ns" (non-saturating logistic) or "hinge"
    r1_gamma: float = 0.0  # R1 penalty weight on real images; 0 = off
    r1_every: int = 16  # lazy R1: every this many steps, scaled up to match
    mode_seeking: float | None = None  # >0: weight of the mode-seeking term (MSGAN) against one picture per condition
    augment: str = "auto"  # "auto", "none", or a DiffAugment policy such as "color,translation,cutout"
    fused: bool = True  # fused Adam kernels (measured in benchmarks/train_speed.py)
    channels_last: bool = True
    amp: str = "auto"  # "auto" (bf16 where the hardware has it), "bf16" or "off"
    freeze_d: bool = True  # skip D's weight gradients in the G step
    word_weight: float = 1.0  # the word head's loss (prompt models with aux_dim), in D on reals and in G

    def to_dict(self) -> dict:
        return asdict(self)

    def for_family(self, family: str) -> "OptimConfig":
        """This config with every setting left at ``None`` taken from ``family``'s defaults."""
        chosen = {k: v for k, v in asdict(self).items() if v is not None}
        return OptimConfig(**{**optim_defaults(family), **chosen})

    @classmethod
    def from_dict(cls, data: dict) -> "OptimConfig":
        """A saved config; settings it predates take the value its run had (:data:`LEGACY_OPTIM`)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "loss" not in known and known.get("augment") == "auto":
            known["augment"] = "auto-v1"  # the DiffAugment rule these runs trained with
        return cls(**{**LEGACY_OPTIM, **known})


# Settings added after checkpoints already existed, with the value those runs trained with: a resumed old run
# goes on as it was trained, whatever today's defaults are.
LEGACY_OPTIM = {**BASE_OPTIM, "ema_rampup": 0.0, "r1_gamma": 0.0, "r1_every": 16}


@dataclass
class ModelSpec:
    """A model family, its architecture and what it is conditioned on."""

    family: str
    config: dict
    condition: dict = field(default_factory=lambda: Condition().to_dict())

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Batch:
    """One training batch: images (B, C, H, W) in [-1, 1] and the condition inputs, if any."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    tokens: torch.Tensor | None = None


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where it is native (AVX-512 BF16 / AMX CPUs, Ampere+ GPUs): 1.5x on such a CPU
    (benchmarks/train_speed.py) at unchanged quality (measured then by the quality benchmark that benchmarks/quality_curve.py replaced); off elsewhere."""
    if amp == "off":
        return None
    if amp not in ("auto", "bf16"):
        raise UsageError(f"unknown `amp` {amp!r}: use auto, bf16 or off")
    if device.type == "cpu":
        # oneDNN also reports bf16 on AVX-512 CPUs that only emulate it, where it runs 2x slower than
        # fp32 (measured); only AVX-512 BF16 or AMX count.  These checks are private torch APIs.
        native = torch.ops.mkldnn._is_mkldnn_bf16_supported() and (
            getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    elif device.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    else:
        native = False
    return torch.bfloat16 if native or amp == "bf16" else None


def make_adam(params, lr: float, optim: OptimConfig, device: torch.device) -> torch.optim.Optimizer:
    """Adam with the config's betas; fused kernels where the device has them."""
    fused = optim.fused and device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=(optim.beta1, optim.beta2), fused=fused or None)
