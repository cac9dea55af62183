"""Few-shot fine-tuning (`train --init`): a base that never saw a style, taught it from a few images.

The base is a DCGAN trained on the built-in digits with one class held out (default: sevens). It is then
fine-tuned on ``--shots`` images of that class for ``--seconds``, and, as the baseline, the same architecture
is trained from scratch on the same images for the same time. Each model's samples are judged with the
shipped digits classifier (an independent network, trained on all ten classes):

* share: the fraction of samples it reads as the held-out digit;
* FID to the class: the Fréchet distance in its feature space to the held-out class's images that were
  *not* among the shots (the style, not copies of the few).

    python benchmarks/finetune.py                       # about 5 minutes on a laptop CPU
    python benchmarks/finetune.py --held-out three --shots 12 --seconds 90
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402

from artforge.generation.data import load_dataset  # noqa: E402
from artforge.generation.featurenet import load_feature_net  # noqa: E402
from artforge.generation.quality import frechet_distance  # noqa: E402
from artforge.generation.sampling import load_model, sample  # noqa: E402
from artforge.generation.train_config import TrainConfig  # noqa: E402
from artforge.generation.training import train  # noqa: E402


def _write(folder: Path, images: torch.Tensor) -> Path:
    folder.mkdir(parents=True)
    for index, image in enumerate(images):
        Image.fromarray(image[0].numpy(), "L").save(folder / f"{index:05d}.png")
    return folder


def _score(checkpoint: str, net, reference: np.ndarray, held_index: int, samples: int) -> dict:
    images = sample(load_model(checkpoint), list(range(samples)))
    feats, preds = net.run(images)
    return {"share": round(float((preds["digit"] == held_index).float().mean()), 4),
            "fid": round(frechet_distance(reference, feats.double().numpy()), 3)}


def main() -> None:
    parser = bench_parser(__doc__, "finetune")
    parser.add_argument("--held-out", default="seven", help="The digit class the base never sees.")
    parser.add_argument("--shots", type=int, default=20, help="Images of it to fine-tune on.")
    parser.add_argument("--base-steps", type=int, default=1500)
    parser.add_argument("--seconds", type=float, default=60.0, help="Training time for fine-tuning and for scratch.")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    digits = load_dataset("builtin:digits", args.size, 1)
    held_index = digits.class_names.index(args.held_out)
    held = torch.nonzero(digits.labels == held_index).flatten()
    held = held[torch.randperm(len(held), generator=torch.Generator().manual_seed(args.seed))]
    shots, rest = held[:args.shots], held[args.shots:]
    net = load_feature_net("digits")
    reference = net.run(digits.images[rest])[0].double().numpy()
    architecture = {"g_width": args.width, "d_width": args.width}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base_data = _write(root / "base", digits.images[digits.labels != held_index])
        target = _write(root / "target", digits.images[shots])
        started = time.perf_counter()
        base = train(TrainConfig(data=str(base_data), image_size=args.size, channels=1, steps=args.base_steps,
                                 seed=args.seed, model_options=architecture, out=str(root / "run-base"),
                                 sample_every=10**9, checkpoint_every=10**9))
        base_seconds = time.perf_counter() - started
        tuned = train(TrainConfig(data=str(target), init=base.checkpoint, time_budget=args.seconds, seed=args.seed,
                                  out=str(root / "run-tuned"), sample_every=10**9, checkpoint_every=10**9))
        scratch = train(TrainConfig(data=str(target), image_size=args.size, channels=1, time_budget=args.seconds,
                                    seed=args.seed, model_options=architecture, out=str(root / "run-scratch"),
                                    sample_every=10**9, checkpoint_every=10**9))
        for name, result, seconds in (("base (never saw the class)", base, base_seconds),
                                      (f"fine-tuned on {args.shots} shots", tuned, tuned.seconds),
                                      (f"scratch on {args.shots} shots", scratch, scratch.seconds)):
            rows.append({"model": name, "steps": result.step, "seconds": round(seconds, 1),
                         **_score(result.checkpoint, net, reference, held_index, args.samples)})
    base_row, tuned_row, scratch_row = rows
    ratios = {"fid_tuned_over_base": round(tuned_row["fid"] / base_row["fid"], 3),
              "fid_tuned_over_scratch": round(tuned_row["fid"] / scratch_row["fid"], 3)}
    print_table(f"Held-out '{args.held_out}': {args.shots} shots, {args.seconds:.0f} s of training each "
                f"({args.samples} samples, FID against the {len(rest)} other images of the class)",
                ["model", "steps", "seconds", f"share read as {args.held_out}", "FID to the class"],
                [[r["model"], r["steps"], r["seconds"], r["share"], r["fid"]] for r in rows])
    print(f"FID fine-tuned / base {ratios['fid_tuned_over_base']}, fine-tuned / scratch "
          f"{ratios['fid_tuned_over_scratch']} (below 1: closer to the held-out style)")
    save_results(args.out, "finetune", {"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows,
                                        "ratios": ratios})


if __name__ == "__main__":
    main()
