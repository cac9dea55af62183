"""DCGAN training speed: artforge's trainer vs the pytorch/examples reference loop, and what each setting costs.

What runs (same process, same data, same batch, same architecture widths, same torch threads):

* ``reference``: :class:`reference_dcgan.ReferenceDCGAN`, a faithful copy of pytorch/examples
  ``dcgan/main.py`` (BatchNorm in G and D, Sigmoid + ``nn.BCELoss``, plain Adam, D on real and on fake in two
  forward/backward passes, G step through D again) on ``load_dataset(--data, --size)`` images.
* ``artforge`` and its variants: the real user path, :class:`artforge.generation.training.Trainer` ``.fit()``
  (its batch pipeline, the recipe's ``train_step``, the metrics log every 10 steps), with
  ``sample_every`` / ``checkpoint_every`` set out of reach so sample grids and checkpoints do not land in the
  timed loop.  Each ``fit()`` call trains the next ``--steps`` steps; the time is the trainer's own loop time
  (``TrainResult.seconds``, which excludes the final sample grid and checkpoint ``fit()`` writes).

Variants are artforge's defaults (spectral-norm D, EMA 0.999, DiffAugment "color,translation,cutout"
because builtin:digits has < 5000 images, fused Adam, channels-last, and, where this checkout's
``OptimConfig`` has them, its ``amp`` and ``freeze_d`` settings) with toggles applied, joined with ``+``
(``bf16+compile``); the default set flips each default on its own, whichever way it is set:

  no-cl        ``OptimConfig(channels_last=False)``
  no-fused     ``OptimConfig(fused=False)``
  bn-d         ``model_options={"spectral_norm": False}`` (the reference's BatchNorm D)
  no-augment   ``OptimConfig(augment="none")``
  no-ema       ``OptimConfig(ema_decay=0)``
  split-d      D sees real and fake in two forward/backward passes (as the reference) instead of one
               concatenated batch (a variant ``train_step``, below)
  bf16 / fp32  ``torch.autocast("cpu", dtype=torch.bfloat16)`` around the G and D forward passes, losses in
               float32 / no autocast: ``OptimConfig(amp="bf16" / "off")`` where that setting exists, else
               (bf16 only) a variant ``train_step``
  freeze-d / no-freeze-d  D's parameters stop requiring grad during the G step (its weight gradients there
               are thrown away by the next ``opt_d.zero_grad`` anyway): ``OptimConfig(freeze_d=...)`` where
               that setting exists, else (freeze-d only) a variant ``train_step``
  fast-translate  DiffAugment's translation as one ``torch.gather`` (same random draws, bit-identical
               images; a variant ``train_step``), see :func:`translation_gather`
  compile      ``torch.compile(dynamic=False)`` of G and D, installed as the recipe's ``g_train`` /
               ``d_train`` (the slots DDP uses), so checkpoints keep the plain modules
  plain        bn-d + no-augment + no-ema: the reference's networks and work, in artforge's loop

The variant ``train_step`` is a line-for-line copy of ``GANRecipe.train_step`` with the toggles as
switches; at start-up the script checks over 3 steps that with all switches off, with ``fast-translate`` and
with ``freeze-d`` it gives bit-identical losses and D outputs to the real one (and, where artforge has
``amp`` / ``freeze_d``, that those match the variant step's), ``--skip-check`` to skip.

Timing: ``--warmup`` steps first (the first step timed on its own: it carries torch.compile's compilation),
then ``--rounds`` interleaved rounds of ``--steps`` steps of every variant (the order rotates each round),
so a burst of load from other processes hits every variant alike.  Reported: best and median (over rounds)
steps/s, images/s, the 25th percentile of single-step times (a ``Callback`` stamps every step inside
``fit()``), and the ratio to the reference three ways (best/best, median of per-round ratios, p25/p25), plus
the first step's time (torch.compile's compilation, with a fresh inductor cache by default).  A second table
times one sample grid (64 images): the reference's ``netG(fixed_noise)`` (train mode, autograd on), artforge's
``recipe.generate`` (EMA G, eval, ``no_grad``), the same under ``torch.inference_mode``, and the trainer's
whole ``write_samples`` (with the PNG).

Run from the repository root:

    .venv/bin/python benchmarks/train_speed.py                        # default set, ~3 min on 2 idle cores
    .venv/bin/python benchmarks/train_speed.py --variants reference,artforge,bf16 --rounds 5 --steps 30

Results are printed and written as JSON (default ``benchmarks/results/train_speed.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, environment, percentile, print_table, save_results  # noqa: E402
from reference_dcgan import ReferenceDCGAN  # noqa: E402

from artforge.generation.augment import _OPS as augment_ops  # noqa: E402
from artforge.generation.augment import diff_augment as plain_diff_augment  # noqa: E402
from artforge.generation.data import load_dataset  # noqa: E402
from artforge.generation.recipes import Batch, GANRecipe, OptimConfig  # noqa: E402
from artforge.generation.training import Callback, TrainConfig, Trainer  # noqa: E402

TOGGLES = {
    "no-cl": "channels_last off",
    "no-fused": "fused Adam off (foreach)",
    "bn-d": "BatchNorm D instead of spectral norm",
    "no-augment": "DiffAugment off",
    "no-ema": "EMA generator off",
    "split-d": "D real/fake in 2 passes, not 1 concatenated batch",
    "bf16": "bf16 autocast around the forwards",
    "fp32": "no autocast (float32 throughout)",
    "freeze-d": "D params requires_grad off during the G step",
    "no-freeze-d": "D weight grads computed in the G step too",
    "compile": "torch.compile G and D",
    "fast-translate": "DiffAugment translation by gather (bit-identical)",
    "plain": "bn-d + no-augment + no-ema (the reference's work)",
}
ALIASES = {"plain": ("bn-d", "no-augment", "no-ema")}
OPPOSITE = {"bf16": "fp32", "fp32": "bf16", "freeze-d": "no-freeze-d", "no-freeze-d": "freeze-d"}
# Whether this checkout's OptimConfig has the settings itself (then the real code path is measured);
# without them, bf16 and freeze-d are measured through the variant train step below.
HAS_AMP = "amp" in OptimConfig.__dataclass_fields__
HAS_FREEZE_D = "freeze_d" in OptimConfig.__dataclass_fields__


def default_amp() -> bool:
    """Whether artforge's defaults train under bf16 autocast on this CPU."""
    if not HAS_AMP:
        return False
    from artforge.generation import recipes

    return recipes.autocast_dtype(OptimConfig().amp, torch.device("cpu")) is not None


def default_freeze_d() -> bool:
    return HAS_FREEZE_D and bool(OptimConfig().freeze_d)


def default_variants() -> tuple[str, ...]:
    """Every default flipped on its own, whichever way this checkout's defaults are set."""
    amp = "fp32" if default_amp() else "bf16"
    freeze = "no-freeze-d" if default_freeze_d() else "freeze-d"
    return ("reference", "artforge", "no-cl", "no-fused", "bn-d", "no-augment", "no-ema", "split-d",
            "fast-translate", freeze, amp, "compile", "plain", f"{amp}+{freeze}", f"{amp}+{freeze}+compile")


NEVER = 10 ** 12  # sample / checkpoint interval that the timed loop never reaches
NAN = float("nan")


def _round(value: float, digits: int) -> float | None:
    return None if value != value else round(value, digits)  # NaN -> None (JSON null)


# -- the variant train step ----------------------------------------------------------------------------
def translation_gather(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """``artforge.generation.augment._translation`` with the same random draws and bit-identical output, as one
    ``torch.gather`` over the flattened zero-padded image instead of advanced indexing on a permuted copy
    (backward: ``scatter_add`` instead of ``index_put_(accumulate=True)``); about 0.4 ms instead of 1.3-1.6 ms
    forward + backward for 128 1x32x32 images on 2 cores, i.e. about 1% of a training step."""
    b, c, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    gy = torch.clamp(torch.arange(h, device=x.device)[None, :, None] + dy + 1, 0, h + 1)  # (b, h, 1)
    gx = torch.clamp(torch.arange(w, device=x.device)[None, None, :] + dx + 1, 0, w + 1)  # (b, 1, w)
    index = (gy * (w + 2) + gx).view(b, 1, h * w).expand(b, c, h * w)
    padded = F.pad(x, (1, 1, 1, 1)).reshape(b, c, (h + 2) * (w + 2))
    return padded.gather(2, index).view(b, c, h, w)


def fast_diff_augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """``diff_augment`` with :func:`translation_gather` for ``translation``."""
    for name in policy:
        x = translation_gather(x) if name == "translation" else augment_ops[name](x)
    return x


def variant_train_step(self: GANRecipe, batch: Batch, *, bf16: bool = False, split_d: bool = False,
                       freeze_d: bool = False, fast_translate: bool = False) -> dict[str, float]:
    """``GANRecipe.train_step`` (artforge/generation/recipes.py) line for line, with four switches.

    With every switch off it is the same computation in the same order (checked by :func:`check_copy`).
    Where the recipe has its own ``amp_dtype`` / ``freeze_d`` settings (newer artforge), they are honoured
    too, so ``split-d`` and ``fast-translate`` are measured on top of whatever the defaults are.
    """
    amp_dtype = torch.bfloat16 if bf16 else getattr(self, "amp_dtype", None)
    freeze_d = freeze_d or bool(getattr(self, "freeze_d", False))
    amp = ((lambda: torch.autocast(self.device.type, dtype=amp_dtype)) if amp_dtype is not None
           else contextlib.nullcontext)
    diff_augment = fast_diff_augment if fast_translate else plain_diff_augment
    real = batch.images.contiguous(memory_format=self.memory_format)
    cond = self.cond_input(batch)
    size = real.size(0)
    z = torch.randn(size, self.config.z_dim, device=self.device)
    with amp():
        fake = self.g_train(z, cond)

    self.opt_d.zero_grad(set_to_none=True)
    if split_d:  # the reference's way: real, then fake, each its own forward and backward
        with amp():
            logits_real = self.d_train(diff_augment(real, self.policy), cond).float()
        loss_real = F.softplus(-logits_real).mean()
        loss_real.backward()
        with amp():
            logits_fake = self.d_train(diff_augment(fake.detach(), self.policy), cond).float()
        loss_fake = F.softplus(logits_fake).mean()
        loss_fake.backward()
        loss_d = loss_real.detach() + loss_fake.detach()
        logits = torch.cat([logits_real.detach(), logits_fake.detach()])
    else:  # artforge: one concatenated batch
        both = diff_augment(torch.cat([real, fake.detach()]), self.policy)
        with amp():
            logits = self.d_train(both, None if cond is None else torch.cat([cond, cond])).float()
        loss_d = F.softplus(-logits[:size]).mean() + F.softplus(logits[size:]).mean()
        loss_d.backward()
    self.opt_d.step()

    if freeze_d:
        self.d.requires_grad_(False)
    with amp():
        logits_g = self.d_train(diff_augment(fake, self.policy), cond).float()
    loss_g = F.softplus(-logits_g).mean()
    self.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    if freeze_d:
        self.d.requires_grad_(True)
    self.opt_g.step()
    self._update_ema()
    self.step += 1
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
            "d_real": logits[:size].detach().mean(), "d_fake": logits[size:].detach().mean()}


def check_copy(args: argparse.Namespace) -> dict[str, bool]:
    """3 steps from the same seed, compared bit for bit (losses and D outputs) with ``GANRecipe.train_step``
    run with bf16 and freeze-d off: the variant step with every switch off, with ``fast_translate`` and with
    ``freeze_d``; where artforge has the settings itself, also its own ``freeze_d=True`` and (against the
    variant step's ``bf16``) its own ``amp="bf16"``."""
    off = ("fp32", "no-freeze-d")
    cases: list[tuple[str, tuple[str, ...], dict | None]] = [
        ("train_step", off, None), ("variant_step", off, {}), ("fast_translate", off, {"fast_translate": True}),
        ("freeze_d", off, {"freeze_d": True})]
    if HAS_FREEZE_D:
        cases.append(("artforge_freeze_d", ("fp32", "freeze-d"), None))
    if HAS_AMP:
        cases += [("bf16_variant", off, {"bf16": True}), ("artforge_bf16", ("bf16", "no-freeze-d"), None)]
    results = {}
    with tempfile.TemporaryDirectory(prefix="artforge-check-") as tmp:
        for label, toggles, switches in cases:
            trainer = make_trainer(args, toggles, Path(tmp) / label)
            if switches is not None:
                step = types.MethodType(variant_train_step, trainer.recipe)
                trainer.recipe.train_step = lambda batch, step=step, switches=switches: step(batch, **switches)
            batches = trainer._batches()
            results[label] = [{k: float(v) for k, v in trainer.recipe.train_step(next(batches)).items()}
                              for _ in range(3)]
    same = {label: results[label] == results["train_step"] for label in results if label != "train_step"}
    if "bf16_variant" in results:
        same["artforge_bf16_vs_variant_bf16"] = results.pop("artforge_bf16") == results["bf16_variant"]
        del same["bf16_variant"], same["artforge_bf16"]
    return same


# -- runners -------------------------------------------------------------------------------------------
def parse_variant(name: str) -> tuple[str, ...]:
    if name in ("reference", "artforge"):
        return ()
    toggles: list[str] = []
    for part in name.split("+"):
        if part not in TOGGLES:
            raise SystemExit(f"unknown variant part {part!r}; use reference, artforge or {', '.join(TOGGLES)}")
        toggles += ALIASES.get(part, (part,))
    clash = [t for t in toggles if OPPOSITE.get(t) in toggles]
    if clash:
        raise SystemExit(f"variant {name!r} asks for both {clash[0]} and {OPPOSITE[clash[0]]}")
    return tuple(dict.fromkeys(toggles))


class StepClock(Callback):
    """Per-step wall times inside ``Trainer.fit`` (batch, ``train_step``, metrics log): one timestamp when
    the loop starts and one after every step."""

    def __init__(self) -> None:
        self.last = 0.0
        self.steps: list[float] = []

    def on_start(self, trainer: Trainer) -> None:
        self.last = time.perf_counter()

    def on_step(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        now = time.perf_counter()
        self.steps.append(now - self.last)
        self.last = now


def make_trainer(args: argparse.Namespace, toggles: Sequence[str], out: Path,
                 callbacks: Sequence[Callback] = ()) -> Trainer:
    options: dict[str, Any] = {"channels_last": "no-cl" not in toggles, "fused": "no-fused" not in toggles,
                               "augment": "none" if "no-augment" in toggles else "auto",
                               "ema_decay": 0.0 if "no-ema" in toggles else OptimConfig().ema_decay}
    if HAS_AMP and ("bf16" in toggles or "fp32" in toggles):
        options["amp"] = "bf16" if "bf16" in toggles else "off"
    if HAS_FREEZE_D and ("freeze-d" in toggles or "no-freeze-d" in toggles):
        options["freeze_d"] = "freeze-d" in toggles
    optim = OptimConfig(**options)
    model_options = {"g_width": args.ngf, "d_width": args.ndf, "z_dim": args.nz}
    if "bn-d" in toggles:
        model_options["spectral_norm"] = False
    config = TrainConfig(model="dcgan", data=args.data, image_size=args.size, batch_size=args.batch,
                         seed=args.seed, device="cpu", out=str(out), sample_every=NEVER, checkpoint_every=NEVER,
                         keep_checkpoints=1, model_options=model_options, optim=optim)
    return Trainer(config, list(callbacks))


class Runner:
    """One variant: set up once, then ``run(steps)`` -> seconds of training loop."""

    def __init__(self, name: str, args: argparse.Namespace, workdir: Path):
        self.name = name
        self.toggles = parse_variant(name)
        self.rounds: list[float] = []  # seconds per --steps steps
        self.step_times: list[float] = []  # seconds of each timed step
        self.clock = StepClock()
        self.warmup: list[float] = []
        self.error: str | None = None
        self.metrics: dict[str, float] = {}
        self.trainer: Trainer | None = None
        self.ref: ReferenceDCGAN | None = None
        started = time.perf_counter()
        try:
            self._setup(args, workdir)
        except Exception as exc:  # e.g. a size the reference cannot build: report, keep going
            self.error = f"setup: {type(exc).__name__}: {exc}".strip()[:2000]
        self.setup_s = time.perf_counter() - started

    def _setup(self, args: argparse.Namespace, workdir: Path) -> None:
        if self.name == "reference":
            dataset = load_dataset(args.data, args.size)
            self.ref = ReferenceDCGAN(dataset.images, image_size=args.size, ngf=args.ngf, ndf=args.ndf, nz=args.nz,
                                      batch_size=args.batch, seed=args.seed)
            return
        self.trainer = make_trainer(args, self.toggles, workdir / self.name.replace("+", "_"), [self.clock])
        recipe = self.trainer.recipe
        switches = {t.replace("-", "_"): t in self.toggles for t in self.step_toggles()}
        if any(switches.values()):
            step = types.MethodType(variant_train_step, recipe)
            recipe.train_step = lambda batch: step(batch, **switches)
        if "compile" in self.toggles:
            recipe.g_train = torch.compile(recipe.g, dynamic=False)
            recipe.d_train = torch.compile(recipe.d, dynamic=False)

    def step_toggles(self) -> tuple[str, ...]:
        """Toggles that need the variant train step in this checkout."""
        native = ("bf16",) * HAS_AMP + ("freeze-d",) * HAS_FREEZE_D
        return tuple(t for t in ("split-d", "fast-translate", "bf16", "freeze-d") if t not in native)

    @property
    def description(self) -> str:
        if self.name == "reference":
            return "pytorch/examples dcgan loop"
        if self.name == "artforge":
            return describe_defaults()
        if "+" in self.name:
            return "combination of " + " + ".join(self.toggles)
        return TOGGLES[self.name]

    def run(self, steps: int) -> float:
        """Train ``steps`` more steps; returns the loop's seconds (per-step times in ``last_steps``)."""
        if self.ref is not None:
            out = self.ref.train(steps)
            last = out["losses"][-1]
            self.metrics = {"loss_d": last.loss_d, "loss_g": last.loss_g, "d_x": last.d_x, "d_g_z": last.d_g_z1}
            self.last_steps = out["step_seconds"]
            return out["seconds"]
        self.trainer.config.steps = self.trainer.step + steps
        self.clock.steps = []
        result = self.trainer.fit()
        self.last_steps = self.clock.steps
        self.metrics = {k: v for k, v in self.trainer.metrics.items() if k != "images_per_second"}
        return result.seconds

    def safe_run(self, steps: int) -> float | None:
        if self.error:
            return None
        try:
            return self.run(steps)
        except Exception as exc:  # e.g. torch.compile without a working compiler: report, keep going
            self.error = f"{type(exc).__name__}: {exc}".strip()[:2000]
            traceback.print_exc()
            return None

    def steps_per_s(self, steps: int) -> list[float]:
        return [steps / s for s in self.rounds]


# -- sampling ------------------------------------------------------------------------------------------
def time_sampling(runners: dict[str, Runner], repeats: int) -> list[dict[str, Any]]:
    """Milliseconds for one 64-image sample grid, several ways, interleaved."""
    ref = runners["reference"].ref if "reference" in runners else None
    trainer = runners["artforge"].trainer if "artforge" in runners and not runners["artforge"].error else None
    methods: dict[str, Any] = {}
    if ref is not None:
        methods["reference: netG(fixed_noise), train mode, autograd on"] = ref.sample
    if trainer is not None:
        z = trainer._fixed["z"]
        recipe = trainer.recipe

        def inference_mode() -> torch.Tensor:
            with torch.inference_mode():
                return recipe.generate(z)

        methods["artforge: recipe.generate (EMA G, eval, no_grad)"] = lambda: recipe.generate(z)
        methods["artforge: recipe.generate under torch.inference_mode"] = inference_mode
        methods["artforge: Trainer.write_samples (generate + PNG)"] = trainer.write_samples
    times: dict[str, list[float]] = {name: [] for name in methods}
    for fn in methods.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in methods.items():
            started = time.perf_counter()
            fn()
            times[name].append(1000 * (time.perf_counter() - started))
    return [{"method": name, "best_ms": round(min(t), 3), "median_ms": round(statistics.median(t), 3)}
            for name, t in times.items()]


def describe_defaults() -> str:
    optim = OptimConfig()
    parts = ["SN D", "EMA" if optim.ema_decay > 0 else "no EMA", f"DiffAugment {optim.augment}",
             "fused" if optim.fused else "foreach", "CL" if optim.channels_last else "NCHW"]
    parts += ["bf16" if default_amp() else "fp32"] + (["freeze-d"] if default_freeze_d() else [])
    return "defaults: " + ", ".join(parts)


def _probe(name: str) -> bool | None:
    """``torch.cpu._is_avx512_bf16_supported`` and friends (private, so guarded)."""
    fn = getattr(torch.cpu, name, None)
    return bool(fn()) if fn is not None else None


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


# -- main ----------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser(__doc__, "train_speed")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant per round (default 8)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed steps per variant first, at least 1 (default 3)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds (default 6)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--size", type=int, default=32, help="image size in px (default 32)")
    parser.add_argument("--ngf", type=int, default=64, help="generator width (default 64)")
    parser.add_argument("--ndf", type=int, default=64, help="discriminator width (default 64)")
    parser.add_argument("--nz", type=int, default=100, help="noise size (default 100)")
    parser.add_argument("--data", default="builtin:digits", help="dataset (default builtin:digits)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(default_variants()),
                        help="comma-separated; 'reference', 'artforge', or toggles joined with '+': "
                             + ", ".join(TOGGLES) + " (default: every default flipped on its own, and combinations:"
                             f" {','.join(default_variants())})")
    parser.add_argument("--sample-repeats", type=int, default=5, help="sample-grid timings (0 to skip; default 5)")
    parser.add_argument("--compile-cache", choices=("fresh", "keep"), default="fresh",
                        help="fresh: an empty TorchInductor cache, so compile times are a first run's (default); "
                             "keep: the usual on-disk cache")
    parser.add_argument("--skip-check", action="store_true", help="skip the variant-step == train_step check")
    args = parser.parse_args(argv)
    args.warmup = max(1, args.warmup)

    torch.set_num_threads(args.threads)
    names = list(dict.fromkeys(v.strip() for v in args.variants.split(",") if v.strip()))
    for name in names:
        parse_variant(name)
    load_before = os.getloadavg()
    wall_start = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.data} at {args.size} px, "
          f"batch {args.batch}, ngf={args.ngf} ndf={args.ndf} nz={args.nz}; load average {load_before[0]:.2f}")

    copy_ok = None
    if not args.skip_check:
        copy_ok = check_copy(args)
        print("bit-identical over 3 steps (vs GANRecipe.train_step in fp32 without freeze-d): " + ", ".join(
            f"{label} {'yes' if same else 'NO'}" for label, same in copy_ok.items()))

    with tempfile.TemporaryDirectory(prefix="artforge-train-speed-") as tmp:
        if args.compile_cache == "fresh":
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(tmp) / "inductor-cache")
        runners: dict[str, Runner] = {}
        for name in names:
            runners[name] = Runner(name, args, Path(tmp))
        # Warm-up: first step alone (compilation lands here), then the rest.
        for runner in runners.values():
            first = runner.safe_run(1)
            rest = runner.safe_run(args.warmup - 1) if args.warmup > 1 and first is not None else 0.0
            if first is not None:
                runner.warmup = [first, rest or 0.0]
                print(f"warm-up {runner.name}: first step {first:.2f} s, next {args.warmup - 1} in {rest or 0:.2f} s")
            else:
                print(f"warm-up {runner.name}: FAILED: {runner.error}")
        active = [r for r in runners.values() if not r.error]
        for round_no in range(args.rounds):
            shift = round_no % len(active)
            for runner in active[shift:] + active[:shift]:
                seconds = runner.safe_run(args.steps)
                if seconds is not None:
                    runner.rounds.append(seconds)
                    runner.step_times += runner.last_steps
            print(f"round {round_no + 1}/{args.rounds}: " + ", ".join(
                f"{r.name} {args.steps / r.rounds[-1]:.2f}" for r in active if r.rounds) + " steps/s"
                  f" (load {os.getloadavg()[0]:.2f})")
        sampling = time_sampling(runners, args.sample_repeats) if args.sample_repeats else []
    load_after = os.getloadavg()

    ref = runners.get("reference")
    ref_rounds = ref.steps_per_s(args.steps) if ref and ref.rounds else []
    ref_best = max(ref_rounds) if ref_rounds else NAN
    ref_p25 = percentile(ref.step_times, 25) if ref and ref.step_times else NAN
    rows, results = [], []
    for runner in runners.values():
        sps = runner.steps_per_s(args.steps)
        best = max(sps) if sps else NAN
        median = statistics.median(sps) if sps else NAN
        per_round = [a / b for a, b in zip(sps, ref_rounds)] if ref_rounds else []
        ratio_best = best / ref_best if sps else NAN
        ratio_median = statistics.median(per_round) if per_round else NAN
        step_p25 = percentile(runner.step_times, 25) if runner.step_times else NAN
        ratio_p25 = ref_p25 / step_p25
        first = runner.warmup[0] if runner.warmup else NAN
        overhead = first - statistics.median(runner.step_times) if runner.warmup and runner.step_times else NAN
        rows.append([runner.name, runner.description if not runner.error else "FAILED: " + runner.error[:60],
                     best, median, best * args.batch, 1000 * step_p25, ratio_best, ratio_median, ratio_p25, first])
        results.append({
            "variant": runner.name, "toggles": list(runner.toggles), "description": runner.description,
            "error": runner.error, "setup_s": round(runner.setup_s, 3),
            "warmup_first_step_s": _round(first, 4),
            "warmup_rest_s": _round(runner.warmup[1], 4) if runner.warmup else None,
            "first_step_overhead_s": _round(overhead, 3),
            "round_seconds": [round(s, 4) for s in runner.rounds],
            "steps_per_s_best": _round(best, 4),
            "steps_per_s_median": _round(median, 4),
            "images_per_s_best": _round(best * args.batch, 2),
            "step_ms": {q: _round(1000 * percentile(runner.step_times, p), 2)
                        for q, p in (("min", 0), ("p25", 25), ("median", 50), ("p75", 75))},
            "ratio_vs_reference_best": _round(ratio_best, 4),
            "ratio_vs_reference_median_of_rounds": _round(ratio_median, 4),
            "ratio_vs_reference_p25_step": _round(ratio_p25, 4),
            "last_metrics": {k: round(float(v), 5) for k, v in runner.metrics.items()},
        })
    print_table(f"DCGAN training, {args.data} {args.size} px, batch {args.batch}, {args.threads} threads, "
                f"{args.steps} steps x {args.rounds} rounds (load avg {load_before[0]:.2f} -> {load_after[0]:.2f})",
                ["variant", "what", "steps/s best", "steps/s med", "img/s best", "p25 step ms", "x ref best",
                 "x ref med", "x ref p25", "1st step s"], rows)
    print("steps/s best / med: the fastest and the median of the rounds; x ref med: median of the per-round "
          "ratios;\np25 step ms / x ref p25: 25th percentile of all timed single steps (robust to bursts of load)")
    for r in results:
        if "compile" not in r["toggles"]:
            continue
        if r["error"]:
            print(f"torch.compile ({r['variant']}) failed: {r['error']}")
        elif r["first_step_overhead_s"] is not None:
            print(f"torch.compile ({r['variant']}): first step {r['warmup_first_step_s']:.1f} s, of which about "
                  f"{r['first_step_overhead_s']:.1f} s is compilation (first step minus a median step; "
                  f"{args.compile_cache} inductor cache)")
    if sampling:
        artforge_step = next((r["step_ms"]["p25"] for r in results if r["variant"] == "artforge"), None)
        for row in sampling:
            # a grid every 200 steps (TrainConfig.sample_every's default) costs this share of training time
            row["pct_of_train_time_at_sample_every_200"] = (
                round(100 * row["median_ms"] / (200 * artforge_step), 3) if artforge_step else None)
        print_table(f"One sample grid (64 images), best/median of {args.sample_repeats}",
                    ["method", "best ms", "median ms", "% of train time at sample_every=200"],
                    [[s["method"], s["best_ms"], s["median_ms"],
                      NAN if s["pct_of_train_time_at_sample_every_200"] is None
                      else s["pct_of_train_time_at_sample_every_200"]] for s in sampling])
    measures = ("ratio_vs_reference_best", "ratio_vs_reference_median_of_rounds", "ratio_vs_reference_p25_step")

    def ratios(row: dict) -> str:
        return "/".join("-" if row[m] is None else f"{row[m]:.2f}" for m in measures)

    artforge_row = next((r for r in results if r["variant"] == "artforge"), None)
    if artforge_row and artforge_row["ratio_vs_reference_best"] is not None:
        met = all(artforge_row[m] is not None and artforge_row[m] >= 1.3 for m in measures)
        print(f"\nartforge defaults / reference (best/median of rounds/p25 step): {ratios(artforge_row)}x; "
              f"target >= 1.3x {'met' if met else 'NOT met'}")
        fast = [r for r in results if r["variant"] != "reference"
                and all(r[m] is not None and r[m] >= 1.3 for m in measures)]
        print("variants >= 1.3x on all three measures: " + (", ".join(
            f"{r['variant']} ({ratios(r)}x)" for r in fast) or "none"))
    print(f"total wall time {time.perf_counter() - wall_start:.0f} s")

    result = {
        "benchmark": "train_speed",
        "environment": {**environment(), "torch": str(torch.__version__), "threads": torch.get_num_threads(),
                        "cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                        "mkldnn_bf16_supported": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
                        "avx512_bf16": _probe("_is_avx512_bf16_supported"), "amx": _probe("_is_amx_tile_supported"),
                        "loadavg_before": load_before, "loadavg_after": load_after},
        "settings": {"data": args.data, "image_size": args.size, "batch": args.batch, "ngf": args.ngf,
                     "ndf": args.ndf, "nz": args.nz, "steps": args.steps, "warmup": args.warmup,
                     "rounds": args.rounds, "seed": args.seed, "compile_cache": args.compile_cache,
                     "artforge_path": "artforge.generation.training.Trainer.fit (sample/checkpoint intervals out of reach); "
                                      "time = TrainResult.seconds (loop only)",
                     "reference_path": "benchmarks/reference_dcgan.py ReferenceDCGAN.train (loop only)"},
        "artforge_defaults": {"description": describe_defaults(), "optim": OptimConfig().to_dict(),
                              "bf16": default_amp(), "freeze_d": default_freeze_d(),
                              "native_amp_setting": HAS_AMP, "native_freeze_d_setting": HAS_FREEZE_D},
        "bit_identical_to_train_step": copy_ok,
        "variants": results,
        "sampling": sampling,
        "target_ratio": 1.3,
        "wall_s": round(time.perf_counter() - wall_start, 1),
    }
    save_results(args.out, "train_speed", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
