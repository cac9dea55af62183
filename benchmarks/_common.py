"""The benchmarks' one harness: procedural test images, statistics, tables, the command line and JSON results.

Not a benchmark itself.  Every script builds its parser with :func:`bench_parser` (``--out`` defaults to
``benchmarks/results/<name>.json``), prints tables with :func:`print_table` and ends with :func:`save_results`,
which records the environment beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from artforge.generation.procedural import draw_art

RESULTS_DIR = Path(__file__).resolve().parent / "results"


# -- images ---------------------------------------------------------------------------------------------
def _write_one(job: tuple[int, int, int, str, str]) -> str:
    """Draw and save one image (``seed, min_side, max_side, folder, prefix``); returns its path."""
    seed, min_side, max_side, folder, prefix = job
    rng = np.random.default_rng(10_000_019 + seed)
    long_side = int(rng.integers(min_side, max_side + 1))
    aspect = float(rng.choice([1.0, 4 / 3, 3 / 2, 16 / 9, 2.0]))
    short_side = max(8, int(round(long_side / aspect)))
    size = (long_side, short_side) if rng.random() < 0.6 else (short_side, long_side)
    image = draw_art(seed, size)
    kind = rng.random()
    if kind < 0.45:  # JPEG, a range of qualities
        path = Path(folder) / f"{prefix}{seed:06d}.jpg"
        image.save(path, quality=int(rng.integers(75, 96)))
    elif kind < 0.55:  # PNG with transparency (exercises the RGBA path)
        alpha = Image.linear_gradient("L").resize(image.size).point(lambda v: 60 + v * 195 // 255)
        image.putalpha(alpha)
        path = Path(folder) / f"{prefix}{seed:06d}.png"
        image.save(path)
    elif kind < 0.62:  # greyscale PNG
        path = Path(folder) / f"{prefix}{seed:06d}.png"
        image.convert("L").save(path)
    else:  # plain RGB PNG
        path = Path(folder) / f"{prefix}{seed:06d}.png"
        image.save(path)
    return str(path)


def write_images(folder: Path, seeds: Sequence[int], min_side: int, max_side: int, *,
                 prefix: str = "art-", workers: int | None = None) -> list[Path]:
    """Write one image per seed (long side in ``[min_side, max_side]``, PNG/JPEG mix); paths in seed order."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, min_side, max_side, str(folder), prefix) for seed in seeds]
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(jobs) < 8:
        return [Path(p) for p in map(_write_one, jobs)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [Path(p) for p in pool.map(_write_one, jobs, chunksize=max(1, len(jobs) // (workers * 8)))]


def describe_images(paths: Sequence[Path]) -> dict[str, Any]:
    """Counts by format, pixel and byte totals: what the benchmark ran on."""
    formats: dict[str, int] = {}
    pixels = 0
    for path in paths:
        with Image.open(path) as image:
            key = f"{image.format} {image.mode}"
            formats[key] = formats.get(key, 0) + 1
            pixels += image.width * image.height
    return {
        "count": len(paths),
        "formats": dict(sorted(formats.items())),
        "megapixels": round(pixels / 1e6, 2),
        "megabytes": round(sum(p.stat().st_size for p in paths) / 1e6, 2),
    }


# -- statistics, tables, results --------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation; NaN for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain, aligned text table (first column left-aligned, the rest right-aligned)."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    print(f"\n{title}")
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) < 1:
            return f"{value:.3f}"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def environment() -> dict[str, Any]:
    """Where the numbers came from."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("artforge", "pillow", "numpy", "scipy", "imagehash", "pdqhash", "sqlite-utils", "cryptography"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cores_usable": cores,
        "packages": versions,
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write results as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def median_ms(samples: Sequence[float]) -> float:
    """The median of durations in seconds, in milliseconds (3 decimals)."""
    return round(1000 * statistics.median(samples), 3)


def bench_parser(doc: str | None, name: str) -> argparse.ArgumentParser:
    """The script's parser: described by its docstring's first line, with ``--out`` for its JSON results."""
    parser = argparse.ArgumentParser(description=(doc or name).splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / f"{name}.json", help="JSON output path")
    return parser


def save_results(path: Path, name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` as the benchmark's JSON results (named, with the environment unless it carries its own)
    and say where."""
    document = {"benchmark": name, **data}
    document.setdefault("environment", environment())
    print(f"wrote {write_json(path, document)}", flush=True)
    return path
