"""Quality against wall time: ``artforge train`` (defaults) vs the loop a user would write, on two feature nets.

For each dataset both methods train on the same images with the same seed, batch and threads, and stop at each
of ``--checkpoints`` seconds of training (the clock paused while they are scored) to generate ``--samples``
images, scored by :mod:`_gen_score` with both feature nets of the data's task (the second is another
architecture trained from another seed): FD, precision and recall, and for the captioned shapes whether each
image shows what its prompt asked for.

* ``builtin:digits`` (unconditional): the reference is :class:`reference_dcgan.ReferenceDCGAN`, the
  pytorch/examples DCGAN loop, sampled as its loop samples (BatchNorm on batch statistics, batches of its
  batch size); artforge is ``Trainer`` with ``--model dcgan`` defaults, sampled from its EMA generator.
* ``builtin:shapes`` (prompt-conditioned): the reference is the same loop made conditional the tutorial way
  (the caption's one-hot colour, shape and background concatenated with the noise, and stacked as constant
  maps on D's input); artforge is ``--model cgan`` defaults (its prompt encoder reads the caption text).
  Both generate from the real set's own captions.

Targets (issue 19): artforge's FD <= 0.5x the reference's at every checkpoint on both nets, with precision
and recall both >= the reference's.  The figure (``--figure``) plots FD against seconds for both.

Run from the repository root (about 2 x max(checkpoints) per dataset, plus scoring)::

    .venv/bin/python benchmarks/quality_curve.py                               # 60, 120, 300 s; ~22 min
    .venv/bin/python benchmarks/quality_curve.py --data builtin:digits --checkpoints 30,60
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, environment, print_table, save_results  # noqa: E402
from _gen_score import Scorer, generate_all, real_vs_real  # noqa: E402
from _plot import Panel, Series, line_chart  # noqa: E402
from reference_dcgan import ReferenceDCGAN  # noqa: E402

from artforge.generation.data import BACKGROUNDS, SHAPE_COLOURS, SHAPES  # noqa: E402
from artforge.generation.featurenet import caption_targets  # noqa: E402
from artforge.generation.training import TrainConfig, Trainer  # noqa: E402

NEVER = 10 ** 12
FIGURE = Path(__file__).resolve().parent.parent / "docs" / "images" / "quality-curve.png"


def caption_onehots(captions: list[str]) -> torch.Tensor:
    """"a {colour} {shape} on {background}" -> concatenated one-hot colour, shape and background (N, 12)."""
    wanted = caption_targets(captions)
    sizes = {"colour": len(SHAPE_COLOURS), "shape": len(SHAPES), "background": len(BACKGROUNDS)}
    return torch.cat([torch.nn.functional.one_hot(wanted[h], n).float() for h, n in sizes.items()], dim=1)


def run_reference(scorer: Scorer, args: argparse.Namespace) -> list[dict]:
    """The reference loop, scored at each checkpoint."""
    real = scorer.real
    conditions = caption_onehots(real.captions) if real.captions else None
    reference = ReferenceDCGAN(real.images, image_size=args.size, batch_size=args.batch, seed=args.seed,
                               conditions=conditions)
    captions = scorer.conditions(args.samples)
    rows, trained, steps = [], 0.0, 0
    for checkpoint in args.checkpoints:
        while trained < checkpoint:
            out = reference.train(5)
            trained += out["seconds"]
            steps += 5

        def generate(z, part):
            return reference.generate(z, batch_stats=True, cond=None if part is None else caption_onehots(part))

        images = generate_all(generate, reference.nz, args.samples, captions, args.seed, batch=args.batch)
        rows.append({"method": "reference", "checkpoint": checkpoint, "seconds": round(trained, 1), "steps": steps,
                     **scorer.score(images, captions)})
        print(f"  reference {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def run_artforge(scorer: Scorer, args: argparse.Namespace) -> list[dict]:
    """``Trainer.fit`` with the defaults, continued segment by segment, scored at each checkpoint."""
    model = "cgan" if scorer.real.captions else "dcgan"
    config = TrainConfig(model=model, data=scorer.data, image_size=args.size, batch_size=args.batch, seed=args.seed,
                         time_budget=1.0, out=tempfile.mkdtemp(prefix="curve-"), sample_every=NEVER,
                         checkpoint_every=NEVER, log_every=50)
    trainer = Trainer(config)
    captions = scorer.conditions(args.samples)
    rows, trained = [], 0.0
    for checkpoint in args.checkpoints:
        trainer.config.time_budget = checkpoint - trained
        trained += trainer.fit().seconds

        def generate(z, part):
            return trainer.recipe.generate(z, None if part is None else trainer.vocabulary.batch(part))

        images = generate_all(generate, trainer.recipe.z_dim, args.samples, captions, args.seed)
        rows.append({"method": "artforge", "checkpoint": checkpoint, "seconds": round(trained, 1),
                     "steps": trainer.step, **scorer.score(images, captions)})
        print(f"  artforge {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def compare(reference: list[dict], artforge: list[dict]) -> list[dict]:
    """Per checkpoint: artforge / reference for FD on both nets, and whether precision and recall held."""
    out = []
    for ref, art in zip(reference, artforge):
        out.append({"checkpoint": ref["checkpoint"], "fd_ratio": round(art["fd"] / ref["fd"], 3),
                    "fd_b_ratio": round(art["fd_b"] / ref["fd_b"], 3),
                    "precision_ok": art["precision"] >= ref["precision"] and art["precision_b"] >= ref["precision_b"],
                    "recall_ok": art["recall"] >= ref["recall"] and art["recall_b"] >= ref["recall_b"]})
        out[-1]["target_met"] = (out[-1]["fd_ratio"] <= 0.5 and out[-1]["fd_b_ratio"] <= 0.5
                                 and out[-1]["precision_ok"] and out[-1]["recall_ok"])
    return out


def main() -> None:
    parser = bench_parser(__doc__, "quality_curve")
    parser.add_argument("--data", default="builtin:digits,builtin:shapes", help="comma-separated datasets")
    parser.add_argument("--checkpoints", default="60,120,300", help="seconds of training at which to score")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", default=str(FIGURE), help="PNG of FD against seconds ('' for none)")
    args = parser.parse_args()
    args.checkpoints = sorted(float(c) for c in args.checkpoints.split(","))
    started = time.perf_counter()
    results, panels = [], []
    for data in args.data.split(","):
        scorer = Scorer(data, args.size, seed=args.seed)
        reference, artforge = run_reference(scorer, args), run_artforge(scorer, args)
        ratios = compare(reference, artforge)
        results.append({"data": data, "real_vs_real": real_vs_real(scorer), "reference": reference,
                        "artforge": artforge, "ratios": ratios})
        rows = []
        for ref, art, ratio in zip(reference, artforge, ratios):
            rows.append([f"{ratio['checkpoint']:g}", ref["steps"], art["steps"], ref["fd"], art["fd"], ratio["fd_ratio"],
                         ref["fd_b"], art["fd_b"], ratio["fd_b_ratio"], f"{ref['precision']}/{ref['recall']}",
                         f"{art['precision']}/{art['recall']}", "yes" if ratio["target_met"] else "no"])
        print_table(f"{data}: artforge defaults vs the reference loop (FD: first net, _b: second net)",
                    ["s", "ref steps", "af steps", "ref fd", "af fd", "x", "ref fd_b", "af fd_b", "x (b)",
                     "ref P/R", "af P/R", "target"], rows)
        panels.append(Panel(f"{data} ({'prompts' if scorer.real.captions else 'unconditional'})", "seconds", "FD", [
            Series("reference, net A", [(r["checkpoint"], r["fd"]) for r in reference], 1),
            Series("reference, net B", [(r["checkpoint"], r["fd_b"]) for r in reference], 1, dashed=True),
            Series("artforge, net A", [(r["checkpoint"], r["fd"]) for r in artforge], 0),
            Series("artforge, net B", [(r["checkpoint"], r["fd_b"]) for r in artforge], 0, dashed=True)]))
    if args.figure:  # (a Path of '' would be '.', never empty: kept as text until here)
        print(f"figure: {line_chart(panels, Path(args.figure))}")
    save_results(args.out, "quality_curve", {
        "environment": environment(), "settings": {**vars(args), "out": str(args.out), "figure": str(args.figure),
                                                   "threads": torch.get_num_threads()},
        "datasets": results, "wall_seconds": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
