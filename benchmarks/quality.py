"""Quality after the same wall time: artforge's DCGAN defaults vs the pytorch/examples reference loop.

1. ``builtin:digits`` at 32 px: each method trains for ``--seconds`` of wall time (same architecture widths,
   batch, data order and threads), then 1,000 images are scored with the classifier-FID and KID of
   ``artforge.generation.quality`` (the shipped ``digits`` feature net) against the whole digits set.  The reference
   is sampled as its loop samples (generator in train mode, batches of 64); artforge samples its EMA
   generator in eval mode, which is what ``artforge generate`` does.  Target: artforge's FID <= 0.8x the
   reference's.
2. ``builtin:shapes``: the prompt-conditioned ``cgan`` trains for ``--shapes-seconds``; the ``shapes``
   feature net then checks, for images generated from each training caption, whether shape, colour and
   background match the prompt (chance: 25%, 20%, 33%).

Run from the repository root (about 2 x --seconds + --shapes-seconds + a minute)::

    .venv/bin/python benchmarks/quality.py                       # 180 s each on digits, 300 s on shapes
    .venv/bin/python benchmarks/quality.py --seconds 60 --shapes-seconds 60 --samples 500
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402
from reference_dcgan import reference_from_dataset  # noqa: E402

from artforge.generation.data import load_dataset  # noqa: E402
from artforge.generation.featurenet import load_feature_net  # noqa: E402
from artforge.generation.quality import evaluate_checkpoint, frechet_distance, kernel_inception_distance  # noqa: E402
from artforge.generation.training import TrainConfig, train  # noqa: E402


def _train_artforge(model: str, data: str, seconds: float, args: argparse.Namespace, out: Path) -> dict:
    config = TrainConfig(model=model, data=data, image_size=args.size, batch_size=args.batch, steps=None,
                         time_budget=seconds, seed=args.seed, out=str(out), sample_every=10**9,
                         checkpoint_every=10**9, log_every=50,
                         model_options={"g_width": args.width, "d_width": args.width})
    result = train(config)
    return {"checkpoint": result.checkpoint, "steps": result.step, "seconds": result.seconds}


def _reference_fid(seconds: float, args: argparse.Namespace) -> dict:
    reference = reference_from_dataset("builtin:digits", args.size, ngf=args.width, ndf=args.width,
                                       batch_size=args.batch, seed=args.seed)
    started, steps = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        reference.train(10)
        steps += 10
    elapsed = time.perf_counter() - started
    # Sample as the reference loop does: train-mode BatchNorm, batches of its batch size.
    generator = torch.Generator().manual_seed(args.seed + 1)
    images = []
    with torch.no_grad():
        for start in range(0, args.samples, args.batch):
            count = min(args.batch, args.samples - start)
            z = torch.randn(count, reference.nz, 1, 1, generator=generator)
            images.append(reference.netG(z))
    fake = torch.cat(images)
    net = load_feature_net("digits")
    real = load_dataset("builtin:digits", args.size, 1)
    with torch.inference_mode():
        real_feats = net.run(real.images)[0].double().numpy()
        fake_feats = net.run(fake)[0].double().numpy()
    kid_mean, kid_std = kernel_inception_distance(real_feats, fake_feats, seed=args.seed)
    halves = np.array_split(np.random.default_rng(args.seed).permutation(len(real_feats)), 2)
    return {"steps": steps, "seconds": round(elapsed, 2), "fid": frechet_distance(real_feats, fake_feats),
            "kid_mean": kid_mean, "kid_std": kid_std,
            "fid_real_vs_real": frechet_distance(real_feats[halves[0]], real_feats[halves[1]])}


def main() -> None:
    parser = bench_parser(__doc__, "quality")
    parser.add_argument("--seconds", type=float, default=180.0, help="wall time per method on digits")
    parser.add_argument("--shapes-seconds", type=float, default=300.0, help="wall time for the cgan on shapes")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf for both methods")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        reference = _reference_fid(args.seconds, args)
        ours = _train_artforge("dcgan", "builtin:digits", args.seconds, args, Path(tmp) / "dcgan")
        report = evaluate_checkpoint(ours["checkpoint"], samples=args.samples, seed=args.seed)
        ratio = report.fid / reference["fid"]
        rows = [
            ["reference (pytorch/examples loop)", reference["steps"], reference["seconds"],
             f"{reference['fid']:.2f}", f"{reference['kid_mean']:.4f}", "1.00"],
            ["artforge dcgan defaults", ours["steps"], ours["seconds"], f"{report.fid:.2f}",
             f"{report.kid_mean:.4f}", f"{ratio:.2f}"],
        ]
        print_table(f"builtin:digits {args.size} px, {args.seconds:.0f} s of training each, {args.samples} samples "
                    f"(real-vs-real FID floor {report.fid_real_vs_real:.2f})",
                    ["method", "steps", "seconds", "FID", "KID", "FID vs reference"], rows)
        print(f"FID ratio {ratio:.2f} (target <= 0.80): {'met' if ratio <= 0.8 else 'NOT met'}")

        shapes = _train_artforge("cgan", "builtin:shapes", args.shapes_seconds, args, Path(tmp) / "cgan")
        cgan = evaluate_checkpoint(shapes["checkpoint"], samples=args.samples, seed=args.seed)
        accuracy = cgan.accuracy or {}
        print_table(f"cgan on builtin:shapes, {shapes['steps']} steps in {shapes['seconds']:.0f} s, prompts = "
                    f"{len(cgan.per_condition)} training captions, {args.samples} samples",
                    ["attribute", "accuracy", "chance"],
                    [[k, f"{v:.3f}", {"shape": "0.250", "colour": "0.200", "background": "0.333",
                                      "all": "0.017"}.get(k, "")] for k, v in accuracy.items()])
        print(f"cgan FID {cgan.fid:.2f} (floor {cgan.fid_real_vs_real:.2f})")

    save_results(args.out, "quality", {
        "args": {k: str(v) for k, v in vars(args).items()},
        "digits": {"reference": reference, "artforge": {**ours, **report.to_dict()}, "fid_ratio": ratio},
        "shapes_cgan": {**shapes, **cgan.to_dict()},
    })


if __name__ == "__main__":
    main()
