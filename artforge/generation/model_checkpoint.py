"""Self-describing, atomically written training checkpoints.

A checkpoint holds everything needed to sample from the model or to continue training exactly: the
model spec (family, architecture, condition), every network's weights (G, D, EMA or the VAE), both
optimisers, the step and data position, the RNG states, the training config and the dataset's
description and fingerprint.  It is written to a temporary file and renamed, so a crash never leaves a
truncated checkpoint, and read with ``torch.load(weights_only=True)``, which refuses pickled code.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from artforge.config import MAX_CHECKPOINT_BYTES
from artforge.errors import BadInput
from artforge.fsutil import atomic_write, read_regular_file

CHECKPOINT_FORMAT = "artforge.checkpoint/1"
CHECKPOINT_GLOB = "ckpt-*.pt"
# Small base models ship in the package (built by artforge.generation.base_models): `builtin:NAME`.
BUILTIN_PREFIX = "builtin:"
BASE_MODELS_DIR = Path(__file__).parent / "weights"


def builtin_models() -> list[str]:
    """The names of the base models that ship with artforge."""
    return sorted(p.stem.removeprefix("base-") for p in BASE_MODELS_DIR.glob("base-*.pt"))


def checkpoint_path(reference: str | Path) -> Path:
    """A checkpoint file: the path given, or the packaged base model ``builtin:NAME`` names."""
    text = str(reference)
    if not text.startswith(BUILTIN_PREFIX):
        return Path(reference)
    name = text[len(BUILTIN_PREFIX):]
    if name not in builtin_models():
        raise BadInput(f"no built-in model {name!r}: the built-in models are "
                       + ", ".join(BUILTIN_PREFIX + n for n in builtin_models()))
    return BASE_MODELS_DIR / f"base-{name}.pt"


@dataclass
class Checkpoint:
    """A loaded checkpoint and the SHA-256 of its file (the id provenance records cite)."""

    data: dict[str, Any]
    path: Path
    sha256: str

    @property
    def spec(self) -> dict:
        return self.data["spec"]

    @property
    def step(self) -> int:
        return int(self.data["step"])


def save_checkpoint(path: Path, data: dict[str, Any]) -> str:
    """Write ``data`` atomically; returns the file's SHA-256."""
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **data}, buffer)
    raw = buffer.getvalue()
    atomic_write(path, raw)
    return hashlib.sha256(raw).hexdigest()


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read and check a checkpoint (a file, or ``builtin:NAME``); :class:`BadInput` for missing, corrupt or
    foreign files."""
    path = checkpoint_path(path)
    try:
        missing, folder = not path.exists(), path.is_dir()
    except (OSError, ValueError):  # a name too long, or with a NUL: read_regular_file says so
        missing = folder = False
    if missing:
        raise BadInput(f"{path}: no such checkpoint")
    if folder:
        raise BadInput(f"{path}: is a folder; give a checkpoint file (or `resume=latest`)")
    raw = read_regular_file(path, MAX_CHECKPOINT_BYTES, "a checkpoint")  # not a FIFO or /dev/zero
    try:
        data = torch.load(io.BytesIO(raw), map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load on arbitrary bytes raises anything (struct.error, ...)
        raise _unreadable(path, raw, exc) from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise BadInput(f"{path}: not an artforge checkpoint (no '{CHECKPOINT_FORMAT}' marker)")
    for key in ("spec", "modules", "step"):
        if key not in data:
            raise BadInput(f"{path}: checkpoint is incomplete (no '{key}')")
    return Checkpoint(data=data, path=path, sha256=hashlib.sha256(raw).hexdigest())


def _unreadable(path: Path, raw: bytes, exc: Exception) -> BadInput:
    """What is wrong with a file torch cannot load, and what to do (torch's own text names zip internals)."""
    if not raw.startswith(b"PK\x03\x04"):  # every checkpoint torch.save writes is a zip archive
        return BadInput(f"{path}: not a checkpoint file (not the zip archive a PyTorch checkpoint is); give a "
                        f".pt file written by 'artforge train'")
    if isinstance(exc, pickle.UnpicklingError):  # weights_only refused a Python object: never run it
        return BadInput(f"{path}: not an artforge checkpoint (it holds Python objects, which artforge does not "
                        f"load: they could run code)")
    return BadInput(f"{path}: damaged or truncated checkpoint ({len(raw)} bytes whose archive does not read "
                    f"back, e.g. an interrupted copy): copy it again, or use another from the run's checkpoints/")


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:08d}.pt"


def latest_checkpoint(folder: Path) -> Path:
    """The newest ``ckpt-*.pt`` in a run folder (or its ``checkpoints/``)."""
    candidates = sorted((folder / "checkpoints").glob(CHECKPOINT_GLOB)) or sorted(folder.glob(CHECKPOINT_GLOB))
    if not candidates:
        raise BadInput(f"{folder}: no checkpoint to resume from")
    return candidates[-1]


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints."""
    for old in sorted(folder.glob(CHECKPOINT_GLOB))[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
