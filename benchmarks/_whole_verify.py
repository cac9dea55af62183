"""Whole ``verify`` against a real registry of N works: per-image latency and batch throughput.

``verify_scale.py`` measures the candidate stage on synthetic codes; this part (``verify_scale.py --whole``)
measures what a caller waits for, end to end through :func:`artforge.usecases.verify.iter_verify`: reading
the file, its analysis (exact hashes, straightening, layers), the index lookup, the signed-evidence checks
(records read and Ed25519 signatures verified), the pixel decision, and the matched work's details.

The registry is real, made by :func:`artforge.usecases.register.register_images` as ``artforge register``
does (signed records, log, match layers, index snapshot):

* planted works: the originals of the robustness corpus (``_robust_data.build_corpus``: photographs,
  procedural art, flags, icons, gradients, labels, digits), registered first;
* fillers: small procedural images (64-128 px, ``_common.write_images``, the same as
  ``register_speed.py``) up to N works.

Queries: a fixed sample of the robustness transforms of the planted works (each names its original), and
the corpus's distractors and their edits, which match nothing (a marketplace's usual upload).  Each query
is timed alone in a long-running process (the index opened once, as a service or a batch holds it; the
open is timed on its own), then all of them as one batch (``workers`` processes), for images per second.

A registry is built once per N and kept under ``--home-cache`` (it takes ~8 minutes per 100k works on
2 cores); delete the folder to rebuild it.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import percentile, write_images
from _robust_data import TRANSFORMS, build_corpus
from PIL import Image

FILLER_SEED = 20_000_000  # procedural seeds of the fillers (never a planted work's)
FOUND = ("exact-copy", "modified-copy", "derived-work")
READY = "whole-verify-ready"  # marker file: the cached registry is complete


def _register(home: Any, paths: list[Path], batch: int, workers: int) -> list[str]:
    from artforge.usecases.register import register_images

    ids = []
    for first in range(0, len(paths), batch):
        works = register_images(home, paths[first:first + batch], licence_id="CC-BY-4.0", workers=workers)
        ids += [w.work_id for w in works]
        print(f"  registered {first + len(works):,} of {len(paths):,}", file=sys.stderr, flush=True)
    return ids


def build_registry(folder: Path, works: int, originals: int, distractors: int, workers: int, seed: int) -> dict:
    """A registry of ``works`` works under ``folder`` (reused when already built); what the queries need."""
    from artforge.config import Settings
    from artforge.usecases.home import Home, init_home
    from artforge.usecases.reindex import rebuild

    home = Home(settings=Settings(home=folder / "home"))
    manifest = folder / READY
    corpus = build_corpus(folder / "corpus", originals, distractors, seed=seed)
    if not manifest.exists():
        started = time.perf_counter()
        init_home(home)
        planted = _register(home, corpus.originals, 500, workers)
        fillers = write_images(folder / "fillers", range(FILLER_SEED, FILLER_SEED + works - len(planted)), 64, 128,
                               workers=workers)
        _register(home, fillers, 2000, workers)
        rebuild(home)  # one snapshot of the whole index, as after 'artforge index rebuild'
        manifest.write_text("\n".join(planted))
        print(f"  built {works:,} works in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    planted = manifest.read_text().split("\n")
    return {"home": home, "corpus": corpus, "work_of": {str(p): w for p, w in zip(corpus.originals, planted)}}


def write_queries(built: dict, folder: Path, positives: int, negatives: int, seed: int) -> list[dict]:
    """A fixed sample of transformed originals (positives) and of distractors, plain or edited (negatives)."""
    corpus, rng = built["corpus"], random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    queries = []
    for group, sources, count in (("positive", corpus.originals, positives), ("negative", corpus.distractors, negatives)):
        for k in range(count):
            source = rng.choice(sources)
            transform = rng.choice(TRANSFORMS)
            with Image.open(source) as opened:
                image = transform.apply(opened.convert("RGB"), np.random.default_rng([seed, k, group == "negative"]))
            path = folder / f"{group[0]}{k:04d}-{transform.name}.png"
            image.save(path, compress_level=1)
            queries.append({"group": group, "path": str(path), "transform": transform.name,
                            "work_id": built["work_of"].get(str(source))})
    return queries


def measure(built: dict, queries: list[dict], workers: int) -> dict:
    """Per-image latency (each alone, index held), the index open, and one batch over all the queries."""
    from artforge.matching.index_file import open_index
    from artforge.usecases.verify import VerifyFailure, iter_verify

    home = built["home"]
    with home.registry() as registry:
        started = time.perf_counter()
        index = open_index(registry)
        open_seconds = time.perf_counter() - started
    list(iter_verify(home, [queries[0]["path"]], workers=1, index=index))  # warm-up: imports, first allocations
    latencies: dict[str, list[float]] = {"positive": [], "negative": []}
    found = false_matches = 0
    for query in queries:
        started = time.perf_counter()
        (report,) = iter_verify(home, [query["path"]], workers=1, index=index)
        latencies[query["group"]].append(time.perf_counter() - started)
        if isinstance(report, VerifyFailure):
            raise SystemExit(f"{query['path']}: {report.error}")
        named = report.match.work_id if report.match else None
        if report.verdict in FOUND:
            if query["group"] == "positive" and named == query["work_id"]:
                found += 1
            else:
                false_matches += 1
    started = time.perf_counter()
    batch = list(iter_verify(home, [q["path"] for q in queries], workers=workers, index=index))
    batch_seconds = time.perf_counter() - started
    everything = latencies["positive"] + latencies["negative"]
    return {
        "index_open_s": open_seconds,
        "latency_ms": {group: {"p50": 1000 * percentile(values, 50), "p99": 1000 * percentile(values, 99),
                               "mean": 1000 * float(np.mean(values)), "n": len(values)}
                       for group, values in (("all", everything), *latencies.items())},
        "found": found, "positives": len(latencies["positive"]), "false_matches": false_matches,
        "batch": {"images": len(batch), "seconds": batch_seconds, "images_per_s": len(batch) / batch_seconds,
                  "workers": workers},
    }


def run(sizes: list[int], cache: Path, originals: int, distractors: int, positives: int, negatives: int,
        workers: int, seed: int = 0) -> list[dict]:
    """Build (or reuse) a registry per size and measure it; one result row per size."""
    rows = []
    for works in sizes:
        folder = cache / f"whole-{works}"
        built = build_registry(folder, works, originals, distractors, workers, seed)
        queries = write_queries(built, folder / "queries", positives, negatives, seed)
        print(f"{works:,} works: timing {len(queries)} queries one by one, then as one batch", file=sys.stderr)
        rows.append({"works": works, **measure(built, queries, workers),
                     "load_average": os.getloadavg()})
    return rows
