"""The small base models that ship with artforge, and the script that builds them.

``artforge generate builtin:dcgan-digits`` and ``artforge train --init builtin:cgan-shapes --data my_art/``
work out of the box: these checkpoints are trained here, on the built-in data, by::

    python -m artforge.generation.base_models build          # all of them (a few minutes on a laptop CPU)
    python -m artforge.generation.base_models build --only dcgan-digits --steps 200

A shipped checkpoint keeps what sampling and fine-tuning need (the EMA generator and the discriminator, in
fp16), not the optimiser state, and names how it was made.  Each build is recorded in
``weights/base-models.json``: the command, the training config, steps, seconds, final losses, the software
versions and the file's SHA-256 (what the records of generated works cite).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from artforge.fsutil import atomic_write
from artforge.generation.model_checkpoint import BASE_MODELS_DIR, load_checkpoint, save_checkpoint
from artforge.generation.recipes import OptimConfig
from artforge.generation.train_config import TrainConfig
from artforge.generation.training import train
from artforge.version import __version__

RECORD_FILE = BASE_MODELS_DIR / "base-models.json"
KEPT_MODULES = ("g_ema", "d", "vae")  # sampling uses the EMA generator; fine-tuning starts D from the base


@dataclass(frozen=True)
class BaseRecipe:
    """How one base model is trained."""

    model: str
    data: str
    image_size: int
    steps: int
    model_options: dict = field(default_factory=dict)
    condition: str = "auto"
    batch_size: int = 64

    def config(self, out: Path, steps: int | None = None) -> TrainConfig:
        return TrainConfig(model=self.model, data=self.data, image_size=self.image_size, batch_size=self.batch_size,
                           steps=steps or self.steps, seed=0, device="cpu", out=str(out), sample_every=10**9,
                           checkpoint_every=10**9, log_every=50, condition=self.condition,
                           model_options=dict(self.model_options), optim=OptimConfig())


BASES = {
    "dcgan-digits": BaseRecipe("dcgan", "builtin:digits", 32, 2000, {"g_width": 32, "d_width": 32}),
    # With mode seeking (the cgan default since issue 19) longer runs no longer collapse: docs/prompts.md
    "cgan-shapes": BaseRecipe("cgan", "builtin:shapes", 32, 1500, {"g_width": 32, "d_width": 32}, "text"),
}


def slim(data: dict, name: str) -> dict:
    """A trained checkpoint as it ships: sampling and fine-tuning weights in fp16, no optimiser state."""
    modules = {key: {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
               for key, state in data["modules"].items() if key in KEPT_MODULES}
    kept = {key: data[key] for key in ("spec", "step", "epoch", "position", "train_config", "dataset", "software",
                                       "created_at") if key in data}
    return {**kept, "modules": modules, "parent": None,
            "base_model": {"name": name, "built_by": f"python -m artforge.generation.base_models build --only {name}"}}


def build(names: list[str], steps: int | None = None) -> list[dict]:
    """Train each named base model, write its slim checkpoint into the package and record the run."""
    records = json.loads(RECORD_FILE.read_text()) if RECORD_FILE.exists() else {}
    made = []
    for name in names:
        recipe = BASES[name]
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = train(recipe.config(Path(tmp) / name, steps))
            seconds = time.perf_counter() - started
            trained = load_checkpoint(result.checkpoint)
        path = BASE_MODELS_DIR / f"base-{name}.pt"
        sha256 = save_checkpoint(path, slim(trained.data, name))
        record = {"name": name, "file": path.name, "sha256": sha256, "bytes": path.stat().st_size,
                  "command": f"python -m artforge.generation.base_models build --only {name}"
                             + (f" --steps {steps}" if steps else ""),
                  "train_config": recipe.config(Path("runs") / name, steps).to_dict(), "step": result.step,
                  "seconds": round(seconds, 1), "final_losses": result.metrics,
                  "software": {"artforge": __version__, "torch": str(torch.__version__),
                               "python": platform.python_version()},
                  "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        records[name] = record
        atomic_write(RECORD_FILE, (json.dumps(records, indent=2, sort_keys=True) + "\n").encode())
        made.append(record)
        print(f"{name}: {result.step} steps in {seconds:.0f} s, {record['bytes'] / 1e6:.2f} MB, sha256 {sha256[:12]}",
              flush=True)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the base models that ship with artforge.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="(re)train and write the shipped base models")
    build_parser.add_argument("--only", choices=sorted(BASES), action="append", help="Build only this one.")
    build_parser.add_argument("--steps", type=int, help="Override the training steps (for a quick check).")
    args = parser.parse_args(argv)
    build(args.only or sorted(BASES), args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
