"""Private works against public ones: the same images, the same edits, the same run.

Three homes over registries of the same ``--originals`` images (a mix from ``_robust_data.build_corpus``:
photographs cut from scikit-image's and scikit-learn's bundled pictures, procedural art, flags, icons,
gradients, labels, digits), registered one batch per home:

* ``public``: registered as usual;
* ``private``: registered ``--private`` and verified by the owner's home (its key opens every thumbnail);
* ``no key``: the private registry verified from a home that holds no key that opens anything.

Every original is edited by a spread of ``_robust_data.TRANSFORMS`` (``--transforms`` of them, taken evenly
over the families) and ``--distractors`` unrelated images are queried as they are.  Reported: registration
works/s, verify p50/p95 ms per image (one image at a time, index held, as a service worker does), how many
edited copies each finds, whether the public and private verdicts are the same for every query (they
should be: the opened thumbnail is the same bytes), false matches among distractors, and the size of a
registration record.

Run from the repository root:

    .venv/bin/python benchmarks/private_works.py                      # 120 originals
    .venv/bin/python benchmarks/private_works.py --originals 20 --transforms 4   # smoke

Results are printed and written as JSON (default ``benchmarks/results/private_works.json``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, percentile, print_table, save_results  # noqa: E402
from _robust_data import TRANSFORMS, build_corpus  # noqa: E402

from artforge.config import Settings  # noqa: E402
from artforge.matching.index_file import open_index  # noqa: E402
from artforge.usecases.home import Home, init_home  # noqa: E402
from artforge.usecases.register import register_images  # noqa: E402
from artforge.usecases.verify import iter_verify  # noqa: E402

FOUND = ("exact-copy", "modified-copy", "derived-work")


def _spread(count: int) -> list:
    """``count`` transforms taken evenly along TRANSFORMS (grouped by family there), so every family shows."""
    step = max(1, len(TRANSFORMS) // max(1, count))
    return TRANSFORMS[::step][:count]


def _queries(corpus, folder: Path, transforms: list, seed: int) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    queries = []
    for i, path in enumerate(corpus.originals):
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        for j, transform in enumerate(transforms):
            out = folder / f"o{i:04d}-{transform.name}.png"
            transform.apply(image, np.random.default_rng([seed, i, j])).save(out, compress_level=1)
            queries.append({"path": str(out), "original": i, "transform": transform.name})
    queries += [{"path": str(p), "original": None, "transform": "distractor"} for p in corpus.distractors]
    return queries


def _home(folder: Path) -> Home:
    home = Home(settings=Settings(home=folder))
    init_home(home)
    return home


def _verify(home: Home, queries: list[dict]) -> tuple[list[dict], list[float]]:
    with home.registry() as registry:
        index = open_index(registry)
    results, times = [], []
    for query in queries:
        started = time.perf_counter()
        (report,) = list(iter_verify(home, [query["path"]], workers=1, index=index))
        times.append(1000 * (time.perf_counter() - started))
        results.append({"verdict": report.verdict, "work_id": report.match.work_id if report.match else None})
    return results, times


def main() -> None:
    parser = bench_parser(__doc__, "private_works")
    parser.add_argument("--originals", type=int, default=120)
    parser.add_argument("--distractors", type=int, default=60)
    parser.add_argument("--transforms", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="artforge-private-"))
    try:
        corpus = build_corpus(root / "corpus", args.originals, args.distractors, seed=args.seed)
        queries = _queries(corpus, root / "queries", _spread(args.transforms), args.seed)
        rows, results, verdicts, works = [], {}, {}, {}
        for name, private in (("public", False), ("private", True)):
            home = _home(root / name)
            started = time.perf_counter()
            registered = register_images(home, corpus.originals, licence_id="CC-BY-NC-4.0", workers=1,
                                         private=private)
            seconds = time.perf_counter() - started
            works[name] = [w.work_id for w in registered]
            with home.registry() as registry:
                record_bytes = np.median([len(r.canonical) for w in works[name] for r in registry.records(w)[:1]])
            found, times = _verify(home, queries)
            verdicts[name] = found
            results[name] = {"register_works_per_s": round(len(registered) / seconds, 2),
                             "record_bytes_median": int(record_bytes), **_score(found, times, queries, works[name])}
        keyless = _home(root / "no-key")
        keyless.settings.registry_path.unlink()
        shutil.copy(root / "private" / "registry.db", keyless.settings.registry_path)
        found, times = _verify(keyless, queries)
        results["no key"] = {**_score(found, times, queries, works["private"]), "register_works_per_s": None,
                             "record_bytes_median": None}
        same = sum(a["verdict"] == b["verdict"] and (a["work_id"] is None) == (b["work_id"] is None)
                   for a, b in zip(verdicts["public"], verdicts["private"]))
        for name, r in results.items():
            rows.append([name, r["register_works_per_s"], r["verify_p50_ms"], r["verify_p95_ms"],
                         f"{r['found']}/{r['positives']}", r["false_matches"], r["record_bytes_median"]])
        print_table(f"{len(corpus.originals)} works, {len(queries)} queries", ["registry", "register works/s", "verify p50 ms", "verify p95 ms", "edited copies found",
                     "false matches", "record bytes"], rows)
        public, private = results["public"], results["private"]
        ratios = {"register": round(private["register_works_per_s"] / public["register_works_per_s"], 3),
                  "verify_p50": round(private["verify_p50_ms"] / public["verify_p50_ms"], 3),
                  "verdicts_same": f"{same}/{len(queries)}"}
        print(f"private / public: register {ratios['register']}x works/s, verify p50 {ratios['verify_p50']}x the time; "
              f"the same verdict for {ratios['verdicts_same']} queries")
        save_results(args.out, "private_works", {"config": {k: v for k, v in vars(args).items() if k != "out"},
                                                 "results": results, "ratios": ratios, "queries": len(queries)})
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _score(found: list[dict], times: list[float], queries: list[dict], work_ids: list[str]) -> dict:
    positives = [(q, f) for q, f in zip(queries, found) if q["original"] is not None]
    hits = sum(f["verdict"] in FOUND and f["work_id"] == work_ids[q["original"]] for q, f in positives)
    false = sum(f["verdict"] in FOUND for q, f in zip(queries, found) if q["original"] is None)
    false += sum(f["verdict"] in FOUND and f["work_id"] != work_ids[q["original"]] for q, f in positives)
    return {"verify_p50_ms": round(percentile(times, 50), 1), "verify_p95_ms": round(percentile(times, 95), 1),
            "found": hits, "positives": len(positives), "false_matches": false}


if __name__ == "__main__":
    main()
