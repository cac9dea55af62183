"""The model-agnostic trainer: data order, stopping, sample grids, metrics, checkpoints, resume, DDP.

The trainer knows nothing about GANs or VAEs; a recipe (:mod:`artforge.generation.recipes`) does one optimisation
step on a batch.  Everything the trainer does is reproducible from the seed: the data order of epoch
``e`` is a permutation drawn from ``seed`` and ``e``, the noise and augmentations come from torch's
global generator, whose state is saved in every checkpoint, so ``--resume latest`` continues with the
same losses an uninterrupted run would have had (on the CPU).

Run folder::

    OUT/config.json            what was trained on what (model spec, training config, dataset)
    OUT/metrics.jsonl          one JSON line per logged step
    OUT/samples/step-N.png     grids from fixed noise
    OUT/checkpoints/ckpt-N.pt  the newest few checkpoints

Under ``torchrun`` (``WORLD_SIZE`` > 1) it trains with DistributedDataParallel: gloo on CPU, nccl on GPU;
every process takes its share of each batch, and only rank 0 writes files.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from artforge.errors import BadInput, Interrupted, UsageError
from artforge.fsutil import atomic_write
from artforge.generation.data import load_dataset, to_float
from artforge.generation.finetune import base_config, conditioned_like, lineage, load_base_weights
from artforge.generation.model_checkpoint import (
    checkpoint_name,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from artforge.generation.models.cgan import Condition
from artforge.generation.models.text import Vocabulary
from artforge.generation.recipes import Batch, ModelSpec, Recipe, build_recipe, spec_for
from artforge.generation.runtime import init_distributed, pick_device, set_seed
from artforge.generation.sampling import save_grid
from artforge.generation.train_config import RUN_CONTROL, TrainConfig, chosen_fields, refuse_resume_conflicts
from artforge.version import __version__

GRID_ROWS = 8


@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: str
    checkpoint: str
    checkpoint_sha256: str
    step: int
    epoch: int
    seconds: float
    images_per_second: float
    metrics: dict[str, float]
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)  # what the trainer chose for the user (e.g. a smaller batch)

    def to_dict(self) -> dict:
        return asdict(self)


class Callback:
    """Hooks the trainer calls on rank 0 (the CLI's progress bar is one)."""

    def on_start(self, trainer: "Trainer") -> None: ...
    def on_step(self, trainer: "Trainer", metrics: dict[str, float]) -> None: ...
    def on_sample(self, trainer: "Trainer", path: Path) -> None: ...
    def on_checkpoint(self, trainer: "Trainer", path: Path) -> None: ...
    def on_end(self, trainer: "Trainer", result: TrainResult) -> None: ...


class Trainer:
    """Drives a recipe over a dataset; see the module docstring.

    ``given`` names the :class:`TrainConfig` fields the caller chose (the CLI passes the options typed on the
    command line); without it, every field that differs from the default counts as chosen.
    """

    def __init__(self, config: TrainConfig, callbacks: list[Callback] | tuple = (), resume: str | None = None,
                 given: Collection[str] | None = None):
        config = replace(config)  # the trainer may fit the batch size: never edit the caller's object
        chosen = set(given) if given is not None else chosen_fields(config)
        self.config = config
        self.callbacks = list(callbacks)
        self.notes: list[str] = []
        self.run_dir = Path(config.out)
        device = pick_device(config.device)
        self.dist, self.device = init_distributed(device)
        checkpoint = self._find_resume(resume)
        if checkpoint is not None:  # the checkpoint's settings, and only how long and where to run from the caller
            saved = TrainConfig.from_dict(checkpoint.data["train_config"])
            refuse_resume_conflicts(saved, replace(config, optim=config.optim.for_family(saved.model)), chosen)
            for name in RUN_CONTROL:
                setattr(saved, name, getattr(config, name))
            self.config = config = saved
        base = None
        if config.init is not None and checkpoint is None:  # a new run that starts from a trained model
            base = load_checkpoint(config.init, map_location=self.device)
            self.config = config = base_config(config, base, chosen)
        config.optim = config.optim.for_family(config.model)  # stored resolved: a resumed run keeps its settings
        origin = checkpoint if checkpoint is not None else base  # what the architecture comes from, if anything
        if config.batch_size % self.dist.world:
            raise UsageError(f"batch size {config.batch_size} does not divide over {self.dist.world} processes")
        set_seed(config.seed)
        self.dataset = load_dataset(config.data, config.image_size, config.channels, config.data_limit)
        if config.init is not None:
            self.dataset = conditioned_like(self.dataset, origin)
        if len(self.dataset) < config.batch_size:
            self._fit_batch(len(self.dataset), "batch_size" in chosen and checkpoint is None)
        self.vocabulary = self._vocabulary(origin)
        info = self.dataset.describe()
        spec = (ModelSpec(**origin.spec) if origin else
                spec_for(config.model, info, vocabulary=self.vocabulary.words if self.vocabulary else None,
                         overrides=config.model_options, condition=config.condition,
                         role_words={r: sorted(w) for r, w in self.vocabulary.role_words.items()}
                         if self.vocabulary else None))
        self.recipe: Recipe = build_recipe(spec, config.optim, self.device, len(self.dataset))
        self.tokens = (self.vocabulary.batch(self.dataset.captions, strict=True)
                       if self.vocabulary is not None and self.dataset.captions else None)
        self.steps_per_epoch = len(self.dataset) // config.batch_size
        self.step = 0
        self._prior_step = -1  # the step the sampling prior was last fitted at (models that have one)
        self.epoch = 0
        self.position = 0  # batches already taken from the current epoch
        self.metrics: dict[str, float] = {}
        self.checkpoint_sha256 = ""
        self.parent = lineage(base) if base is not None else (checkpoint.data.get("parent") if checkpoint else None)
        if base is not None:
            load_base_weights(self.recipe, base)
        if checkpoint is not None:
            self._restore(checkpoint)
            if config.init is not None and hasattr(self.recipe, "freeze_lower_discriminator"):
                self.recipe.freeze_lower_discriminator()  # as the run began
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.recipe.distribute(lambda module: DistributedDataParallel(module, device_ids=ids))
            torch.manual_seed(config.seed * 1000 + self.dist.rank + self.step)  # different noise per process
        self._fixed = self._fixed_inputs()
        self._stop_requested = False

    # -- setup ---------------------------------------------------------------------------------------
    def _fit_batch(self, images: int, asked: bool) -> None:
        """A folder smaller than the batch trains in batches of all its images (or as many as divide over
        the processes); a batch size the user asked for is never changed behind their back."""
        world = self.dist.world
        fitted = images - images % world
        if asked or fitted < 2:
            raise BadInput(f"{self.config.data}: {images} images, fewer than one batch of {self.config.batch_size}"
                           + (f": give `batch_size` {fitted} or less" if fitted >= 2 else ""))
        self.notes.append(f"{self.config.data} has {images} images, fewer than a batch of {self.config.batch_size}: "
                          f"training in batches of {fitted}")
        self.config.batch_size = fitted

    def _find_resume(self, resume: str | None):
        if resume is None:
            return None
        path = latest_checkpoint(self.run_dir) if resume == "latest" else Path(resume)
        checkpoint = load_checkpoint(path, map_location=self.device)
        if "train_config" not in checkpoint.data or "optimizers" not in checkpoint.data:
            raise BadInput(f"{path}: checkpoint has no training state to resume; start a new run from it with `init`")
        return checkpoint

    def _vocabulary(self, checkpoint) -> Vocabulary | None:
        if checkpoint is not None:
            return Condition.from_dict(checkpoint.spec["condition"]).make_vocabulary()
        if self.config.model == "cgan" and self.dataset.captions and self.config.condition != "label":
            slots = self.config.model_options.get("encoder", "slots") == "slots"
            return Vocabulary.from_captions(self.dataset.captions, slots=slots)
        return None

    def _fixed_inputs(self) -> dict[str, Any]:
        generator = torch.Generator().manual_seed(self.config.seed + 7919)
        count = GRID_ROWS * GRID_ROWS
        fixed: dict[str, Any] = {"z": torch.randn(count, self.recipe.z_dim, generator=generator)}
        mode = self.recipe.condition.mode
        if mode == "label":
            fixed["cond"] = torch.arange(count) // GRID_ROWS % self.recipe.condition.num_classes
        elif mode == "text":
            rows = sorted(set(self.dataset.captions))[:: max(1, len(set(self.dataset.captions)) // GRID_ROWS)]
            rows = (rows * GRID_ROWS)[:GRID_ROWS]
            fixed["cond"] = self.vocabulary.batch([rows[i // GRID_ROWS] for i in range(count)])
        fixed["real"] = to_float(self.dataset.images[:GRID_ROWS])
        return fixed

    # -- checkpoints ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "spec": self.recipe.spec.to_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "modules": {name: m.state_dict() for name, m in self.recipe.modules().items()},
            "optimizers": {name: o.state_dict() for name, o in self.recipe.optimizers().items()},
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "train_config": self.config.to_dict(),
            "dataset": self.dataset.describe(),
            "parent": self.parent,
            "metrics": self.metrics,
            "software": {"artforge": __version__, "torch": str(torch.__version__)},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def _restore(self, checkpoint) -> None:
        data = checkpoint.data
        if data["dataset"]["fingerprint"] != self.dataset.fingerprint:
            raise BadInput(f"{checkpoint.path}: trained on other data than {self.config.data} (fingerprints differ)")
        for name, module in self.recipe.modules().items():
            module.load_state_dict(data["modules"][name])
        for name, optimizer in self.recipe.optimizers().items():
            optimizer.load_state_dict(data["optimizers"][name])
        self.step = self.recipe.step = int(data["step"])
        self.epoch, self.position = int(data["epoch"]), int(data["position"])
        self.metrics = dict(data.get("metrics", {}))
        torch.set_rng_state(data["rng"]["torch"].cpu())
        if data["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(data["rng"]["cuda"])
        self._trim_metrics(self.step)

    def save(self) -> Path:
        """Write a checkpoint of the current state (rank 0 only); returns its path."""
        self._fit_prior()
        folder = self.run_dir / "checkpoints"
        path = folder / checkpoint_name(self.step)
        self.checkpoint_sha256 = save_checkpoint(path, self.state())
        prune_checkpoints(folder, self.config.keep_checkpoints)
        for callback in self.callbacks:
            callback.on_checkpoint(self, path)
        return path

    # -- files ---------------------------------------------------------------------------------------
    def _trim_metrics(self, step: int) -> None:
        path = self.run_dir / "metrics.jsonl"
        if not path.exists():
            return
        kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        atomic_write(path, ("\n".join(kept) + "\n" if kept else "").encode())

    def _log(self, row: dict) -> None:
        with (self.run_dir / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps(row) + "\n")

    def _fit_prior(self) -> None:
        """Models with a learned sampling prior (the VAE) fit it to the data before they are sampled or saved,
        once per step (the end of a run writes samples and a checkpoint at the same step)."""
        if hasattr(self.recipe, "fit_prior") and self._prior_step != self.step:
            self.recipe.fit_prior(self.dataset.images)
            self._prior_step = self.step

    def write_samples(self) -> Path:
        self._fit_prior()
        images = self.recipe.generate(self._fixed["z"], self._fixed.get("cond"))
        if hasattr(self.recipe, "reconstruct"):  # VAE: first rows are data, then its reconstructions
            real = self._fixed["real"]
            images = torch.cat([real.to(images.device), self.recipe.reconstruct(real), images])[: len(images)]
        path = self.run_dir / "samples" / f"step-{self.step:08d}.png"
        save_grid(images, path, GRID_ROWS)
        for callback in self.callbacks:
            callback.on_sample(self, path)
        return path

    # -- the loop ------------------------------------------------------------------------------------
    def total_steps(self) -> int | None:
        """Absolute step at which training stops (None when only a time budget is set)."""
        if self.config.steps is not None:
            return self.config.steps
        if self.config.epochs is not None:
            return math.ceil(self.config.epochs * self.steps_per_epoch)
        return None if self.config.time_budget is not None else 1000

    def _batches(self):
        size = self.config.batch_size
        while True:
            order = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(
                self.config.seed * 100_003 + self.epoch))
            while self.position < self.steps_per_epoch:
                index = order[self.position * size:(self.position + 1) * size][self.dist.rank::self.dist.world]
                self.position += 1
                images = to_float(self.dataset.images[index]).to(self.device)
                labels = None if self.dataset.labels is None else self.dataset.labels[index].to(self.device)
                tokens = None if self.tokens is None else self.tokens[index].to(self.device)
                yield Batch(images, labels, tokens)
            self.epoch += 1
            self.position = 0

    def _on_sigint(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self._stop_requested = True

    def fit(self) -> TrainResult:
        """Train until the step, epoch or time limit; returns where the final checkpoint is."""
        config, main = self.config, self.dist.main
        total = self.total_steps()
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(self.run_dir / "config.json", json.dumps(
                {"spec": self.recipe.spec.to_dict(), "train": config.to_dict(), "dataset": self.dataset.describe(),
                 "parent": self.parent},
                indent=2).encode())
            for callback in self.callbacks:
                callback.on_start(self)
        previous = signal.signal(signal.SIGINT, self._on_sigint) if _in_main_thread() else None
        started = time.perf_counter()
        first_step = self.step  # a resumed run counts only its own steps
        window_start, window_images = started, 0
        interrupted = False
        losses: dict[str, torch.Tensor] = {}
        try:
            batches = self._batches()
            while total is None or self.step < total:
                if config.time_budget is not None and time.perf_counter() - started >= config.time_budget:
                    break
                batch = next(batches)
                losses = self.recipe.train_step(batch)
                self.step += 1
                window_images += config.batch_size
                if main and (self.step % config.log_every == 0 or self.step == total):
                    now = time.perf_counter()
                    self.metrics = _floats(losses)  # the loop's only host sync, on log steps
                    self.metrics["images_per_second"] = window_images / max(now - window_start, 1e-9)
                    window_start, window_images = now, 0
                    self._log({"step": self.step, "epoch": self.epoch, "elapsed": round(now - started, 3),
                               **self.metrics})
                if main:
                    for callback in self.callbacks:
                        callback.on_step(self, self.metrics)
                    if self.step % config.sample_every == 0:
                        self.write_samples()
                    if self.step % config.checkpoint_every == 0:
                        self.save()
                if self._stop_requested:
                    interrupted = True
                    break
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        seconds = time.perf_counter() - started
        if losses:  # the last step's losses, also when it fell between log steps
            self.metrics = {**self.metrics, **_floats(losses)}
        path = Path()
        if main:
            self.write_samples()
            path = self.save()
        if self.dist.world > 1:
            import torch.distributed as dist

            dist.barrier()
        result = TrainResult(
            run_dir=str(self.run_dir), checkpoint=str(path), checkpoint_sha256=self.checkpoint_sha256,
            step=self.step, epoch=self.epoch, seconds=round(seconds, 3),
            # over the whole run: the last log window's rate is absent when the run ends between log steps
            images_per_second=round((self.step - first_step) * config.batch_size / max(seconds, 1e-9), 2),
            metrics={k: round(v, 5) for k, v in self.metrics.items()}, interrupted=interrupted,
            notes=list(self.notes),
        )
        if main:
            for callback in self.callbacks:
                callback.on_end(self, result)
        if interrupted:
            raise Interrupted(f"interrupted at step {self.step}; checkpoint saved to {path}")
        return result


def _floats(losses: dict[str, torch.Tensor]) -> dict[str, float]:
    return {name: float(value) for name, value in losses.items()}


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def train(config: TrainConfig, callbacks: list[Callback] | tuple = (), resume: str | None = None,
          given: Collection[str] | None = None) -> TrainResult:
    """Train a model (``artforge train``); see :class:`Trainer`."""
    return Trainer(config, callbacks, resume, given).fit()
