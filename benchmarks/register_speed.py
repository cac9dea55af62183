"""Registration throughput and verify latency against a registry of many works.

Measures, in a fresh artforge home in a temp folder:

1. registration: ``--count`` distinct small procedural images (64..128 px, PNG/JPEG mix, one seed each)
   registered with :func:`artforge.registration.register_images` in batches of ``--batch``; works/s
   overall and per batch, with the time split between fingerprinting, signing and the registry write
   (measured by thin timing wrappers around those three calls; nothing in artforge is changed);
2. the baseline matcher's linear scan: time of one no-match :class:`artforge.verify.HashMatcher` lookup
   after each batch, i.e. against a growing registry;
3. verify: :func:`artforge.verify.verify_images` called once per image on ``--probes`` modified copies
   of registered works (JPEG re-encode, slight resize) and ``--probes`` unrelated images; p50/p95
   latency per image, the share spent matching, and the match rate (a modified copy counts as matched
   when the verdict names its own original; an unrelated image when the verdict is no-match).

Run from the repository root:

    .venv/bin/python benchmarks/register_speed.py                     # 10,000 works, about 2 minutes
    .venv/bin/python benchmarks/register_speed.py --count 2000 --profile --out /tmp/reg.json

``--profile`` runs the registration under cProfile and prints the top functions (throughput is then
lower than without it).  Results are printed and written as JSON (default
``benchmarks/results/register_speed.json``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (RESULTS_DIR, environment, mean, percentile, print_table,  # noqa: E402
                     write_images, write_json)

import artforge.registration as registration  # noqa: E402
from artforge.config import Settings  # noqa: E402
from artforge.fingerprint import fingerprint_file  # noqa: E402
from artforge.home import Home, init_home  # noqa: E402
from artforge.registry import Registry  # noqa: E402
from artforge.verify import MATCH_THRESHOLD, HashMatcher, verify_images  # noqa: E402

LICENCE = "CC-BY-4.0"
# How each disputed copy is made from its original (cycled over the probes).
MODIFICATIONS = ("jpeg-q75", "resize-0.9x", "resize-1.1x+jpeg-q85", "jpeg-q90")


class Stopwatch:
    """Accumulated seconds per named call, for the wrappers below."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

        return timed


def instrument(watch: Stopwatch) -> Callable[[], None]:
    """Time fingerprinting, signing and the registry insert inside register_images; returns an undo."""
    saved = (registration.fingerprint_all, registration.sign_payload, Registry.insert_work)
    registration.fingerprint_all = watch.wrap("fingerprint", saved[0])
    registration.sign_payload = watch.wrap("sign (canonical JSON + Ed25519)", saved[1])
    Registry.insert_work = watch.wrap("registry insert_work", saved[2])

    def undo() -> None:
        registration.fingerprint_all, registration.sign_payload, Registry.insert_work = saved

    return undo


def make_probe(original: Path, modification: str, out: Path) -> Path:
    """A disputed copy of ``original``: re-encoded and/or slightly resized."""
    with Image.open(original) as opened:
        image = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
    if modification.startswith("resize"):
        factor = float(modification.split("-")[1].split("x")[0])
        image = image.resize((max(8, round(image.width * factor)), max(8, round(image.height * factor))),
                             Image.Resampling.LANCZOS)
    if "jpeg" in modification:
        quality = int(modification.rsplit("q", 1)[1])
        path = out.with_suffix(".jpg")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
        background.save(path, quality=quality)
    else:
        path = out.with_suffix(".png")
        image.save(path)
    return path


def scan_ms(home: Home, probe: Path) -> float:
    """Milliseconds for one HashMatcher lookup of a non-matching image (a full linear scan)."""
    fingerprint = fingerprint_file(probe)
    with home.registry() as registry:
        start = time.perf_counter()
        HashMatcher().candidates(registry, fingerprint)
        return 1000 * (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="images to register (default 10000)")
    parser.add_argument("--batch", type=int, default=500, help="images per register_images call (default 500)")
    parser.add_argument("--workers", type=int, default=None, help="fingerprint workers (default: all cores)")
    parser.add_argument("--probes", type=int, default=20,
                        help="modified copies, and as many unrelated images, to verify (default 20 + 20)")
    parser.add_argument("--min-side", type=int, default=64, help="smallest long side in px (default 64)")
    parser.add_argument("--max-side", type=int, default=128, help="largest long side in px (default 128)")
    parser.add_argument("--profile", action="store_true", help="run registration under cProfile, print hot spots")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "register_speed.json", help="JSON output path")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="artforge-bench-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        paths = write_images(tmp / "works", range(args.count), args.min_side, args.max_side)
        unrelated = write_images(tmp / "unrelated", range(10_000_000, 10_000_000 + args.probes),
                                 args.min_side, args.max_side, prefix="other-")
        print(f"drew {len(paths)} images in {time.perf_counter() - start:.1f} s")

        home = Home(settings=Settings(home=tmp / "home"))
        init_home(home)

        # -- 1. registration, batch by batch, with a scan timing after each batch ----------------------
        watch = Stopwatch()
        undo = instrument(watch)
        profiler = cProfile.Profile() if args.profile else None
        batches: list[dict[str, Any]] = []
        work_ids: dict[str, str] = {}
        created = 0
        register_s = 0.0
        try:
            for first in range(0, len(paths), args.batch):
                batch = paths[first:first + args.batch]
                start = time.perf_counter()
                if profiler:
                    profiler.enable()
                results = registration.register_images(home, batch, licence_id=LICENCE, workers=args.workers)
                if profiler:
                    profiler.disable()
                seconds = time.perf_counter() - start
                register_s += seconds
                created += sum(r.created for r in results)
                work_ids.update((r.path, r.work_id) for r in results)
                batches.append({"registered": first + len(batch), "seconds": round(seconds, 3),
                                "works_per_s": round(len(batch) / seconds, 1),
                                "scan_ms": round(scan_ms(home, unrelated[0]), 2)})
                print(f"  {first + len(batch):>6} registered, batch {seconds:5.2f} s "
                      f"({len(batch) / seconds:6.1f} works/s), no-match scan {batches[-1]['scan_ms']:7.1f} ms",
                      flush=True)
        finally:
            undo()
        split = {name: round(s, 3) for name, s in watch.seconds.items()}
        split["other (checks, identity, transaction, dedup lookup)"] = round(register_s - sum(watch.seconds.values()), 3)

        # -- 2. verify latency, one call per image ----------------------------------------------------
        step = max(1, len(paths) // args.probes)
        originals = paths[::step][:args.probes]
        probe_dir = tmp / "probes"
        probe_dir.mkdir()
        modified: list[tuple[Path, str, str | None]] = [(make_probe(p, MODIFICATIONS[i % len(MODIFICATIONS)], probe_dir / f"probe-{i:03d}"),
                     MODIFICATIONS[i % len(MODIFICATIONS)], work_ids[str(p)]) for i, p in enumerate(originals)]
        probe_paths = {p.name: p for p in [m[0] for m in modified] + list(unrelated)}
        verify_images(home, [unrelated[0]])  # warm-up: imports, page cache
        rows: list[dict[str, Any]] = []
        for path, kind, expected in modified + [(p, "unrelated", None) for p in unrelated]:
            start = time.perf_counter()
            report = verify_images(home, [path], workers=args.workers)[0]
            seconds = time.perf_counter() - start
            matched = report.match.work_id if report.match else None
            correct = matched == expected if expected else report.verdict == "no-match"
            rows.append({"path": path.name, "kind": kind, "verdict": report.verdict, "correct": correct,
                         "latency_ms": 1000 * seconds, "score": report.match.score if report.match else None,
                         "best_candidate_score": report.candidates[0].score if report.candidates else None})
        # Where a verify's time goes: fingerprint the probe, then the matcher (exact lookups + scan).
        # Also the margin: the unrelated images' nearest registered work, whatever its score.
        fp_ms: list[float] = []
        match_ms: list[float] = []
        nearest = HashMatcher(threshold=float("inf"))
        with home.registry() as registry:
            for row in rows:
                if row["kind"] == "unrelated":
                    found = nearest.candidates(registry, fingerprint_file(probe_paths[row["path"]]))
                    row["nearest_score"] = found[0].score if found else None
            for path, _, _ in modified[:5]:
                start = time.perf_counter()
                fingerprint = fingerprint_file(path)
                middle = time.perf_counter()
                HashMatcher().candidates(registry, fingerprint)
                fp_ms.append(1000 * (middle - start))
                match_ms.append(1000 * (time.perf_counter() - middle))
        # One batched call for all probes (a worker pool, one registry open).
        all_probes = [p for p, _, _ in modified] + list(unrelated)
        start = time.perf_counter()
        verify_images(home, all_probes, workers=args.workers)
        batch_verify_ms = 1000 * (time.perf_counter() - start) / len(all_probes)
        db = home.settings.registry_path
        db_mb = sum(f.stat().st_size for f in (db, db.with_name(db.name + "-wal")) if f.exists()) / 1e6

    # -- report ---------------------------------------------------------------------------------------
    n = len(paths)
    print_table(f"Registering {n} images ({args.min_side}-{args.max_side} px) in batches of {args.batch}",
                ["measure", "value"],
                [["works registered (created)", created],
                 ["total seconds", round(register_s, 2)],
                 ["works/s overall", n / register_s],
                 ["works/s, first batch", batches[0]["works_per_s"]],
                 ["works/s, last batch", batches[-1]["works_per_s"]],
                 ["registry size incl. WAL (MB)", round(db_mb, 1)]])
    print_table("Where registration time goes", ["part", "seconds", "% of total", "ms per work"],
                [[name, s, 100 * s / register_s, 1000 * s / n] for name, s in split.items()])
    shown = sorted({0, len(batches) - 1, *range(0, len(batches), max(1, len(batches) // 5))})
    print_table("No-match linear scan vs registry size (HashMatcher.candidates)", ["works", "scan ms"],
                [[batches[i]["registered"], batches[i]["scan_ms"]] for i in shown])

    def latency_row(label: str, subset: list[dict[str, Any]]) -> list[Any]:
        latencies = [r["latency_ms"] for r in subset]
        return [label, len(subset), percentile(latencies, 50), percentile(latencies, 95),
                max(latencies), f"{sum(r['correct'] for r in subset)}/{len(subset)}"]

    mods = [r for r in rows if r["kind"] != "unrelated"]
    others = [r for r in rows if r["kind"] == "unrelated"]
    table = [latency_row("modified copies (match = own original)", mods),
             latency_row("unrelated images (match = no-match)", others),
             latency_row("all", rows)]
    table += [latency_row(f"  {kind}", [r for r in mods if r["kind"] == kind]) for kind in MODIFICATIONS]
    print_table(f"verify_images, one call per image, against {n} works",
                ["probes", "n", "p50 ms", "p95 ms", "max ms", "correct"], table)
    print(f"per verify: fingerprint {mean(fp_ms):.1f} ms + matcher {mean(match_ms):.1f} ms "
          f"(mean of {len(fp_ms)}); one batched call for all {len(all_probes)} probes: {batch_verify_ms:.1f} ms/image")
    near = [r["nearest_score"] for r in others if r.get("nearest_score") is not None]
    worst_match = max((r["score"] for r in mods if r["score"] is not None), default=float("nan"))
    print(f"scores (0 = identical, match <= {MATCH_THRESHOLD}): modified copies' worst {worst_match:.3f}; "
          f"unrelated images' nearest work: min {min(near, default=float('nan')):.3f}, "
          f"median {percentile(near, 50):.3f}")
    wrong = [r for r in rows if not r["correct"]]
    for r in wrong:
        print(f"  miss: {r['path']} ({r['kind']}): verdict {r['verdict']}, best candidate score "
              f"{r['best_candidate_score']}")

    profile_top: list[str] = []
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
        profile_top = stream.getvalue().splitlines()
        print("\ncProfile of registration (cumulative, top 25):")
        print("\n".join(profile_top))

    result = {
        "benchmark": "register_speed",
        "environment": {**environment(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "count": n, "batch": args.batch, "workers": args.workers, "profiled": args.profile,
        "image_sides": [args.min_side, args.max_side],
        "registration": {"created": created, "seconds": round(register_s, 3),
                         "works_per_s": round(n / register_s, 2), "split_seconds": split, "batches": batches,
                         "registry_mb": round(db_mb, 2)},
        "verify": {
            "per_image_calls": {
                "modified": {"n": len(mods), "p50_ms": round(percentile([r["latency_ms"] for r in mods], 50), 2),
                             "p95_ms": round(percentile([r["latency_ms"] for r in mods], 95), 2),
                             "match_rate": round(sum(r["correct"] for r in mods) / len(mods), 4)},
                "unrelated": {"n": len(others),
                              "p50_ms": round(percentile([r["latency_ms"] for r in others], 50), 2),
                              "p95_ms": round(percentile([r["latency_ms"] for r in others], 95), 2),
                              "no_match_rate": round(sum(r["correct"] for r in others) / len(others), 4)},
                "all": {"p50_ms": round(percentile([r["latency_ms"] for r in rows], 50), 2),
                        "p95_ms": round(percentile([r["latency_ms"] for r in rows], 95), 2)},
            },
            "fingerprint_ms_mean": round(mean(fp_ms), 2),
            "matcher_ms_mean": round(mean(match_ms), 2),
            "batched_ms_per_image": round(batch_verify_ms, 2),
            "match_threshold": MATCH_THRESHOLD,
            "modified_worst_score": worst_match,
            "unrelated_nearest_score_min": min(near, default=None),
            "probes": [{**r, "latency_ms": round(r["latency_ms"], 2)} for r in rows],
        },
        "profile_top": profile_top,
    }
    print(f"wrote {write_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
