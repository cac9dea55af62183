"""Style transfer: artforge's optimisation against the plain Gatys loop at equal time; the fast network's speed.

For each content/style pair of scikit-image's photographs (nothing downloaded):

* **reference**: the loop a user would write from the PyTorch tutorial ("Neural Transfer Using PyTorch"):
  the content picture as the start, ``torch.optim.LBFGS`` with its defaults, full size, clamped to [0, 1].
  It optimises the same objective as artforge (the same feature net, layers, weights and normalisation),
  so the comparison is of the procedure, not of the loss.  Where it diverges (NaN) the table says so, and
  the ratios are taken against the same loop with L-BFGS's strong-Wolfe line search, the usual fix;
* **artforge**: :func:`~artforge.generation.style_transfer.stylize_by_optimisation` with the same time,
  and an ablation with coarse-to-fine (``levels=2``).

Both results are scored with the shipped feature net (the objective both optimise) and with a second,
independent net (another architecture: random multi-scale filters, the texture model of Ustyuzhaninov et
al. 2016), so a gain that only exists in the metric being optimised would show.  Lower is better.

The fast network is then trained for one style (``--train-seconds``) and timed: images per second at the
benchmark size, against the optimisation's seconds per image.  A sample sheet goes to docs/images/.

    python benchmarks/style.py                  # about 6 minutes on a laptop CPU
    python benchmarks/style.py --quick          # a smoke run (seconds)
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402

from artforge.generation.photos import builtin_photos, to_image  # noqa: E402
from artforge.generation.style_features import StyleFeatures, load_style_features  # noqa: E402
from artforge.generation.style_network import (  # noqa: E402
    StyleTrainConfig,
    apply_style_network,
    load_style_network,
    train_style_network,
)
from artforge.generation.style_transfer import (  # noqa: E402
    GatysConfig,
    StyleObjective,
    StyleWeights,
    resize_long_side,
    stylize_by_optimisation,
)

PAIRS = (("chelsea", "immunohistochemistry"), ("astronaut", "gravel"), ("coffee", "hubble_deep_field"),
         ("rocket", "brick"))
# artforge's default, and the ablations: each differs from it in one setting.
VARIANTS = {"artforge": {}, "one_level": {"levels": 1}}
SHEET = Path(__file__).resolve().parents[1] / "docs" / "images" / "style-sheet.png"


def reference_loop(content: torch.Tensor, style: torch.Tensor, net: StyleFeatures, size: int,
                   seconds: float, line_search: str | None = None) -> tuple[torch.Tensor, int]:
    """The tutorial's loop: content init, default L-BFGS, full size, clamped to [0, 1], until time is up."""
    objective = StyleObjective(net, content, style, size, StyleWeights())
    image = objective.content.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS([image], line_search_fn=line_search)
    evaluations, started = 0, time.perf_counter()

    def closure() -> torch.Tensor:
        nonlocal evaluations
        with torch.no_grad():
            image.clamp_(0, 1)
        optimiser.zero_grad()
        total, _ = objective.losses(image)
        total.backward()
        evaluations += 1
        return total

    while time.perf_counter() - started < seconds:
        optimiser.step(closure)
    with torch.no_grad():
        image.clamp_(0, 1)
    return image.detach()[0], evaluations


def second_net(seed: int = 1) -> StyleFeatures:
    """An independent scorer: random filters, wider and shallower (3 blocks of 64-128-256), He-initialised."""
    torch.manual_seed(seed)
    net = StyleFeatures(((64,), (128, 128), (256, 256)))
    for conv in net.convs:
        torch.nn.init.kaiming_normal_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    return net.eval().requires_grad_(False)


def score(image: torch.Tensor, content: torch.Tensor, style: torch.Tensor, net: StyleFeatures, size: int) -> dict:
    objective = StyleObjective(net, content, style, size, StyleWeights())
    with torch.no_grad():
        _, terms = objective.losses(resize_long_side(image, size)[None])
    return terms.to_dict()


def _sheet(rows: list[list[torch.Tensor]], path: Path, cell: int = 160) -> None:
    labels = ("content", "style", "Gatys loop (L-BFGS)", "artforge (same time)", "artforge network")
    sheet = Image.new("RGB", (cell * len(labels), (cell + 18) * len(rows) + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for column, label in enumerate(labels):
        draw.text((column * cell + 4, 3), label, fill="black")
    for r, row in enumerate(rows):
        for column, tensor in enumerate(row):
            picture = to_image(tensor)
            picture.thumbnail((cell - 4, cell - 4))
            sheet.paste(picture, (column * cell + 2, 18 + r * (cell + 18) + 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)


def main() -> None:
    parser = bench_parser(__doc__, "style")
    parser.add_argument("--seconds", type=float, default=30.0, help="Optimisation time per picture, each method.")
    parser.add_argument("--size", type=int, default=256, help="Long side of the results.")
    parser.add_argument("--pairs", type=int, default=len(PAIRS))
    parser.add_argument("--train-seconds", type=float, default=120.0, help="Training time of the fast network.")
    parser.add_argument("--sheet", type=Path, default=SHEET)
    parser.add_argument("--no-network", action="store_true", help="Skip training and timing the fast network.")
    parser.add_argument("--quick", action="store_true", help="Smoke run: 2 s, 64 px, one pair, no sheet.")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.size, args.pairs, args.train_seconds, args.sheet = 2.0, 64, 1, 3.0, None
    torch.set_num_threads(max(1, torch.get_num_threads()))
    photos = dict(builtin_photos())
    net, independent = load_style_features(), second_net()
    rows, sheet_rows = [], []
    methods = ("tutorial", "line_search", *VARIANTS)
    for content_name, style_name in PAIRS[: args.pairs]:
        content, style = photos[content_name], photos[style_name]
        outputs = {"tutorial": reference_loop(content, style, net, args.size, args.seconds)[0],
                   "line_search": reference_loop(content, style, net, args.size, args.seconds, "strong_wolfe")[0]}
        for method, options in VARIANTS.items():
            config = GatysConfig(size=args.size, time_budget=args.seconds, **options)
            outputs[method] = stylize_by_optimisation(content, style, net, config)[0]
        result = {"pair": f"{content_name} / {style_name}"}
        for label, scorer in (("shipped", net), ("independent", independent)):
            for method in methods:
                result[f"{method}_{label}"] = score(outputs[method], content, style, scorer, args.size)
        rows.append(result)
        sheet_rows.append([resize_long_side(content, args.size), resize_long_side(style, args.size),
                           outputs["line_search"], outputs["artforge"]])

    def ratio(method: str, scorer: str, term: str) -> float:
        return statistics.median(r[f"{method}_{scorer}"][term] / r[f"line_search_{scorer}"][term] for r in rows)

    def shown(value: float) -> str:
        return "diverged" if math.isnan(value) else f"{value:.4g}"

    table = [[r["pair"], *[shown(r[f"{m}_{scorer}"][term]) for scorer, term in
                           (("shipped", "total"), ("shipped", "style"), ("shipped", "content"),
                            ("independent", "total")) for m in methods]] for r in rows]
    headers = [f"{label} {m}" for label in ("total", "style", "content", "total (indep.)") for m in
               ("tutorial", "l.search", *VARIANTS)]
    print_table(f"Optimisation at equal time ({args.seconds:.0f} s, {args.size} px): loss, lower is better",
                ["pair", *headers], table)
    summary = {f"{method}_{scorer}_{term}_ratio": round(ratio(method, scorer, term), 3)
               for method in VARIANTS for scorer in ("shipped", "independent")
               for term in ("total", "style", "content")}
    summary["tutorial_diverged"] = sum(math.isnan(r["tutorial_shipped"]["total"]) for r in rows)
    print_table("against the line-search loop (median over pairs; < 1 is better)", ["measure", "ratio"],
                [[k, v] for k, v in summary.items()])

    if args.no_network:
        save_results(args.out, "style", {"args": {k: str(v) for k, v in vars(args).items()}, "pairs": rows,
                                         "summary": summary})
        return
    with tempfile.TemporaryDirectory() as tmp:
        style_path = Path(tmp) / "style.png"
        to_image(photos[PAIRS[0][1]]).save(style_path)
        trained = train_style_network(StyleTrainConfig(style=str(style_path), out=tmp, steps=None,
                                                       time_budget=args.train_seconds))
        model = load_style_network(trained.checkpoint)
    timings, fast_outputs = [], []
    for content_name, _ in PAIRS[: args.pairs]:
        content = resize_long_side(photos[content_name], args.size)
        apply_style_network(model, content)  # warm-up
        started = time.perf_counter()
        for _ in range(5):
            output = apply_style_network(model, content)
        timings.append((time.perf_counter() - started) / 5)
        fast_outputs.append(output)
    per_image = statistics.median(timings)
    network = {"train_seconds": trained.seconds, "train_steps": trained.step,
               "images_per_second": round(1 / per_image, 2), "optimisation_seconds_per_image": args.seconds,
               "speed_up": round(args.seconds / per_image, 1),
               "artforge_shipped_first_pair": score(fast_outputs[0], photos[PAIRS[0][0]], photos[PAIRS[0][1]], net,
                                                    args.size)}
    print_table(f"Fast network ({PAIRS[0][1]} style, trained {trained.seconds:.0f} s, {trained.step} steps)",
                ["images/s", "optimisation s/image", "speed-up", "total loss (first pair)"],
                [[network["images_per_second"], args.seconds, network["speed_up"],
                  network["artforge_shipped_first_pair"]["total"]]])
    if args.sheet:
        sheet_rows[0].append(fast_outputs[0])
        _sheet(sheet_rows, args.sheet)
        print(f"sample sheet: {args.sheet}")
    save_results(args.out, "style", {"args": {k: str(v) for k, v in vars(args).items()}, "pairs": rows,
                                     "summary": summary, "network": network})


if __name__ == "__main__":
    main()
