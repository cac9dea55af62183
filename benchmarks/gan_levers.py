"""Ablation of the training levers per model family, at equal wall time: what the defaults are chosen from.

Each variant is artforge's trainer (``Trainer.fit``, the user's path) with one lever changed from the base,
trained for ``--seconds`` (or ``--steps``: equal work, free of the machine's speed noise, for levers that
leave a step's cost alone) on one built-in dataset with the same seed, then ``--samples`` images from its
sampler (the EMA generator where there is one) are scored with both feature nets of the data's task
(:mod:`_gen_score`): FD, precision and recall, and prompt accuracy for the captioned shapes.

Levers (``--list`` prints the table for a family): the loss (non-saturating or hinge), R1, two-timescale
learning rates, the EMA schedule (ramp-up), the DiffAugment policy, architecture width, and for the VAE its
width, latent size and KL weight.  ``base`` is the variant every other one changes one thing from:
``--base`` sets it (a variant name or ``+``-joined names), so a second round can test levers on top of a
chosen one.  Variants can also be joined with ``+`` in ``--variants``.

Run from the repository root (about (seconds + 10) x variants):

    .venv/bin/python benchmarks/gan_levers.py --family dcgan --data builtin:digits --seconds 60
    .venv/bin/python benchmarks/gan_levers.py --family cgan --data builtin:shapes --seconds 120 --variants base,hinge
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, environment, print_table, save_results  # noqa: E402
from _gen_score import Scorer, generate_all, real_vs_real  # noqa: E402

from artforge.generation.recipes import OptimConfig  # noqa: E402
from artforge.generation.training import TrainConfig, Trainer  # noqa: E402

NEVER = 10 ** 12
GAN_LEVERS = {
    "base": ({}, {}),
    "hinge": ({"loss": "hinge"}, {}),
    "r1": ({"r1_gamma": 0.1}, {}),
    "r1-strong": ({"r1_gamma": 1.0}, {}),
    "ttur": ({"lr_d": 4e-4, "lr_g": 1e-4}, {}),
    "lr2x": ({"lr_d": 4e-4, "lr_g": 4e-4}, {}),
    "lr4x": ({"lr_d": 8e-4, "lr_g": 8e-4}, {}),
    "beta0": ({"beta1": 0.0, "beta2": 0.99}, {}),
    "ema-rampup": ({"ema_rampup": 0.05}, {}),
    "ema-rampup-long": ({"ema_rampup": 0.2}, {}),
    "no-ema": ({"ema_decay": 0.0}, {}),
    "no-augment": ({"augment": "none"}, {}),
    "translation": ({"augment": "translation"}, {}),
    "color-translation": ({"augment": "color,translation"}, {}),
    "all-augment": ({"augment": "color,translation,cutout"}, {}),
    "width16": ({}, {"g_width": 16, "d_width": 16}),
    "width24": ({}, {"g_width": 24, "d_width": 24}),
    "width32": ({}, {"g_width": 32, "d_width": 32}),
    "width48": ({}, {"g_width": 48, "d_width": 48}),
    "g32-d16": ({}, {"g_width": 32, "d_width": 16}),
    "g64-d32": ({}, {"g_width": 64, "d_width": 32}),
    "bn-d": ({}, {"spectral_norm": False}),
}
# The settings every run had before the ablation (docs/training.md), to compare the chosen defaults against.
V1_OPTIM = {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "loss": "ns", "mode_seeking": 0.0,
            "augment": "auto-v1"}
GAN_LEVERS |= {"v1": (V1_OPTIM, {"g_width": 64, "d_width": 64})}
GAN_LEVERS |= {"mode-seeking": ({"mode_seeking": 1.0}, {}), "mode-seeking-weak": ({"mode_seeking": 0.2}, {}),
               "mode-seeking-strong": ({"mode_seeking": 3.0}, {})}
CGAN_LEVERS = GAN_LEVERS | {"words0.3": ({"word_weight": 0.3}, {}), "words0.1": ({"word_weight": 0.1}, {})}
MLP_LEVERS = {name: value for name, value in GAN_LEVERS.items() if not value[1] and name != "bn-d"} | {
    "v1": (V1_OPTIM, {}),
    "width128": ({}, {"g_width": 128, "d_width": 128}), "width512": ({}, {"g_width": 512, "d_width": 512})}
VAE_LEVERS = {
    "base": ({}, {}),
    "width16": ({}, {"width": 16}),
    "width64": ({}, {"width": 64}),
    "z16": ({}, {"z_dim": 16}),
    "z64": ({}, {"z_dim": 64}),
    "normal-prior": ({}, {"prior": "normal"}),
    "beta0.5": ({}, {"beta": 0.5}),
    "beta0.25": ({}, {"beta": 0.25}),
    "beta2": ({}, {"beta": 2.0}),
    "lr2x": ({"lr_g": 4e-4}, {}),
    "lr-half": ({"lr_g": 1e-4}, {}),
}
LEVERS = {"dcgan": GAN_LEVERS, "cgan": CGAN_LEVERS, "mlpgan": MLP_LEVERS, "vae": VAE_LEVERS}


def resolve(family: str, name: str) -> tuple[dict, dict]:
    """``a+b`` -> the merged (optim overrides, model options)."""
    table = LEVERS[family]
    optim, model = {}, {}
    for part in name.split("+"):
        if part not in table:
            raise SystemExit(f"unknown variant {part!r} for {family}; --list shows them")
        optim.update(table[part][0])
        model.update(table[part][1])
    return optim, model


def run_variant(args: argparse.Namespace, scorer: Scorer, name: str) -> dict:
    """Train one variant for ``--seconds`` and score its samples."""
    base_optim, base_model = resolve(args.family, args.base)
    optim, model = resolve(args.family, name)
    options = {**base_model, **model}
    budget = {"steps": args.steps} if args.steps else {"time_budget": args.seconds}
    config = TrainConfig(model=args.family, data=args.data, image_size=args.size, batch_size=args.batch,
                         **budget, seed=args.seed, out=tempfile.mkdtemp(prefix="levers-"),
                         sample_every=NEVER, checkpoint_every=NEVER, log_every=50, model_options=options,
                         optim=replace(OptimConfig(), **{**base_optim, **optim}))
    trainer = Trainer(config)
    result = trainer.fit()
    captions = scorer.conditions(args.samples)
    vocabulary = trainer.vocabulary

    def generate(z, part):
        cond = None if part is None else vocabulary.batch(part)
        return trainer.recipe.generate(z, cond)

    images = generate_all(generate, trainer.recipe.z_dim, args.samples, captions, args.seed)
    row = {"variant": name, "steps": result.step, "seconds": result.seconds,
           "images_per_second": result.images_per_second, **scorer.score(images, captions)}
    print(f"  {name}: {row}", file=sys.stderr, flush=True)
    return row


def main() -> None:
    parser = bench_parser(__doc__, "gan_levers")
    parser.add_argument("--family", default="dcgan", choices=sorted(LEVERS))
    parser.add_argument("--data", default="builtin:digits")
    parser.add_argument("--seconds", type=float, default=60.0, help="wall time per variant")
    parser.add_argument("--steps", type=int, help="steps per variant instead of --seconds: equal work, so levers that "
                        "leave the step's cost alone are compared without the machine's speed noise")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base", default="base", help="the variant the others change one lever from")
    parser.add_argument("--variants", help="comma-separated (default: every lever of the family)")
    parser.add_argument("--list", action="store_true", help="print the levers of --family and exit")
    args = parser.parse_args()
    if args.list:
        for name, (optim, model) in LEVERS[args.family].items():
            print(f"{name:20s} optim {optim}  model {model}")
        return
    names = args.variants.split(",") if args.variants else list(LEVERS[args.family])
    scorer = Scorer(args.data, args.size, seed=args.seed)
    floor = real_vs_real(scorer)
    rows = [run_variant(args, scorer, name) for name in names]
    base = next((row for row in rows if row["variant"] == "base"), rows[0])
    for row in rows:
        row["fd_vs_base"] = round(row["fd"] / base["fd"], 3)
        row["fd_b_vs_base"] = round(row["fd_b"] / base["fd_b"], 3)
    headers = ["variant", "steps", "steps/s", "fd", "x base", "fd_b", "x base (b)", "precision", "recall", "prompt acc"]
    budget = f"{args.steps} steps" if args.steps else f"{args.seconds:.0f} s"
    print_table(f"{args.family} on {args.data}, {budget} each, base = {args.base} "
                f"(real vs real: fd {floor['fd']}, precision {floor['precision']}, recall {floor['recall']})",
                headers, [[r["variant"], r["steps"], round(r["steps"] / r["seconds"], 2), r["fd"], r["fd_vs_base"], r["fd_b"], r["fd_b_vs_base"],
                           r["precision"], r["recall"], r.get("prompt_accuracy", "")] for r in rows])
    save_results(args.out, "gan_levers", {"environment": environment(), "settings": vars(args) | {"out": str(args.out)},
                                          "real_vs_real": floor, "variants": rows})


if __name__ == "__main__":
    main()
