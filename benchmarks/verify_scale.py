"""The candidate index at scale: build time, memory, persistence, query latency and recall at N works.

:class:`artforge.matching.index.MatchIndex` is what keeps ``verify`` fast as a registry grows: a query's
PDQ hashes and ORB descriptors are looked up in FAISS binary indexes instead of being compared with
every registered work.  This benchmark checks, for each N in ``--sizes``, that the index

* builds in reasonable time and memory: ``add_rows`` + ``build`` seconds (and the IVF training part of
  ``build`` when the local layer is an ``IndexBinaryIVF``), bytes of codes and of the FAISS indexes,
  process RSS before/after and its peak (VmRSS/VmHWM from ``/proc/self/status``);
* persists: ``save`` seconds, file size, ``load`` + ``build`` seconds, and that the loaded index
  proposes exactly what the built one did;
* answers fast: p50/p99 of ``propose(query, MAX_PROPOSALS)`` over real queries (at least
  ``--min-timings`` timings), and each layer's search time (global PDQ, tone, local ORB);
* loses nothing: is the planted original among the ``MAX_PROPOSALS`` works the matcher would compare
  (recall@6), among all proposals, first?  And how many keypoint votes did it get?  For the index and for
  an EXACT reference: the same proposal code fed by exhaustive flat search.  Where the local layer is an
  IVF (more than ``IVF_ABOVE`` descriptors) the reference covers as many queries as ``--exact-budget-s``
  allows (flat search over tens of millions of descriptors takes tens of seconds per query on 2 cores),
  and the IVF's neighbour lists are also compared with the exact ones, query descriptor by query
  descriptor ("nbr recall": the exact within-radius neighbours whose distance the IVF also returned);
* beats the baseline: a linear scan in pure Python (``int.bit_count`` of XORs, top-k per query code,
  exactly what the index's three searches compute) over the same codes.  For large N the scan is timed
  over the first ``--baseline-hashes-max`` hashes / ``--baseline-descriptors-max`` descriptors and
  extrapolated linearly (reported as such); on that subset its answers are checked against FAISS.

Data: N - P synthetic works (random 256-bit PDQ codes and tone hashes, 18 tone tiles for
``--smooth-fraction`` of them, a second "box" PDQ for
``--border-fraction`` of them, ``--descriptors-per-work`` ORB descriptors each) with P REAL works planted
at random rowids: procedural art (``--works``) and the bundled scikit-image photos (``--photos``),
registered exactly as ``artforge register`` does (frame PDQ from :func:`artforge.provenance.fingerprints.pdq_hash`;
box, box PDQ, tone hash and descriptors from :func:`artforge.matching.layers.compute_layers`).  Queries
are real modified copies of the planted works (JPEG q70 at 0.75x, 10% cropped off left and top,
mirrored, rotated 4 degrees, padded 10% with white), prepared with
:func:`artforge.matching.layers.query_layers`.  The proposal steps (``_global_proposals``,
``_tone_proposals``, ``_local_proposals``, ``propose``) are the library's own; only the local search
is swapped (for the exact reference, or to replay a timed search into the analysis).

``--descriptor-model`` picks the synthetic descriptors: ``uniform`` (independent random bits, as the
issue allows) or ``orb-pool`` (real ORB descriptors of ``--pool-images`` other procedural images, each
bit flipped with probability ``--pool-flip``).  Real ORB descriptors are far from uniform (bits biased,
many near-duplicates across unrelated images), so ``uniform`` makes the local layer's neighbour lists
unrealistically clean; ``orb-pool`` shows what crowding does to recall.

Memory: the synthetic rows are generated in chunks and streamed through ``MatchIndex.add_rows`` (the
real API), so the index's own arrays are the only full copy of the codes; the baseline and the exact
reference read those arrays.  At 1M works x 64 descriptors the codes are 2 GB (+0.5 GB of int64
owners), the FAISS copy another 2 GB (+0.5 GB of IVF ids), and ``save``/``load`` transiently hold the
serialised IVF as well.

Run from the repository root:

    .venv/bin/python benchmarks/verify_scale.py --sizes 10000     # minutes: flat local search, 0.2-0.5 s a query
    .venv/bin/python benchmarks/verify_scale.py --sizes 10000 --descriptor-model orb-pool
    .venv/bin/python benchmarks/verify_scale.py --sizes 3000 --ivf-above 50000 --nprobe 4 16 64   # IVF, ~30 s
    .venv/bin/python benchmarks/verify_scale.py                    # 10k, 100k, 1M: hours (IVF training and adding)

``--ivf-above`` overrides the library's ``IVF_ABOVE`` for this run (to exercise the IVF path at a small
N); ``--nprobe`` measures the IVF at several probe counts.  Results are printed and written as JSON
(default ``benchmarks/results/verify_scale.json``), rewritten after every size.

Timings need a quiet machine.  With FAISS on 2 OpenMP threads and other processes busy on the same
2 cores, OpenMP's default spin-waiting made a batched search (IVF training/adding, the exact reference)
25-50x slower than on one thread; ``OMP_WAIT_POLICY=PASSIVE`` avoids that.  The load average before and
after and ``OMP_WAIT_POLICY`` are recorded with the results.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import io
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, environment, mean, percentile, print_table, save_results, write_json  # noqa: E402

import artforge.matching.index as index_module  # noqa: E402
from artforge.generation.procedural import draw_art  # noqa: E402
from artforge.matching.index import (  # noqa: E402
    GLOBAL_NEIGHBOURS,
    GLOBAL_RADIUS,
    IVF_PROBES,
    LOCAL_NEIGHBOURS,
    LOCAL_QUERY_POINTS,
    LOCAL_RADIUS,
    TONE_NEIGHBOURS,
    TONE_RADIUS,
    MatchIndex,
    global_query_codes,
    searches_tone,
    tone_query_codes,
)
from artforge.matching.layers import INDEXED_KEYPOINTS, QueryLayers, compute_layers, query_layers, tile_boxes  # noqa: E402
from artforge.matching.matcher import MAX_PROPOSALS  # noqa: E402
from artforge.provenance.fingerprints import pdq_hash  # noqa: E402

CODE_BYTES = 32
TILES = len(tile_boxes())
MODIFICATIONS = ("jpeg70-resize0.75", "crop10", "flip", "rotate4", "pad10")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "immunohistochemistry", "hubble_deep_field",
          "coins", "moon")
PLANTED_SEED = 7_000_000  # procedural seeds of the planted works
POOL_SEED = 8_000_000  # procedural seeds of the orb-pool images (never planted)
CHUNK_WORKS = 1024  # synthetic works generated per chunk
ALL = 10**9  # max_candidates that keeps every proposal
ROUND_TRIP_QUERIES = 30  # queries whose proposals must be identical after save + load


# -- real works and their modified copies -----------------------------------------------------------------
@dataclass
class RealWork:
    """A planted work: its registry row (as ``layer_store.match_index_rows`` yields it) less the rowid."""

    name: str
    pdq: bytes
    box: str
    box_pdq: bytes
    box_ahash: bytes
    tile_ahash: bytes | None
    descriptors: bytes


@dataclass
class RealQuery:
    """A modified copy of a planted work, prepared as ``verify`` prepares a disputed image."""

    work: int  # index into the planted works
    modification: str
    layers: QueryLayers


def art_image(seed: int) -> Image.Image:
    """Procedural art with a seed-dependent size (long side 480..720 px) and aspect."""
    rng = np.random.default_rng(seed)
    long_side = int(rng.integers(480, 721))
    short_side = int(round(long_side / float(rng.choice([1.0, 4 / 3, 3 / 2, 16 / 9]))))
    return draw_art(seed, (long_side, short_side) if rng.random() < 0.6 else (short_side, long_side))


def photo_images(names: Sequence[str]) -> list[tuple[str, Image.Image]]:
    """The bundled scikit-image photos that load (grey ones as RGB)."""
    import skimage.data

    photos = []
    for name in names:
        try:
            array = getattr(skimage.data, name)()
        except Exception as error:  # noqa: BLE001 - a missing photo only shrinks the sample
            print(f"  skipping photo {name}: {type(error).__name__}: {error}")
            continue
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        photos.append((f"photo:{name}", Image.fromarray(np.ascontiguousarray(array[..., :3]), "RGB")))
    return photos


def modify(image: Image.Image, modification: str) -> Image.Image:
    """A disputed copy of ``image``, made as ``modification`` names."""
    width, height = image.size
    if modification == "jpeg70-resize0.75":
        small = image.resize((round(width * 0.75), round(height * 0.75)), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=70)
        buffer.seek(0)
        return Image.open(buffer).convert("RGB")
    if modification == "crop10":  # 10% off the left and off the top
        return image.crop((round(width * 0.1), round(height * 0.1), width, height))
    if modification == "flip":
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if modification == "rotate4":  # same canvas, corners black
        return image.rotate(4, resample=Image.Resampling.BICUBIC)
    if modification == "pad10":  # white border, 10% of each side
        pad_x, pad_y = round(width * 0.1), round(height * 0.1)
        padded = Image.new("RGB", (width + 2 * pad_x, height + 2 * pad_y), (255, 255, 255))
        padded.paste(image, (pad_x, pad_y))
        return padded
    raise ValueError(f"unknown modification {modification!r}")


def real_works_and_queries(works: int, photos: Sequence[str]) -> tuple[list[RealWork], list[RealQuery]]:
    """The planted works' registry rows and one query per (work, modification)."""
    images = [(f"art:{PLANTED_SEED + i}", art_image(PLANTED_SEED + i)) for i in range(works)]
    images += photo_images(photos)
    planted: list[RealWork] = []
    queries: list[RealQuery] = []
    for number, (name, image) in enumerate(images):
        row = compute_layers(np.asarray(image)).to_row()
        planted.append(RealWork(name=name, pdq=bytes.fromhex(pdq_hash(image)[0]), box=row["box"],
                                box_pdq=row["box_pdq"], box_ahash=row["box_ahash"], tile_ahash=row["tile_ahash"],
                                descriptors=row["descriptors"]))
        for modification in MODIFICATIONS:
            layers = query_layers(np.asarray(modify(image, modification)))
            queries.append(RealQuery(work=number, modification=modification, layers=layers))
    return planted, queries


def stratified(queries: Sequence[RealQuery], seed: int) -> list[int]:
    """Query positions in an order whose every prefix covers the modifications and works evenly."""
    rng = np.random.default_rng(seed)
    by_modification = {m: [i for i, q in enumerate(queries) if q.modification == m] for m in MODIFICATIONS}
    for positions in by_modification.values():
        rng.shuffle(positions)
    order = []
    for rank in range(max(len(p) for p in by_modification.values())):
        order += [p[rank] for p in by_modification.values() if rank < len(p)]
    return order


def descriptor_pool(images: int) -> np.ndarray:
    """The ``INDEXED_KEYPOINTS`` strongest ORB descriptors of ``images`` procedural images, stacked."""
    pool = [compute_layers(np.asarray(art_image(POOL_SEED + i))).descriptors[:INDEXED_KEYPOINTS]
            for i in range(images)]
    return np.ascontiguousarray(np.concatenate(pool))


# -- synthetic rows ------------------------------------------------------------------------------------------
@dataclass
class SyntheticRows:
    """Registry rows 1..n: synthetic works, with the planted real works at random rowids."""

    n: int
    planted: list[RealWork]
    descriptors_per_work: int
    border_fraction: float
    seed: int
    pool: np.ndarray | None = None  # orb-pool model: real descriptors to perturb
    pool_flip: float = 0.05
    smooth_fraction: float = 0.25  # synthetic works that are smooth and so carry tone tiles
    generation_s: float = 0.0  # seconds spent drawing random codes (not part of add_rows' own cost)
    rowid_of: list[int] = field(default_factory=list)  # planted work -> rowid

    def __post_init__(self) -> None:
        if self.n < len(self.planted):
            raise SystemExit(f"--sizes: {self.n} is fewer than the {len(self.planted)} planted works")
        rng = np.random.default_rng(self.seed)
        self.rowid_of = [int(r) + 1 for r in rng.choice(self.n, len(self.planted), replace=False)]

    def _descriptors(self, rng: np.random.Generator, works: int) -> np.ndarray:
        shape = (works, self.descriptors_per_work, CODE_BYTES)
        if self.pool is None:
            return rng.integers(0, 256, shape, dtype=np.uint8)
        picked = self.pool[rng.integers(0, len(self.pool), works * self.descriptors_per_work)]
        flips = np.packbits(rng.random((len(picked), CODE_BYTES * 8), dtype=np.float32) < self.pool_flip, axis=1)
        return np.bitwise_xor(picked, flips).reshape(shape)

    def __iter__(self) -> Iterator[tuple[int, bytes, str | None, bytes | None, bytes | None, bytes | None,
                                         bytes | None]]:
        """``(rowid, pdq, box, box_pdq, box_ahash, tile_ahash, descriptors)``, as ``layer_store.match_index_rows``.

        A ``smooth_fraction`` of the synthetic works are smooth and carry tone tiles."""
        rng = np.random.default_rng(self.seed + 1)
        planted_at = {rowid: work for work, rowid in zip(self.planted, self.rowid_of)}
        for first in range(1, self.n + 1, CHUNK_WORKS):
            count = min(CHUNK_WORKS, self.n + 1 - first)
            start = time.perf_counter()
            pdq = rng.integers(0, 256, (count, CODE_BYTES), dtype=np.uint8)
            bordered = rng.random(count) < self.border_fraction
            box_pdq = rng.integers(0, 256, (count, CODE_BYTES), dtype=np.uint8)
            tone = rng.integers(0, 256, (count, CODE_BYTES), dtype=np.uint8)
            smooth = rng.random(count) < self.smooth_fraction
            tiles = rng.integers(0, 256, (count, TILES * CODE_BYTES), dtype=np.uint8)
            descriptors = self._descriptors(rng, count)
            self.generation_s += time.perf_counter() - start
            for i in range(count):
                rowid = first + i
                real = planted_at.get(rowid)
                if real is not None:
                    yield rowid, real.pdq, real.box, real.box_pdq, real.box_ahash, real.tile_ahash, real.descriptors
                    continue
                tile_ahash = tiles[i].tobytes() if smooth[i] else b""
                if bordered[i]:
                    yield rowid, pdq[i].tobytes(), "0.05000,0.05000,0.95000,0.95000", box_pdq[i].tobytes(), \
                        tone[i].tobytes(), tile_ahash, descriptors[i].tobytes()
                else:
                    yield rowid, pdq[i].tobytes(), "0.00000,0.00000,1.00000,1.00000", pdq[i].tobytes(), \
                        tone[i].tobytes(), tile_ahash, descriptors[i].tobytes()


# -- process memory ---------------------------------------------------------------------------------------
def status_bytes(field_name: str) -> int | None:
    """A ``kB`` line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def megabytes(value: int | None) -> float | None:
    return None if value is None else round(value / 1e6, 1)


# -- searching helpers ----------------------------------------------------------------------------------
def local_query_codes(query: QueryLayers) -> np.ndarray:
    """The descriptors ``MatchIndex._local_proposals`` searches for a query, in its order."""
    sides = [query.descriptors[:LOCAL_QUERY_POINTS], query.mirror_descriptors[:LOCAL_QUERY_POINTS]]
    sides = [d for d in sides if len(d)]
    return np.ascontiguousarray(np.concatenate(sides)) if sides else np.zeros((0, CODE_BYTES), np.uint8)


Search = tuple[np.ndarray, np.ndarray]  # (distances, labels) of one query's local search


class Replay:
    """Stands in for the local FAISS index with one query's precomputed search results."""

    def __init__(self, distances: np.ndarray, labels: np.ndarray) -> None:
        self.distances, self.labels = distances, labels

    def search(self, codes: np.ndarray, k: int) -> Search:
        if len(codes) != len(self.labels) or k != self.labels.shape[1]:
            raise ValueError("replayed search asked for other codes than were searched: "
                             "local_query_codes() no longer mirrors MatchIndex._local_proposals")
        return self.distances, self.labels


def local_search(searcher: Any, query: QueryLayers, k: int) -> Search:
    """The local layer's search for a query, as ``_local_proposals`` makes it."""
    codes = local_query_codes(query)
    if not len(codes):
        return np.zeros((0, k), np.int32), np.zeros((0, k), np.int64)
    return searcher.search(codes, k)


@dataclass
class Outcome:
    """What the index proposed for one query, and how the planted original fared."""

    works_compared: list[int]  # works of propose(query, MAX_PROPOSALS): what the matcher would compare
    works_proposed: list[int]  # works of propose(query, ALL), strongest first
    keys: list[tuple[int, str]]  # (rowid, layer) of every proposal, in order
    found_by: dict[str, bool]  # layer -> the original is among that layer's proposals
    local_votes: float  # keypoint votes the original got (both mirror sides)
    search: Search  # the raw local search


def outcome(index: MatchIndex, query: QueryLayers, rowid: int, searched: Search) -> Outcome:
    """Run every proposal step of ``index`` for ``query`` with the local search replayed from ``searched``."""
    held = index._local
    index._local = Replay(*searched)
    try:
        layers = {"global": index._global_proposals(query),
                  "tone": index._tone_proposals(query) if searches_tone(query) else [],
                  "local": index._local_proposals(query)}
        everything = index.propose(query, ALL)
        compared = index.propose(query, MAX_PROPOSALS)
    finally:
        index._local = held
    return Outcome(
        works_compared=list(dict.fromkeys(p.rowid for p in compared)),
        works_proposed=list(dict.fromkeys(p.rowid for p in everything)),
        keys=[(p.rowid, p.layer) for p in everything],
        found_by={layer: any(p.rowid == rowid for p in found) for layer, found in layers.items()},
        local_votes=sum(p.strength for p in layers["local"] if p.rowid == rowid),
        search=searched)


def neighbour_recall(found: Search, exact: Search) -> tuple[int, int]:
    """``(matched, total)``: the exact search's within-radius neighbours whose distance the index's search
    also returned, per query code (a multiset intersection, so a tie won by another label still counts)."""
    matched = total = 0
    for f_distances, f_labels, e_distances, e_labels in zip(*found, *exact):
        wanted = Counter(int(d) for d, label in zip(e_distances, e_labels) if label >= 0 and d <= LOCAL_RADIUS)
        got = Counter(int(d) for d, label in zip(f_distances, f_labels) if label >= 0 and d <= LOCAL_RADIUS)
        matched += sum((wanted & got).values())
        total += sum(wanted.values())
    return matched, total


def share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else float("nan")


# -- the pure-Python baseline --------------------------------------------------------------------------------
def as_ints(codes: np.ndarray) -> list[int]:
    return [int.from_bytes(row.tobytes(), "big") for row in codes]


def python_scan(queries: list[int], stored: list[int], k: int, radius: int) -> list[list[int]]:
    """For each query, the distances of its k nearest stored codes within ``radius`` (a linear scan)."""
    found = []
    for query in queries:
        distances = [(query ^ code).bit_count() for code in stored]
        nearest = heapq.nsmallest(k, range(len(distances)), key=distances.__getitem__)
        found.append([distances[i] for i in nearest if distances[i] <= radius])
    return found


def faiss_scan(queries: np.ndarray, stored: np.ndarray, k: int, radius: int) -> list[list[int]]:
    """The same answers from an exhaustive FAISS search (to check the Python scan against)."""
    flat = faiss.IndexBinaryFlat(CODE_BYTES * 8)
    flat.add(np.ascontiguousarray(stored))
    distances, labels = flat.search(np.ascontiguousarray(queries), min(k, len(stored)))
    return [[int(d) for d, label in zip(row, labels_row) if label >= 0 and d <= radius]
            for row, labels_row in zip(distances, labels)]


@dataclass(frozen=True)
class ScanLayer:
    """One of the index's searches, as the Python baseline redoes it: codes, query codes, k, radius."""

    name: str
    stored: Callable[[MatchIndex], np.ndarray]
    queried: Callable[[QueryLayers], np.ndarray]
    k: int
    radius: int


SCAN_LAYERS = (
    ScanLayer("global", lambda index: index.global_codes, global_query_codes, GLOBAL_NEIGHBOURS, GLOBAL_RADIUS),
    ScanLayer("tone", lambda index: index.tone_codes, tone_query_codes, TONE_NEIGHBOURS, TONE_RADIUS),
    ScanLayer("local", lambda index: index.local_codes, local_query_codes, LOCAL_NEIGHBOURS, LOCAL_RADIUS),
)


def baseline(index: MatchIndex, queries: Sequence[RealQuery], sample: Sequence[int], hashes_max: int,
             descriptors_max: int) -> dict[str, Any]:
    """Time the Python linear scan on ``sample`` queries over (a prefix of) the codes; extrapolate to all.

    Per layer: nanoseconds per (query code, stored code) pair, measured over the prefix; a query's full
    scan is then sum over layers of ns/pair x its query codes x all stored codes.
    """
    per_layer: dict[str, dict[str, Any]] = {}
    agrees = True
    for layer in SCAN_LAYERS:
        stored = layer.stored(index)
        subset = stored[:descriptors_max if layer.name == "local" else hashes_max]
        stored_ints = as_ints(subset)
        seconds, pairs = 0.0, 0
        for position in sample:
            codes = layer.queried(queries[position].layers)
            query_ints = as_ints(codes)
            start = time.perf_counter()
            found = python_scan(query_ints, stored_ints, layer.k, layer.radius)
            seconds += time.perf_counter() - start
            pairs += len(codes) * len(stored_ints)
            if len(codes) and len(subset):
                agrees &= found == faiss_scan(codes, subset, layer.k, layer.radius)
        per_layer[layer.name] = {"stored": len(stored), "scanned": len(subset), "timed_s": round(seconds, 3),
                                 "ns_per_pair": round(1e9 * seconds / max(1, pairs), 1)}
    per_query_ms = [1e-6 * sum(per_layer[layer.name]["ns_per_pair"] * len(layer.queried(q.layers))
                               * per_layer[layer.name]["stored"] for layer in SCAN_LAYERS) for q in queries]
    return {
        "queries_timed": len(sample), "layers": per_layer,
        "extrapolated": any(v["scanned"] < v["stored"] for v in per_layer.values()),
        "agrees_with_faiss_on_subset": agrees,
        "p50_ms": round(percentile(per_query_ms, 50), 1), "p99_ms": round(percentile(per_query_ms, 99), 1),
        "mean_ms": round(mean(per_query_ms), 1),
    }


# -- one size ---------------------------------------------------------------------------------------------
@dataclass
class Setting:
    """What one search configuration (flat, or IVF at one nprobe) gave on every query."""

    label: str
    timings_ms: list[float] = field(default_factory=list)
    global_ms: list[float] = field(default_factory=list)
    tone_ms: list[float] = field(default_factory=list)
    local_ms: list[float] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def measure_setting(label: str, index: MatchIndex, queries: Sequence[RealQuery], rowids: Sequence[int],
                    min_timings: int) -> Setting:
    """Latency (passes over the queries until ``min_timings``), then each query's layers and proposals."""
    setting = Setting(label)
    for query in queries[:3]:  # warm-up: thread pools, caches
        index.propose(query.layers, MAX_PROPOSALS)
    while len(setting.timings_ms) < min_timings:
        for query in queries:
            start = time.perf_counter()
            index.propose(query.layers, MAX_PROPOSALS)
            setting.timings_ms.append(1000 * (time.perf_counter() - start))
    # One more pass: each layer's search timed once; the local search's results are kept and replayed
    # into the proposal steps, so the analysis costs one local search per query.
    k = min(LOCAL_NEIGHBOURS, len(index.local_codes))
    for query, rowid in zip(queries, rowids):
        start = time.perf_counter()
        searched = local_search(index._local, query.layers, k)
        setting.local_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        index._global.search(global_query_codes(query.layers), min(GLOBAL_NEIGHBOURS, len(index.global_codes)))
        setting.global_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        index._tone.search(tone_query_codes(query.layers), min(TONE_NEIGHBOURS, max(1, len(index.tone_codes))))
        setting.tone_ms.append(1000 * (time.perf_counter() - start))
        setting.outcomes.append(outcome(index, query.layers, rowid, searched))
    return setting


def exact_local_search(index: MatchIndex, queries: Sequence[RealQuery], order: Sequence[int],
                       budget_s: float) -> dict[int, Search]:
    """Exhaustive local search for as many queries (in ``order``) as ``budget_s`` allows, batched."""
    flat = faiss.IndexBinaryFlat(CODE_BYTES * 8)
    flat.add(index.local_codes)
    k = min(LOCAL_NEIGHBOURS, len(index.local_codes))
    results: dict[int, Search] = {}
    started = time.perf_counter()
    per_query_s = None
    done = 0
    while done < len(order):
        left = budget_s - (time.perf_counter() - started)
        if per_query_s is not None and left < per_query_s:
            break
        chunk = 1 if per_query_s is None else int(max(1, min(32, left // per_query_s)))
        positions = list(order[done:done + chunk])
        codes = [local_query_codes(queries[p].layers) for p in positions]
        start = time.perf_counter()
        distances, labels = flat.search(np.ascontiguousarray(np.concatenate(codes)), k)
        per_query_s = (time.perf_counter() - start) / len(positions)
        offset = 0
        for position, query_codes in zip(positions, codes):
            results[position] = (distances[offset:offset + len(query_codes)], labels[offset:offset + len(query_codes)])
            offset += len(query_codes)
        done += len(positions)
        print(f"    exact reference: {done}/{len(order)} queries, {per_query_s:.2f} s/query", flush=True)
    del flat
    return results


def faiss_bytes(index: MatchIndex) -> dict[str, int]:
    """Bytes the FAISS indexes hold: flat = codes; IVF = codes + 8-byte ids + centroids (list overhead aside)."""
    local = index._local
    nlist = getattr(local, "nlist", None)
    local_bytes = local.ntotal * (CODE_BYTES + 8) + nlist * CODE_BYTES if nlist else local.ntotal * CODE_BYTES
    return {"global": int(index._global.ntotal * CODE_BYTES), "tone": int(index._tone.ntotal * CODE_BYTES),
            "local": int(local_bytes)}


def override_threads(threads: int | None) -> None:
    """``MatchIndex.build`` picks FAISS's thread count (1 for small indexes); ``--threads`` overrides it."""
    if threads:
        faiss.omp_set_num_threads(threads)


def summarise(setting: Setting, queries: Sequence[RealQuery], rowids: Sequence[int], exact: dict[int, Outcome],
              python_p50_ms: float) -> dict[str, Any]:
    """Latency, recall over all queries, and agreement with the exact reference where it was computed."""
    outcomes = setting.outcomes
    compared = [rowid in o.works_compared for o, rowid in zip(outcomes, rowids)]
    proposed = [rowid in o.works_proposed for o, rowid in zip(outcomes, rowids)]
    first = [bool(o.works_proposed) and o.works_proposed[0] == rowid for o, rowid in zip(outcomes, rowids)]

    def recall_block(picked: Sequence[int]) -> dict[str, Any]:
        return {"queries": len(picked), "top1": share([first[i] for i in picked]),
                f"recall@{MAX_PROPOSALS}": share([compared[i] for i in picked]),
                "recall@all": share([proposed[i] for i in picked]),
                **{f"found_by_{layer}": share([outcomes[i].found_by[layer] for i in picked])
                   for layer in ("global", "tone", "local")},
                "original_local_votes_mean": round(mean([outcomes[i].local_votes for i in picked]), 2)}

    subset = sorted(exact)
    neighbours = [neighbour_recall(outcomes[p].search, exact[p].search) for p in subset]
    neighbour_total = sum(t for _, t in neighbours)
    p50 = percentile(setting.timings_ms, 50)
    return {
        "setting": setting.label,
        "latency_ms": {"p50": round(p50, 3), "p99": round(percentile(setting.timings_ms, 99), 3),
                       "mean": round(mean(setting.timings_ms), 3), "max": round(max(setting.timings_ms), 3),
                       "timings": len(setting.timings_ms),
                       "global_search_p50": round(percentile(setting.global_ms, 50), 3),
                       "tone_search_p50": round(percentile(setting.tone_ms, 50), 3),
                       "queries_searching_tone": sum(searches_tone(q.layers) for q in queries),
                       "local_search_p50": round(percentile(setting.local_ms, 50), 3)},
        "speedup_vs_python_p50": round(python_p50_ms / p50, 1),
        "recall": {**recall_block(range(len(queries))),
                   "works_proposed_mean": round(mean([len(o.works_proposed) for o in outcomes]), 2),
                   "per_modification": {m: recall_block([i for i, q in enumerate(queries) if q.modification == m])
                                        for m in MODIFICATIONS}},
        "vs_exact": {
            "queries": len(subset),
            f"index_recall@{MAX_PROPOSALS}": share([compared[p] for p in subset]),
            f"exact_recall@{MAX_PROPOSALS}": share([rowids[p] in exact[p].works_compared for p in subset]),
            "index_recall@all": share([proposed[p] for p in subset]),
            "exact_recall@all": share([rowids[p] in exact[p].works_proposed for p in subset]),
            "index_found_by_local": share([outcomes[p].found_by["local"] for p in subset]),
            "exact_found_by_local": share([exact[p].found_by["local"] for p in subset]),
            "index_original_votes": round(sum(outcomes[p].local_votes for p in subset), 1),
            "exact_original_votes": round(sum(exact[p].local_votes for p in subset), 1),
            "same_works_compared": sum(outcomes[p].works_compared == exact[p].works_compared for p in subset),
            "identical_proposals": sum(outcomes[p].keys == exact[p].keys for p in subset),
            "neighbour_recall": round(sum(m for m, _ in neighbours) / neighbour_total, 4) if neighbour_total else None,
        },
    }


def measure_size(n: int, planted: list[RealWork], queries: list[RealQuery], args: argparse.Namespace,
                 pool: np.ndarray | None, workdir: Path) -> dict[str, Any]:
    """Everything this benchmark reports for one registry size."""
    print(f"\n== {n:,} works ==", flush=True)
    rows = SyntheticRows(n, planted, args.descriptors_per_work, args.border_fraction, args.seed + n, pool,
                         args.pool_flip, args.smooth_fraction)
    rowids = [rows.rowid_of[q.work] for q in queries]
    order = stratified(queries, args.seed)
    gc.collect()
    rss_start = status_bytes("VmRSS")
    peak_reset = reset_peak_rss()

    # -- build ------------------------------------------------------------------------------------------
    train_s = 0.0
    train = index_module._train_ivf

    def timed_train(codes: np.ndarray) -> Any:
        nonlocal train_s
        start = time.perf_counter()
        try:
            return train(codes)
        finally:
            train_s += time.perf_counter() - start

    index = MatchIndex()
    start = time.perf_counter()
    index.add_rows(rows)
    add_s = time.perf_counter() - start - rows.generation_s
    print(f"  add_rows: {add_s:.1f} s (+{rows.generation_s:.1f} s drawing synthetic codes); "
          f"{len(index.global_codes):,} hashes, {len(index.local_codes):,} descriptors -> local {index.local_kind}",
          flush=True)
    index_module._train_ivf = timed_train
    try:
        start = time.perf_counter()
        index.build()
        build_s = time.perf_counter() - start
    finally:
        index_module._train_ivf = train
    override_threads(args.threads)
    rss_built = status_bytes("VmRSS")
    ivf = index.local_kind == "ivf"
    nlist = int(index._local.nlist) if ivf else None
    print(f"  build: {build_s:.1f} s" + (f" (IVF training {train_s:.1f} s, {nlist} cells)" if ivf else ""), flush=True)
    memory = {
        "global_codes_bytes": int(index.global_codes.nbytes), "tone_codes_bytes": int(index.tone_codes.nbytes),
        "local_codes_bytes": int(index.local_codes.nbytes),
        "owner_bytes": int(index.global_owner.nbytes + index.global_is_box.nbytes + index.tone_owner.nbytes
                           + index.local_owner.nbytes),
        "faiss_bytes": faiss_bytes(index), "library_memory_bytes": index.memory_bytes,
        "rss_before_bytes": rss_start, "rss_after_build_bytes": rss_built,
        "rss_delta_build_bytes": None if rss_start is None or rss_built is None else rss_built - rss_start,
        "peak_rss_build_bytes": status_bytes("VmHWM") if peak_reset else None,
    }
    checked = order[:ROUND_TRIP_QUERIES]
    before_save = [[(p.rowid, p.layer) for p in index.propose(queries[i].layers, ALL)] for i in checked]

    # -- persistence --------------------------------------------------------------------------------------
    path = workdir / f"scale-{n}.index.npz"
    reset_peak_rss()
    start = time.perf_counter()
    index.save(path)
    save_s = time.perf_counter() - start
    file_bytes = path.stat().st_size
    memory["peak_rss_save_bytes"] = status_bytes("VmHWM") if peak_reset else None
    del index
    gc.collect()
    rss_dropped = status_bytes("VmRSS")
    reset_peak_rss()
    start = time.perf_counter()
    loaded = MatchIndex.load(path)
    load_s = time.perf_counter() - start
    if loaded is None:
        raise RuntimeError(f"MatchIndex.load({path}) returned None")
    start = time.perf_counter()
    index = loaded.build()  # what open_index does (the IVF is deserialised here)
    load_build_s = time.perf_counter() - start
    del loaded
    override_threads(args.threads)
    faiss_threads = faiss.omp_get_max_threads()
    rss_loaded = status_bytes("VmRSS")
    memory["peak_rss_load_bytes"] = status_bytes("VmHWM") if peak_reset else None
    memory["rss_delta_loaded_bytes"] = None if rss_dropped is None or rss_loaded is None else rss_loaded - rss_dropped
    # MatchIndex.load keeps the serialised IVF it read; build() deserialises it but keeps the bytes too.
    memory["ivf_blob_kept_after_build_bytes"] = \
        int(index._local_ivf_blob.nbytes) if index._local_ivf_blob is not None else 0
    path.unlink()
    round_trip = [[(p.rowid, p.layer) for p in index.propose(queries[i].layers, ALL)] for i in checked] == before_save
    print(f"  save {save_s:.1f} s, {file_bytes / 1e6:.1f} MB; load {load_s:.1f} s + build {load_build_s:.1f} s; "
          f"proposals identical after reload ({len(checked)} queries): {round_trip}", flush=True)

    # -- latency and recall, per search setting -----------------------------------------------------------
    settings: list[Setting] = []
    for nprobe in (args.nprobe if ivf else [None]):
        if nprobe is not None:
            index._local.nprobe = nprobe
        label = f"ivf nprobe={nprobe}" if nprobe is not None else "flat (exact)"
        settings.append(measure_setting(label, index, queries, rowids, args.min_timings))
        s = settings[-1]
        print(f"  {label}: p50 {percentile(s.timings_ms, 50):.2f} ms, p99 {percentile(s.timings_ms, 99):.2f} ms, "
              f"recall@{MAX_PROPOSALS} {share([r in o.works_compared for o, r in zip(s.outcomes, rowids)]):.3f}",
              flush=True)

    # -- the exact reference --------------------------------------------------------------------------------
    if ivf:
        index._local = index._local_ivf_blob = None  # free the IVF before the flat copy of the codes is made
        gc.collect()
        searches = exact_local_search(index, queries, order, args.exact_budget_s)
        exact = {p: outcome(index, queries[p].layers, rowids[p], searched) for p, searched in searches.items()}
        exact_label = f"flat search on {len(exact)} of {len(queries)} queries (budget {args.exact_budget_s:.0f} s)"
    else:
        exact = dict(enumerate(settings[0].outcomes))
        exact_label = f"the index itself (flat, exhaustive) on all {len(queries)} queries"

    # -- the pure-Python baseline -------------------------------------------------------------------------
    print("  timing the pure-Python linear scan ...", flush=True)
    python = baseline(index, queries, order[:args.baseline_queries], args.baseline_hashes_max,
                      args.baseline_descriptors_max)

    result = {
        "works": n, "planted": len(planted), "planted_rowids": rows.rowid_of,
        "global_hashes": len(index.global_codes), "tone_hashes": len(index.tone_codes),
        "descriptors": len(index.local_codes), "local_kind": "ivf" if ivf else "exact", "ivf_cells": nlist,
        "faiss_threads": faiss_threads,
        "build": {"add_rows_s": round(add_s, 3), "synthetic_generation_s": round(rows.generation_s, 3),
                  "build_s": round(build_s, 3), "ivf_training_s": round(train_s, 3) if ivf else None,
                  "add_plus_build_s": round(add_s + build_s, 3)},
        "memory": memory,
        "persistence": {"file_bytes": file_bytes, "save_s": round(save_s, 3), "load_s": round(load_s, 3),
                        "build_after_load_s": round(load_build_s, 3), "proposals_identical_after_reload": round_trip,
                        "round_trip_queries": len(checked)},
        "exact_reference": {"what": exact_label, "queries": len(exact)},
        "python_baseline": python,
        "settings": [summarise(s, queries, rowids, exact, python["p50_ms"]) for s in settings],
    }
    del index, exact, settings
    gc.collect()
    return result


# -- report ---------------------------------------------------------------------------------------------
def report(results: list[dict[str, Any]]) -> None:
    mb = megabytes
    print_table("Build, memory and persistence", [
        "works", "hashes", "descriptors", "local", "add s", "build s", "train s", "codes MB", "faiss MB",
        "RSS +MB", "peak MB", "file MB", "save s", "load s"], [[
            f"{r['works']:,}", r["global_hashes"] + r["tone_hashes"], r["descriptors"],
            r["local_kind"] + (f" ({r['ivf_cells']})" if r["ivf_cells"] else ""),
            r["build"]["add_rows_s"], r["build"]["build_s"], r["build"]["ivf_training_s"] or "-",
            mb(sum(r["memory"][f"{name}_bytes"] for name in ("global_codes", "tone_codes", "local_codes", "owner"))),
            mb(sum(r["memory"]["faiss_bytes"].values())), mb(r["memory"]["rss_delta_build_bytes"]),
            mb(max(v or 0 for v in (r["memory"]["peak_rss_build_bytes"], r["memory"]["peak_rss_save_bytes"],
                                    r["memory"]["peak_rss_load_bytes"]))),
            mb(r["persistence"]["file_bytes"]), r["persistence"]["save_s"],
            round(r["persistence"]["load_s"] + r["persistence"]["build_after_load_s"], 3)] for r in results])
    print_table(f"propose(query, {MAX_PROPOSALS}) latency vs the pure-Python linear scan", [
        "works", "setting", "threads", "p50 ms", "p99 ms", "max ms", "global p50", "tone p50", "local p50",
        "python p50 ms", "speedup"], [[
            f"{r['works']:,}", s["setting"], r["faiss_threads"], s["latency_ms"]["p50"], s["latency_ms"]["p99"],
            s["latency_ms"]["max"], s["latency_ms"]["global_search_p50"], s["latency_ms"]["tone_search_p50"],
            s["latency_ms"]["local_search_p50"],
            f"{r['python_baseline']['p50_ms']:,.1f}" + (" (extrap.)" if r["python_baseline"]["extrapolated"] else ""),
            f"{s['speedup_vs_python_p50']:,.0f}x"] for r in results for s in r["settings"]])
    k = MAX_PROPOSALS
    print_table(f"The planted original: first, among the {k} works compared, proposed at all (every query)", [
        "works", "setting", "top1", f"@{k}", "@all", "works proposed", "orig. votes"], [[
            f"{r['works']:,}", s["setting"], s["recall"]["top1"], s["recall"][f"recall@{k}"], s["recall"]["recall@all"],
            s["recall"]["works_proposed_mean"], s["recall"]["original_local_votes_mean"]]
        for r in results for s in r["settings"]])
    print_table("Index vs exact reference (index / exact, on the queries the reference covers)", [
        "works", "setting", "queries", f"@{k}", "@all", "local found", "orig. votes", f"same {k} works",
        "same proposals", "nbr recall"], [[
            f"{r['works']:,}", s["setting"], v["queries"],
            f"{v[f'index_recall@{k}']:.3f} / {v[f'exact_recall@{k}']:.3f}",
            f"{v['index_recall@all']:.3f} / {v['exact_recall@all']:.3f}",
            f"{v['index_found_by_local']:.3f} / {v['exact_found_by_local']:.3f}",
            f"{v['index_original_votes']:,.0f} / {v['exact_original_votes']:,.0f}",
            f"{v['same_works_compared']}/{v['queries']}", f"{v['identical_proposals']}/{v['queries']}",
            v["neighbour_recall"] if v["neighbour_recall"] is not None else "-"]
        for r in results for s in r["settings"] for v in [s["vs_exact"]]])
    print_table(f"Per modification (first setting): top1 / @{k} / found by the global, tone, local layer", [
        "works", *MODIFICATIONS], [[f"{r['works']:,}", *[
            f"{m['top1']:.2f} / {m[f'recall@{k}']:.2f} / {m['found_by_global']:.2f}, {m['found_by_tone']:.2f}, "
            f"{m['found_by_local']:.2f}"
            for m in r["settings"][0]["recall"]["per_modification"].values()]] for r in results])
    print("\nTargets (p50 < 20 ms, >= 100x the Python scan, no recall loss against the exact reference):")
    for r in results:
        for s in r["settings"]:
            v = s["vs_exact"]
            loss = v[f"index_recall@{k}"] < v[f"exact_recall@{k}"] or v["index_recall@all"] < v["exact_recall@all"]
            print(f"  {r['works']:>9,} {s['setting']:<16} p50 {s['latency_ms']['p50']:.2f} ms "
                  f"({'ok' if s['latency_ms']['p50'] < 20 else 'MISSED'}); "
                  f"{s['speedup_vs_python_p50']:,.0f}x ({'ok' if s['speedup_vs_python_p50'] >= 100 else 'MISSED'}"
                  f"{', extrapolated' if r['python_baseline']['extrapolated'] else ''}); "
                  f"recall@{k} {v[f'index_recall@{k}']:.3f} vs exact {v[f'exact_recall@{k}']:.3f} on "
                  f"{v['queries']} queries ({'LOSS' if loss else 'no loss'})")


def whole_verify(args: argparse.Namespace) -> int:
    """``--whole``: latency and batch throughput of the whole verify, per registry size (see _whole_verify.py)."""
    import _whole_verify

    rows = _whole_verify.run(args.sizes, args.home_cache, args.originals, args.distractors, args.positives,
                             args.negatives, args.workers, args.seed)
    table = []
    for row in rows:
        latency = row["latency_ms"]
        table.append([f"{row['works']:,}", f"{row['index_open_s']:.2f} s",
                      *(f"{latency[g]['p50']:.0f} / {latency[g]['p99']:.0f}" for g in ("all", "positive", "negative")),
                      f"{row['batch']['images_per_s']:.1f}", f"{row['found']}/{row['positives']}", row["false_matches"]])
    print_table("Whole verify: ms per image alone (p50 / p99), index held; batch images/s",
                ["works", "index open", "all", "edited originals", "unrelated", "batch img/s", "found",
                 "false matches"], table)
    save_results(args.out, "verify_scale_whole", {"rows": rows, "environment": environment()})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser(__doc__, "verify_scale")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="registry sizes N (default 10000 100000 1000000)")
    parser.add_argument("--works", type=int, default=50, help="procedural works planted (default 50)")
    parser.add_argument("--photos", nargs="*", default=list(PHOTOS),
                        help="scikit-image photos planted too (default: 9 bundled ones; none: --photos)")
    parser.add_argument("--descriptors-per-work", type=int, default=INDEXED_KEYPOINTS,
                        help=f"synthetic ORB descriptors per work (default {INDEXED_KEYPOINTS}; "
                             f"add_rows keeps at most {INDEXED_KEYPOINTS})")
    parser.add_argument("--descriptor-model", choices=("uniform", "orb-pool"), default="uniform",
                        help="synthetic descriptors: independent random bits, or perturbed real ORB descriptors")
    parser.add_argument("--pool-images", type=int, default=300, help="orb-pool: procedural images (default 300)")
    parser.add_argument("--pool-flip", type=float, default=0.05,
                        help="orb-pool: probability of flipping each bit (default 0.05)")
    parser.add_argument("--border-fraction", type=float, default=0.05,
                        help="synthetic works with a border, i.e. a second (box) PDQ (default 0.05)")
    parser.add_argument("--smooth-fraction", type=float, default=0.25,
                        help="synthetic works that are smooth, i.e. carry tone tiles (default 0.25)")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[IVF_PROBES],
                        help=f"IVF cells probed; several values are each measured (default {IVF_PROBES})")
    parser.add_argument("--ivf-above", type=int, default=None,
                        help=f"override the library's IVF_ABOVE ({index_module.IVF_ABOVE:,} descriptors) for this run")
    parser.add_argument("--min-timings", type=int, default=200, help="propose() timings per setting (default 200)")
    parser.add_argument("--exact-budget-s", type=float, default=300.0,
                        help="seconds of exhaustive search for the exact reference when the index is an IVF")
    parser.add_argument("--baseline-queries", type=int, default=3, help="queries the Python scan is timed on")
    parser.add_argument("--baseline-hashes-max", type=int, default=100_000,
                        help="PDQ / tone hashes the Python scan covers before extrapolating (default 100000)")
    parser.add_argument("--baseline-descriptors-max", type=int, default=20_000,
                        help="descriptors the Python scan covers before extrapolating (default 20000)")
    parser.add_argument("--threads", type=int, default=None,
                        help="FAISS (OpenMP) threads for searching, overriding what MatchIndex.build sets "
                             "(default: the library's choice; usable cores for everything else)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="where index files are saved (default: a temp dir)")
    whole = parser.add_argument_group("whole verify (--whole): a real registry of N works, see _whole_verify.py")
    whole.add_argument("--whole", action="store_true",
                       help="measure the whole verify (latency per image, batch throughput) instead of the index")
    whole.add_argument("--home-cache", type=Path, default=Path(tempfile.gettempdir()) / "artforge-verify-scale",
                       help="where the registries are built and kept between runs")
    whole.add_argument("--originals", type=int, default=60, help="robustness-corpus originals planted (default 60)")
    whole.add_argument("--distractors", type=int, default=120, help="corpus distractors for unmatched queries")
    whole.add_argument("--positives", type=int, default=200, help="queries that are edited originals (default 200)")
    whole.add_argument("--negatives", type=int, default=100, help="queries that match nothing (default 100)")
    whole.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="batch processes")
    args = parser.parse_args(argv)
    if args.whole:
        return whole_verify(args)
    faiss.omp_set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    if args.ivf_above is not None:
        index_module.IVF_ABOVE = args.ivf_above
    load_before = os.getloadavg()

    start = time.perf_counter()
    planted, queries = real_works_and_queries(args.works, args.photos)
    prepare_s = time.perf_counter() - start
    print(f"planted {len(planted)} real works, {len(queries)} real queries ({prepare_s:.1f} s); "
          f"faiss {faiss.__version__}, {len(os.sched_getaffinity(0))} usable cores", flush=True)
    pool = None
    if args.descriptor_model == "orb-pool":
        start = time.perf_counter()
        pool = descriptor_pool(args.pool_images)
        print(f"descriptor pool: {len(pool):,} real ORB descriptors from {args.pool_images} images "
              f"({time.perf_counter() - start:.1f} s)", flush=True)

    config = {
        "sizes": args.sizes, "planted_works": [w.name for w in planted], "modifications": list(MODIFICATIONS),
        "queries": len(queries), "descriptors_per_work": args.descriptors_per_work,
        "descriptor_model": args.descriptor_model,
        "pool": None if pool is None else {"images": args.pool_images, "descriptors": len(pool),
                                           "flip": args.pool_flip},
        "border_fraction": args.border_fraction, "smooth_fraction": args.smooth_fraction, "nprobe": args.nprobe,
        "ivf_above_overridden": args.ivf_above is not None,
        "max_proposals": MAX_PROPOSALS, "min_timings": args.min_timings, "exact_budget_s": args.exact_budget_s,
        "baseline": {"queries": args.baseline_queries, "hashes_max": args.baseline_hashes_max,
                     "descriptors_max": args.baseline_descriptors_max},
        "index_constants": {name: value for name, value in vars(index_module).items()
                            if name.isupper() and isinstance(value, (int, float))},
        "seed": args.seed, "real_data_prepare_s": round(prepare_s, 2),
    }
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="artforge-scale-", dir=args.workdir) as tmp:
        for n in args.sizes:
            results.append(measure_size(n, planted, queries, args, pool, Path(tmp)))
            output = {  # rewritten after every size, so a long run that dies keeps what it measured
                "benchmark": "verify_scale",
                "environment": {**environment(), "faiss": faiss.__version__, "threads_override": args.threads,
                                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                                "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
                "config": config, "sizes": results,
            }
            write_json(args.out, output)  # after every size: a long run that is stopped keeps what it measured
    report(results)
    save_results(args.out, "verify_scale", output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
