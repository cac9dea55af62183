"""Registration throughput, candidate-index lookups and verify latency against a registry of many works.

Measures, in a fresh artforge home in a temp folder:

1. registration: ``--count`` distinct small procedural images (64..128 px, PNG/JPEG mix, one seed each)
   registered with :func:`artforge.usecases.register.register_images` in batches of ``--batch``; works/s
   overall and per batch, with the time split between

   * analysis: decode, fingerprint and the matcher's stored layers (content box, ORB keypoints,
     thumbnail), on ``--workers`` processes (``registration.analyse_all`` with
     :func:`artforge.matching.matcher.analyse_for_registration`);
   * signing: canonical JSON + Ed25519 (``registration.sign_payload``);
   * registry writes: ``Registry.insert_work`` and ``layer_store.put_match_layers``;
   * index sync: ``registration.sync_index``, which rewrites the index file only once
     ``SNAPSHOT_EVERY`` rows have been added since the last snapshot (how many batches did is reported);
   * other: licence/key checks, identity, the transaction and the duplicate-pixels lookup (the rest);

   measured by thin timing wrappers around those calls; nothing in artforge is changed;
2. the candidate index after each batch, i.e. against a growing registry: ``open_index`` (the snapshot
   file plus the rows registered since, built into FAISS indexes; what every ``verify`` call pays once)
   and one :meth:`~artforge.matching.index.MatchIndex.propose` for an unrelated image (its query layers
   computed once, outside the timing);
3. verify: :func:`artforge.usecases.verify.verify_images` called once per image on ``--probes`` modified copies
   of registered works (JPEG re-encode, slight resize) and ``--probes`` unrelated images; p50/p95
   latency per image end to end (load + analysis, index open, exact lookups + layered matcher + work
   details), how that splits (wrappers around ``verify.open_index``, ``verify.decide`` and, inside the
   decision, ``MatchIndex.propose``; the rest of the decision is mostly the pixel comparison), and the
   match rate: a modified copy counts when the verdict is exact-copy, modified-copy or derived-work and
   names its own original; an unrelated image when the verdict is no-match.  Also one batched
   ``verify_images`` call over all probes (a worker pool, one index open).

Run from the repository root:

    .venv/bin/python benchmarks/register_speed.py                     # 10,000 works
    .venv/bin/python benchmarks/register_speed.py --count 2000 --profile --out /tmp/reg.json
    .venv/bin/python benchmarks/register_speed.py --count 300 --batch 100 --probes 10 --out /tmp/reg.json  # smoke

``--profile`` runs the registration under cProfile and prints the top functions (throughput is then
lower than without it).  cProfile sees this process only: with worker processes the analysis shows up
as lock waits; add ``--workers 1`` to profile it inline.  Results are printed and written as JSON (default
``benchmarks/results/register_speed.json``).  Timings need a quiet machine: the load average before and
after is recorded in the JSON.
"""

from __future__ import annotations

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
from _common import bench_parser, environment, mean, percentile, print_table, save_results, write_images  # noqa: E402

import artforge.usecases.register as registration  # noqa: E402
import artforge.usecases.verify as verify  # noqa: E402
from artforge.config import Settings  # noqa: E402
from artforge.imaging import load_image  # noqa: E402
from artforge.matching import calibration as cal  # noqa: E402
from artforge.matching import layer_store  # noqa: E402
from artforge.matching.index import MatchIndex  # noqa: E402
from artforge.matching.index_file import SNAPSHOT_EVERY, index_path, open_index  # noqa: E402
from artforge.matching.layers import QueryLayers  # noqa: E402
from artforge.matching.matcher import MAX_PROPOSALS, analyse_query  # noqa: E402
from artforge.registry.database import Registry  # noqa: E402
from artforge.usecases.home import Home, init_home  # noqa: E402
from artforge.usecases.verify import verify_images  # noqa: E402

LICENCE = "CC-BY-4.0"
# How each disputed copy is made from its original (cycled over the probes).
MODIFICATIONS = ("jpeg-q75", "resize-0.9x", "resize-1.1x+jpeg-q85", "jpeg-q90")
MATCH_VERDICTS = ("exact-copy", "modified-copy", "derived-work")

ANALYSIS = "analysis (fingerprint + matching layers)"
SIGN = "sign (canonical JSON + Ed25519)"
INSERT = "registry insert_work"
LAYERS = "registry put_match_layers"
SYNC = "index sync (sync_index)"


class Stopwatch:
    """Accumulated seconds (and calls) per named call, for the wrappers below."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, name: str, function: Callable[..., Any],
             on_result: Callable[[Any], None] | None = None) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                self.calls[name] = self.calls.get(name, 0) + 1
            if on_result is not None:
                on_result(result)
            return result

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def instrument_registration(watch: Stopwatch, snapshots: list[int]) -> Callable[[], None]:
    """Time analysis, signing, the registry writes and the index sync inside register_images; returns an undo.

    ``snapshots`` gets one entry per ``sync_index`` call that rewrote the index file (it returns the new
    index then, None otherwise).
    """
    saved = (registration.analyse_all, registration.sign_payload, registration.sync_index,
             Registry.insert_work, layer_store.put_match_layers)
    registration.analyse_all = watch.wrap(ANALYSIS, saved[0])
    registration.sign_payload = watch.wrap(SIGN, saved[1])
    registration.sync_index = watch.wrap(SYNC, saved[2],
                                         lambda index: snapshots.append(index.covered_rowid) if index else None)
    Registry.insert_work = watch.wrap(INSERT, saved[3])
    layer_store.put_match_layers = watch.wrap(LAYERS, saved[4])

    def undo() -> None:
        (registration.analyse_all, registration.sign_payload, registration.sync_index,
         Registry.insert_work, layer_store.put_match_layers) = saved

    return undo


def instrument_verify(watch: Stopwatch) -> Callable[[], None]:
    """Time the index open, the decision (exact lookups, layered matcher, work details) and, inside it,
    the index's ``propose``, in verify."""
    saved = (verify.open_index, verify.decide, MatchIndex.propose)
    verify.open_index = watch.wrap("open_index", saved[0])
    verify.decide = watch.wrap("decide", saved[1])
    MatchIndex.propose = watch.wrap("propose", saved[2])

    def undo() -> None:
        verify.open_index, verify.decide, MatchIndex.propose = saved

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


def index_lookup(home: Home, query: QueryLayers) -> dict[str, Any]:
    """``open_index`` and one ``propose`` for a query, timed separately (ms), with what the index holds."""
    with home.registry() as registry:
        start = time.perf_counter()
        index = open_index(registry)
        middle = time.perf_counter()
        proposals = index.propose(query, MAX_PROPOSALS)
        end = time.perf_counter()
    return {"index_open_ms": round(1000 * (middle - start), 2), "propose_ms": round(1000 * (end - middle), 3),
            "proposals": len(proposals), "proposed_works": len({p.rowid for p in proposals}),
            "index_works": index.works, "descriptors": len(index.local_codes), "local_kind": index.local_kind,
            "delta_rows": index.covered_rowid - index.snapshot_rowid}


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser(__doc__, "register_speed")
    parser.add_argument("--count", type=int, default=10_000, help="images to register (default 10000)")
    parser.add_argument("--batch", type=int, default=500, help="images per register_images call (default 500)")
    parser.add_argument("--workers", type=int, default=None, help="analysis workers (default: all cores)")
    parser.add_argument("--probes", type=int, default=20,
                        help="modified copies, and as many unrelated images, to verify (default 20 + 20)")
    parser.add_argument("--min-side", type=int, default=64, help="smallest long side in px (default 64)")
    parser.add_argument("--max-side", type=int, default=128, help="largest long side in px (default 128)")
    parser.add_argument("--profile", action="store_true", help="run registration under cProfile, print hot spots")
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.probes < 1:
        parser.error("--count, --batch and --probes must be at least 1")
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="artforge-bench-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        paths = write_images(tmp / "works", range(args.count), args.min_side, args.max_side)
        # One more unrelated image than probes: the first is the index-lookup query, the rest are verified.
        unrelated = write_images(tmp / "unrelated", range(10_000_000, 10_000_000 + args.probes + 1),
                                 args.min_side, args.max_side, prefix="other-")
        lookup_image, unrelated = unrelated[0], unrelated[1:]
        print(f"drew {len(paths)} images in {time.perf_counter() - start:.1f} s")

        home = Home(settings=Settings(home=tmp / "home"))
        init_home(home)
        lookup_query = analyse_query(load_image(lookup_image, **home.settings.image_limits)).layers
        assert isinstance(lookup_query, QueryLayers)
        index_lookup(home, lookup_query)  # warm-up: imports FAISS, so the first batch's open is not charged for it

        # -- 1. registration, batch by batch, with an index lookup after each batch ----------------------
        watch = Stopwatch()
        snapshots: list[int] = []
        undo = instrument_registration(watch, snapshots)
        profiler = cProfile.Profile() if args.profile else None
        batches: list[dict[str, Any]] = []
        work_ids: dict[str, str] = {}
        created = 0
        register_s = 0.0
        try:
            for first in range(0, len(paths), args.batch):
                batch = paths[first:first + args.batch]
                snapshots_before = len(snapshots)
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
                lookup = index_lookup(home, lookup_query)
                batches.append({"registered": first + len(batch), "seconds": round(seconds, 3),
                                "works_per_s": round(len(batch) / seconds, 1),
                                "index_snapshot_written": len(snapshots) > snapshots_before, **lookup})
                print(f"  {first + len(batch):>6} registered, batch {seconds:5.2f} s "
                      f"({len(batch) / seconds:6.1f} works/s){' +snapshot' if batches[-1]['index_snapshot_written'] else ''}; "
                      f"index open {lookup['index_open_ms']:7.1f} ms (delta {lookup['delta_rows']} rows), "
                      f"propose {lookup['propose_ms']:6.2f} ms", flush=True)
        finally:
            undo()
        split = {name: round(watch.seconds.get(name, 0.0), 3) for name in (ANALYSIS, SIGN, INSERT, LAYERS, SYNC)}
        split["other (checks, identity, transaction, dedup lookup)"] = round(
            register_s - sum(watch.seconds.values()), 3)

        # -- 2. verify latency, one call per image ----------------------------------------------------
        step = max(1, len(paths) // args.probes)
        originals = paths[::step][:args.probes]
        probe_dir = tmp / "probes"
        probe_dir.mkdir()
        modified: list[tuple[Path, str, str | None]] = [
            (make_probe(p, MODIFICATIONS[i % len(MODIFICATIONS)], probe_dir / f"probe-{i:03d}"),
             MODIFICATIONS[i % len(MODIFICATIONS)], work_ids[str(p)]) for i, p in enumerate(originals)]
        verify_images(home, [lookup_image])  # warm-up: imports, page cache
        verify_watch = Stopwatch()
        undo = instrument_verify(verify_watch)
        rows: list[dict[str, Any]] = []
        try:
            for path, kind, expected in modified + [(p, "unrelated", None) for p in unrelated]:
                verify_watch.reset()
                start = time.perf_counter()
                report = verify_images(home, [path], workers=args.workers)[0]
                seconds = time.perf_counter() - start
                matched = report.match.work_id if report.match else None
                if expected:
                    correct = report.verdict in MATCH_VERDICTS and matched == expected
                else:
                    correct = report.verdict == "no-match"
                open_s = verify_watch.seconds.get("open_index", 0.0)
                decide_s = verify_watch.seconds.get("decide", 0.0)
                propose_s = verify_watch.seconds.get("propose", 0.0)
                rows.append({
                    "path": path.name, "kind": kind, "verdict": report.verdict, "correct": correct,
                    "latency_ms": 1000 * seconds, "index_open_ms": 1000 * open_s, "decide_ms": 1000 * decide_s,
                    "propose_ms": 1000 * propose_s, "compare_ms": 1000 * (decide_s - propose_s),
                    "analysis_ms": 1000 * (seconds - open_s - decide_s),
                    "method": report.match.method if report.match else None,
                    "score": report.match.score if report.match else None,
                    "best_candidate_score": max((c.score for c in report.candidates), default=None),
                    "candidates": len(report.candidates), "notes": report.notes})
        finally:
            undo()
        # One batched call for all probes (a worker pool, one registry and index open).
        all_probes = [p for p, _, _ in modified] + list(unrelated)
        start = time.perf_counter()
        verify_images(home, all_probes, workers=args.workers)
        batch_verify_ms = 1000 * (time.perf_counter() - start) / len(all_probes)
        db = home.settings.registry_path
        db_mb = sum(f.stat().st_size for f in (db, db.with_name(db.name + "-wal")) if f.exists()) / 1e6
        index_file = index_path(db)
        index_mb = index_file.stat().st_size / 1e6 if index_file.exists() else 0.0

    # -- report ---------------------------------------------------------------------------------------
    n = len(paths)
    print_table(f"Registering {n} images ({args.min_side}-{args.max_side} px) in batches of {args.batch}",
                ["measure", "value"],
                [["works registered (created)", created],
                 ["total seconds", round(register_s, 2)],
                 ["works/s overall", n / register_s],
                 ["works/s, first batch", batches[0]["works_per_s"]],
                 ["works/s, last batch", batches[-1]["works_per_s"]],
                 ["registry size incl. WAL (MB)", round(db_mb, 2)],
                 [f"index snapshots written (every {SNAPSHOT_EVERY} rows)", len(snapshots)],
                 ["index file (MB)", round(index_mb, 2)]])
    print_table("Where registration time goes", ["part", "seconds", "% of total", "ms per work"],
                [[name, s, 100 * s / register_s, 1000 * s / n] for name, s in split.items()])
    shown = sorted({0, len(batches) - 1, *range(0, len(batches), max(1, len(batches) // 5))})
    print_table("Candidate index vs registry size (one unrelated query)",
                ["works", "index open ms", "delta rows", "propose ms", "proposals", "local"],
                [[batches[i]["registered"], batches[i]["index_open_ms"], batches[i]["delta_rows"],
                  batches[i]["propose_ms"], batches[i]["proposals"], batches[i]["local_kind"]] for i in shown])

    def latency_row(label: str, subset: list[dict[str, Any]]) -> list[Any]:
        latencies = [r["latency_ms"] for r in subset]
        return [label, len(subset), percentile(latencies, 50), percentile(latencies, 95),
                max(latencies, default=float("nan")), f"{sum(r['correct'] for r in subset)}/{len(subset)}"]

    mods = [r for r in rows if r["kind"] != "unrelated"]
    others = [r for r in rows if r["kind"] == "unrelated"]
    table = [latency_row("modified copies (match = own original)", mods),
             latency_row("unrelated images (match = no-match)", others),
             latency_row("all", rows)]
    table += [latency_row(f"  {kind}", [r for r in mods if r["kind"] == kind]) for kind in MODIFICATIONS
              if any(r["kind"] == kind for r in mods)]
    print_table(f"verify_images, one call per image, against {n} works",
                ["probes", "n", "p50 ms", "p95 ms", "max ms", "correct"], table)
    print_table("Where a one-image verify's time goes (mean ms)",
                ["probes", "load + analysis", "open_index", "propose", "compare + lookups + details", "total"],
                [[label, mean([r["analysis_ms"] for r in subset]), mean([r["index_open_ms"] for r in subset]),
                  mean([r["propose_ms"] for r in subset]), mean([r["compare_ms"] for r in subset]),
                  mean([r["latency_ms"] for r in subset])]
                 for label, subset in (("modified copies", mods), ("unrelated images", others))])
    print(f"one batched call for all {len(all_probes)} probes: {batch_verify_ms:.1f} ms/image")
    methods: dict[str, int] = {}
    for r in mods:
        methods[r["method"] or "-"] = methods.get(r["method"] or "-", 0) + 1
    worst_match = min((r["score"] for r in mods if r["correct"]), default=float("nan"))
    near = [r["best_candidate_score"] for r in others if r["best_candidate_score"] is not None]
    print(f"modified copies matched by: {', '.join(f'{k} {v}' for k, v in sorted(methods.items()))}")
    print(f"scores (1 = identical, a match needs >= {cal.MIN_SCORE} and more): matched copies' worst "
          f"{worst_match:.3f}; unrelated images: {len(near)}/{len(others)} had a candidate compared, best "
          f"{max(near, default=float('nan')):.3f}")
    wrong = [r for r in rows if not r["correct"]]
    for r in wrong:
        print(f"  miss: {r['path']} ({r['kind']}): verdict {r['verdict']}, best candidate score "
              f"{r['best_candidate_score']}, {r['candidates']} candidates; {'; '.join(r['notes'])}")

    profile_top: list[str] = []
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
        profile_top = stream.getvalue().splitlines()
        print("\ncProfile of registration (cumulative, top 25):")
        print("\n".join(profile_top))

    def summary(subset: list[dict[str, Any]]) -> dict[str, Any]:
        latencies = [r["latency_ms"] for r in subset]
        return {"n": len(subset), "p50_ms": round(percentile(latencies, 50), 2),
                "p95_ms": round(percentile(latencies, 95), 2),
                "correct_rate": round(sum(r["correct"] for r in subset) / len(subset), 4) if subset else None,
                "mean_analysis_ms": round(mean([r["analysis_ms"] for r in subset]), 2),
                "mean_index_open_ms": round(mean([r["index_open_ms"] for r in subset]), 2),
                "mean_decide_ms": round(mean([r["decide_ms"] for r in subset]), 2),
                "mean_propose_ms": round(mean([r["propose_ms"] for r in subset]), 2),
                "mean_compare_ms": round(mean([r["compare_ms"] for r in subset]), 2)}

    result = {
        "benchmark": "register_speed",
        "environment": {**environment(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "count": n, "batch": args.batch, "workers": args.workers, "profiled": args.profile,
        "image_sides": [args.min_side, args.max_side],
        "registration": {"created": created, "seconds": round(register_s, 3),
                         "works_per_s": round(n / register_s, 2), "split_seconds": split,
                         "calls": dict(watch.calls), "index_snapshots": snapshots, "batches": batches,
                         "registry_mb": round(db_mb, 2), "index_file_mb": round(index_mb, 2)},
        "verify": {
            "per_image_calls": {"modified": summary(mods), "unrelated": summary(others), "all": summary(rows)},
            "match_rule": {"modified": f"verdict in {list(MATCH_VERDICTS)} naming its own original",
                           "unrelated": "verdict no-match"},
            "batched_ms_per_image": round(batch_verify_ms, 2),
            "min_score": cal.MIN_SCORE,
            "modified_worst_matched_score": worst_match if worst_match == worst_match else None,
            "unrelated_best_candidate_score": max(near, default=None),
            "probes": [{**r, **{k: round(r[k], 2) for k in ("latency_ms", "index_open_ms", "decide_ms",
                                                        "propose_ms", "compare_ms", "analysis_ms")}}
                       for r in rows],
        },
        "profile_top": profile_top,
    }
    save_results(args.out, "register_speed", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
