"""Prompts that compose: a prompt-conditioned GAN asked for colour-shape pairs it never saw together.

The conditional GAN is trained at the demo's budget (``examples/demo.sh``: see ``DEMO``) on the built-in shapes
with ``--held-out`` colour-shape pairs removed from the data (each shape and each colour is still seen with
others).  Then it is asked for every pair on every background, and an independent judge reads its samples:
a classifier of another architecture than the shipped feature net, trained here, from its own seed, on freshly
drawn shapes of another seed (its accuracy on real images is printed first).  Reported: shape, colour and
background accuracy on the seen and on the held-out pairs, for the slot encoder (the default) and, as the
baseline, the GRU encoder that prompt models used before it, trained in the same run at the same budget.

    python benchmarks/prompts.py            # about 3 minutes on a laptop CPU (two trainings at the demo budget)
    python benchmarks/prompts.py --quick    # a smoke run: tiny data, few steps (the figures mean nothing)
    python benchmarks/prompts.py --curve 300,600,1000,1500   # the slot model against its training budget:
                                            # one run to the last step, each checkpoint read by the judge
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402

from artforge.generation.data import BACKGROUNDS, SHAPE_COLOURS, SHAPES, shapes_dataset, to_float  # noqa: E402
from artforge.generation.sampling import load_model, sample  # noqa: E402
from artforge.generation.train_config import TrainConfig  # noqa: E402
from artforge.generation.training import train  # noqa: E402

DEMO = {"steps": 1000, "size": 32, "width": 16}  # the cgan step of examples/demo.sh
HELD_OUT = ("red triangle", "green circle", "blue diamond", "yellow square")  # one per shape, four colours
HEADS = {"shape": list(SHAPES), "colour": list(SHAPE_COLOURS), "background": list(BACKGROUNDS)}
JUDGE_SEED, JUDGE_DATA_SEED, JUDGE_TEST_SEED = 7, 101, 102  # builtin:shapes is seed 0, the feature net 1 and 2


class Judge(nn.Module):
    """The independent classifier: strided 5x5 convolutions, GroupNorm, GELU (the feature net uses 3x3
    convolutions, BatchNorm, ReLU and max-pooling), one head per attribute."""

    def __init__(self, width: int = 24):
        super().__init__()

        def down(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 5, 2, 2), nn.GroupNorm(4, cout), nn.GELU()]

        self.body = nn.Sequential(*down(3, width), *down(width, 2 * width), *down(2 * width, 4 * width),
                                  nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * width * 16, 96), nn.GELU())
        self.heads = nn.ModuleDict({h: nn.Linear(96, len(n)) for h, n in HEADS.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.body(x)  # x: (B, 3, 32, 32) in [-1, 1]
        return {name: head(h) for name, head in self.heads.items()}

    @torch.inference_mode()
    def predict(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.eval()
        if images.shape[-1] != 32:
            images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False, antialias=True)
        out = [self(images[i:i + 256]) for i in range(0, len(images), 256)]
        return {h: torch.cat([o[h] for o in out]).argmax(1) for h in HEADS}


def _targets(captions: list[str]) -> dict[str, torch.Tensor]:
    """"a {colour} {shape} on {background}" -> class index per head."""
    words = [c.split() for c in captions]
    return {"colour": torch.tensor([HEADS["colour"].index(w[1]) for w in words]),
            "shape": torch.tensor([HEADS["shape"].index(w[2]) for w in words]),
            "background": torch.tensor([HEADS["background"].index(w[4]) for w in words])}


def train_judge(count: int, steps: int) -> tuple[Judge, dict[str, float]]:
    """Train the judge on fresh shapes (32 px) and measure it on another fresh set."""
    torch.manual_seed(JUDGE_SEED)
    data = shapes_dataset(count, 32, seed=JUDGE_DATA_SEED)
    x, y = to_float(data.images), _targets(data.captions)
    judge = Judge()
    opt = torch.optim.AdamW(judge.parameters(), lr=2e-3, weight_decay=1e-4)
    for step in range(steps):
        judge.train()
        index = torch.randint(len(x), (128,))
        logits = judge(x[index])
        loss = sum(F.cross_entropy(logits[h], y[h][index]) for h in HEADS)
        opt.zero_grad()
        loss.backward()
        opt.step()
    test = shapes_dataset(max(200, count // 5), 32, seed=JUDGE_TEST_SEED)
    predicted, truth = judge.predict(to_float(test.images)), _targets(test.captions)
    return judge, {h: round(float((predicted[h] == truth[h]).float().mean()), 4) for h in HEADS}


def write_training_data(folder: Path, count: int, size: int) -> int:
    """builtin:shapes (seed 0) without the held-out pairs, as a folder with captions.csv; returns how many."""
    drawn = shapes_dataset(int(count * 1.4) + 16, size, seed=0)
    kept = [(im, c) for im, c in zip(drawn.images, drawn.captions) if not any(p in c for p in HELD_OUT)][:count]
    folder.mkdir(parents=True)
    with open(folder / "captions.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("file", "caption"))
        for index, (image, caption) in enumerate(kept):
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{index:05d}.png")
            writer.writerow((f"{index:05d}.png", caption))
    return len(kept)


def score(checkpoint: str, judge: Judge, per_prompt: int, natural: bool = False) -> dict[str, dict[str, float]]:
    """Accuracy per attribute over seen and held-out pairs (``natural``: prompts phrased as a person might)."""
    model = load_model(checkpoint)
    totals = {group: {h: 0 for h in HEADS} for group in ("seen", "held_out")}
    counts = {"seen": 0, "held_out": 0}
    for colour in HEADS["colour"]:
        for shape in HEADS["shape"]:
            for background in HEADS["background"]:
                caption = f"a {colour} {shape} on {background}"
                prompt = f"{colour} {shape} on a {background} background" if natural else caption
                group = "held_out" if f"{colour} {shape}" in HELD_OUT else "seen"
                predicted = judge.predict(sample(model, list(range(per_prompt)), prompt=prompt))
                truth = _targets([caption])
                for h in HEADS:
                    totals[group][h] += int((predicted[h] == truth[h]).sum())
                counts[group] += per_prompt
    return {g: {h: round(v / counts[g], 4) for h, v in heads.items()} for g, heads in totals.items()}


def curve(args, judge: Judge, judge_accuracy: dict[str, float], started: float) -> None:
    """Train the slot model once to the last of ``args.curve``'s steps and score the checkpoint at each."""
    budgets = sorted(int(s) for s in args.curve.split(","))
    every = budgets[0]
    for b in budgets[1:]:
        every = __import__("math").gcd(every, b)
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images = write_training_data(root / "data", args.images, args.size)
        run = Path(args.run) if args.run else root / "run"
        config = TrainConfig(model="cgan", data=str(root / "data"), image_size=args.size, steps=budgets[-1],
                             seed=args.seed, out=str(root / "run"), sample_every=10**9, checkpoint_every=every,
                             keep_checkpoints=10**6, model_options={"g_width": args.width, "d_width": args.width,
                                                                    "encoder": "slots", **json.loads(args.options)})
        last = train(config).seconds if not args.run else float("nan")
        elapsed = {}
        with open(run / "metrics.jsonl") as handle:
            for line in handle:
                record = json.loads(line)
                if "step" in record and "elapsed" in record:
                    elapsed[record["step"]] = record["elapsed"]
        for steps in budgets:
            accuracy = score(str(run / "checkpoints" / f"ckpt-{steps:08d}.pt"), judge, args.per_prompt)
            seconds = elapsed.get(steps, last if steps == budgets[-1] else float("nan"))
            results[str(steps)] = {"train_seconds": round(seconds, 1), "accuracy": accuracy}
            rows.append([steps, round(seconds, 1), *(accuracy[g][h] for g in ("seen", "held_out") for h in HEADS)])
            print(rows[-1], flush=True)
    print_table(f"Slot model against training steps, read by the independent judge: {images} training images "
                f"without {', '.join(HELD_OUT)}; width {args.width}, {args.size} px, options {args.options}; "
                f"{args.per_prompt} samples per prompt", ["steps", "train s",
                *(f"{g} {h}" for g in ("seen", "held-out") for h in HEADS)], rows)
    print(f"total {time.perf_counter() - started:.0f} s")
    save_results(args.out, "prompts-curve", {"args": {k: str(v) for k, v in vars(args).items()},
                                             "held_out": HELD_OUT, "judge_accuracy": judge_accuracy,
                                             "results": results, "seconds": round(time.perf_counter() - started, 1)})


def main() -> None:
    parser = bench_parser(__doc__, "prompts")
    parser.add_argument("--steps", type=int, default=DEMO["steps"], help="Training steps (default: the demo's).")
    parser.add_argument("--width", type=int, default=DEMO["width"])
    parser.add_argument("--size", type=int, default=DEMO["size"])
    parser.add_argument("--images", type=int, default=2048, help="Training images (builtin:shapes' default).")
    parser.add_argument("--per-prompt", type=int, default=20, help="Samples per prompt (60 prompts).")
    parser.add_argument("--judge-steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="A smoke run: tiny data, few steps.")
    parser.add_argument("--curve", default="", help="Comma-separated steps: train the slot model once to the "
                        "last and score the checkpoint at each (no GRU baseline).")
    parser.add_argument("--run", default="", help="With --curve: score the checkpoints of this run folder "
                        "(OUT/checkpoints/ckpt-N.pt, OUT/metrics.jsonl) instead of training one.")
    parser.add_argument("--options", default="{}", help="Extra model options as JSON (with --curve).")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.images, args.per_prompt, args.judge_steps, args.width = 4, 128, 2, 30, 8
    started = time.perf_counter()
    judge, judge_accuracy = train_judge(600 if args.quick else 4000, args.judge_steps)
    print(f"judge on fresh real shapes: {judge_accuracy}", flush=True)
    if args.curve:
        if args.quick:
            args.curve = "2,4"
        curve(args, judge, judge_accuracy, started)
        return
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images = write_training_data(root / "data", args.images, args.size)
        for encoder in ("slots", "gru"):
            config = TrainConfig(model="cgan", data=str(root / "data"), image_size=args.size, steps=args.steps,
                                 seed=args.seed, out=str(root / encoder), sample_every=10**9,
                                 checkpoint_every=10**9, model_options={"g_width": args.width, "d_width": args.width,
                                                                        "encoder": encoder})
            result = train(config)
            variants = [(encoder, False)] + ([(f"{encoder}, natural phrasing", True)] if encoder == "slots" else [])
            for name, natural in variants:
                accuracy = score(result.checkpoint, judge, args.per_prompt, natural)
                results[name] = {"train_seconds": round(result.seconds, 1), "accuracy": accuracy}
                rows.append([name, result.step, round(result.seconds, 1),
                             *(accuracy[g][h] for g in ("seen", "held_out") for h in HEADS)])
    ratios = {f"{g}_{h}": round(results["slots"]["accuracy"][g][h] / max(results["gru"]["accuracy"][g][h], 1e-9), 3)
              for g in ("seen", "held_out") for h in HEADS}
    print_table(f"Prompt accuracy read by an independent judge: {images} training images without "
                f"{', '.join(HELD_OUT)}; {args.steps} steps, width {args.width}, {args.size} px; "
                f"{args.per_prompt} samples per prompt", ["encoder", "steps", "train s",
                *(f"{g} {h}" for g in ("seen", "held-out") for h in HEADS)], rows)
    print(f"slots / gru: {ratios}")
    print(f"total {time.perf_counter() - started:.0f} s")
    save_results(args.out, "prompts", {"args": {k: str(v) for k, v in vars(args).items()}, "held_out": HELD_OUT,
                                       "judge_accuracy": judge_accuracy, "results": results, "ratios": ratios,
                                       "seconds": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
