"""What ``artforge train`` can be told (:class:`TrainConfig`), and what a resumed run may change.

A run resumed from its checkpoint continues as it was trained: how long and where it runs (``RUN_CONTROL``)
come from the caller, everything else from the checkpoint, and a caller who asks for something else there
(other data, model, size, ...) is refused with every such option named, never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields

from artforge.errors import UsageError
from artforge.generation.recipes import OptimConfig

# How long and where a run goes: the caller's, also when resuming.
RUN_CONTROL = ("steps", "epochs", "time_budget", "out", "device", "sample_every", "checkpoint_every", "log_every",
               "keep_checkpoints")
# Each field that makes a run what it is, and the `artforge train` parameters that set it: the CLI finds
# which fields the user chose from it.  Messages name the fields (`image_size`); the CLI shows its options.
RUN_OPTIONS = {"model": ("model",), "data": ("data",), "image_size": ("size",), "channels": ("channels",),
               "batch_size": ("batch_size",), "seed": ("seed",), "data_limit": ("data_limit",),
               "condition": ("condition",), "model_options": ("width",), "optim": ("augment", "ema_decay", "lr"),
               "init": ("init",)}


@dataclass
class TrainConfig:
    """Everything ``artforge train`` can be told."""

    model: str = "dcgan"
    data: str = "builtin:digits"
    image_size: int = 32
    channels: int | None = None
    batch_size: int = 64
    steps: int | None = None
    epochs: float | None = None
    time_budget: float | None = None  # seconds of training in this invocation
    seed: int = 0
    device: str = "auto"
    out: str = "runs/latest"
    sample_every: int = 200
    checkpoint_every: int = 500
    log_every: int = 10
    keep_checkpoints: int = 3
    data_limit: int | None = None
    condition: str = "auto"  # cgan: "auto", "label" or "text"
    model_options: dict = field(default_factory=dict)  # architecture overrides, e.g. {"g_width": 32}
    init: str | None = None  # a trained checkpoint to fine-tune from (a new run, not a resumed one)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["optim"] = OptimConfig.from_dict(data.get("optim", {}))
        return cls(**values)


def parse_duration(text: str) -> float:
    """``"90s"``, ``"5m"``, ``"1.5h"`` or plain seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise UsageError(f"cannot read duration {text!r}: use e.g. 90s, 5m or 1h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def chosen_fields(config: TrainConfig) -> set[str]:
    """The fields a library caller chose: those that differ from :class:`TrainConfig`'s defaults."""
    defaults = TrainConfig()
    return {f.name for f in fields(TrainConfig) if getattr(config, f.name) != getattr(defaults, f.name)}


def refuse_resume_conflicts(saved: TrainConfig, config: TrainConfig, chosen: Collection[str]) -> None:
    """Raise :class:`UsageError` naming every chosen option that differs from the checkpoint's run."""
    conflicts = [name for name in RUN_OPTIONS if name in chosen and getattr(config, name) != getattr(saved, name)]
    if conflicts:
        shown = "; ".join(f"`{name}` (the checkpoint's: {_shown(getattr(saved, name))})" for name in conflicts)
        raise UsageError(f"`resume` continues a run as it was trained, and these differ from it: {shown}; "
                         "to start from this checkpoint on other data, use `init=CHECKPOINT` in a new run")


def _shown(value: object) -> str:
    if isinstance(value, OptimConfig):
        return f"augment {value.augment}, EMA {value.ema_decay}, lr {value.lr_g}"
    return "default" if value in (None, {}) else str(value)
