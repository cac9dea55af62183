"""The persistent candidate index: FAISS binary indexes over PDQ hashes and ORB descriptors.

A cache of the registry's ``match_layers`` rows, saved whole and renamed into place (a reader never sees
half a file); :mod:`artforge.matching.index_file` keeps that file in step with the table.

* Global layer: every work's frame PDQ, plus its content-box PDQ when it has a border, in an exact
  ``IndexBinaryFlat``: a query's 8 dihedral hashes (16 with a border) are compared against every stored
  hash with SIMD popcounts, so the index loses nothing against a linear scan.
* Tone layer: each work's content-box average hash, and for smooth works the hashes of its tone tiles
  (windows of the frame, so a crop lands near one; and the frame itself when it has a border), searched
  exactly with the query's 8 dihedral variants of its content box, and of its frame when it has a border
  (only for smooth queries: textured ones are covered by PDQ and keypoints).
* Local layer: the ``INDEXED_KEYPOINTS`` strongest ORB descriptors of each work.  Up to
  ``IVF_ABOVE`` descriptors they are searched exactly too; above it an ``IndexBinaryIVF`` (inverted lists
  over k-means cells, or random-code cells at large sizes; ``IVF_PROBES`` probed) keeps a query's cost
  nearly flat as the registry grows.  It misses descriptor neighbours (3% at 100k works, most at 1M);
  the work-level vote, which needs only a few of a copy's many keypoints, has not lost an original in
  ``benchmarks/verify_scale.py``.

``benchmarks/verify_scale.py`` measures build time, memory, latency and recall against exact search.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from artforge.fsutil import atomic_write
from artforge.matching.faiss_runtime import forked_after_load, load_faiss
from artforge.matching.layers import DIHEDRAL_OPS, FRAME_TILE, INDEXED_KEYPOINTS, QueryLayers, is_full_frame, parse_box
from artforge.provenance.fingerprints import default_workers

INDEX_FORMAT = 3
IVF_ABOVE = 100_000  # descriptors (about 1,500 works); below this the local layer is searched exactly
IVF_SAMPLE_PER_CELL = 32
IVF_KMEANS_ITERATIONS = 10
IVF_KMEANS_BUDGET = 2e8  # sample x cells; above it, cells are seeded by random codes and not refined
GLOBAL_NEIGHBOURS = 8  # nearest stored hashes per query hash
GLOBAL_RADIUS = 96  # of 256 bits; unrelated PDQs sit near 128 (sd ~8), so this is > 4 sd out
TONE_NEIGHBOURS = 16  # one work's tiles may take several of them
TONE_RADIUS = 56  # of 256 bits (crops of smooth art move the average hash further than other edits)
LOCAL_NEIGHBOURS = 8
LOCAL_RADIUS = 56  # of 256 bits, for one ORB descriptor to count as seen again
LOCAL_RATIO = 0.85  # ...and closer than this share of the nearest descriptor of any other work
LAYER_LEADERS = 2
LOCAL_QUERY_POINTS = 96  # strongest query keypoints searched (each side of the mirror)
TONE_NEEDED_BELOW = (64, 50)  # keypoints, PDQ quality: a query with fewer/less is smooth, so search the tone layer
# ...as is one whose keypoints all lie in at most this many cells of an 8x8 grid: a caption or a badge on
# smooth art, whose corners are the overlay's own (benchmark: 6-9 cells for a caption across a gradient;
# 22-50 for photographs and procedural art).
KEYPOINT_GRID = 8
CONCENTRATED_CELLS = 12
MIN_VOTES = 3
IVF_PROBES = 12  # benchmarks/verify_scale.py at 1M works: p50 14 ms at 8, 18 ms at 12, 20 ms at 16
PARALLEL_ABOVE = 500_000  # codes; smaller indexes are searched on one thread


@dataclass(frozen=True)
class Proposal:
    """A candidate original, and how the index found it."""

    rowid: int
    layer: str  # "global" (PDQ), "tone" (average hash of the content box) or "local" (ORB keypoints)
    strength: float  # global: 256 - best Hamming distance; local: votes
    dihedral: str = "identity"  # global: the turn/flip of the query that matched
    query_box: bool = False  # global: the query's content box matched (not its frame)
    stored_box: bool = False  # global: the work's content box matched
    tile: int = -1  # tone: the tone tile that matched (layers.tile_boxes() order); -1 for the whole content box
    mirrored: bool = False  # local: the query's mirror image matched
    distance: int | None = None


@dataclass
class MatchIndex:
    """Global and local binary indexes with owner rowids; built from, and refreshed against, the registry."""

    global_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 32), np.uint8))
    global_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    global_is_box: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    tone_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 32), np.uint8))
    tone_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tone_tile: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # -1: the content box
    local_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 32), np.uint8))
    local_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    covered_rowid: int = 0
    snapshot_rowid: int = 0  # what the file on disk covers
    works: int = 0
    _global: object = None
    _tone: object = None
    _local: object = None
    _local_ivf_blob: np.ndarray | None = None

    # -- building --------------------------------------------------------------------------------------
    def add_rows(self, rows) -> int:
        """Add ``layer_store.match_index_rows`` rows; returns how many."""
        g_codes, g_owner, g_box, l_codes, l_owner, t_codes, t_owner, t_tile = [], [], [], [], [], [], [], []
        count = 0
        for rowid, pdq, box, box_pdq, box_ahash, tile_ahash, descriptors in rows:
            count += 1
            g_codes.append(np.frombuffer(pdq, np.uint8))
            g_owner.append(rowid)
            g_box.append(False)
            if box_pdq is not None and box and not is_full_frame(parse_box(box)):
                g_codes.append(np.frombuffer(box_pdq, np.uint8))
                g_owner.append(rowid)
                g_box.append(True)
            if box_ahash:
                t_codes.append(np.frombuffer(box_ahash, np.uint8))
                t_owner.append(rowid)
                t_tile.append(-1)
            if tile_ahash:
                tiles = np.frombuffer(tile_ahash, np.uint8).reshape(-1, 32)
                # The frame tile repeats the box's hash when the work has no border.
                kept = [i for i in range(len(tiles)) if i != FRAME_TILE or not box or not is_full_frame(parse_box(box))]
                t_codes.extend(tiles[kept])
                t_owner.extend([rowid] * len(kept))
                t_tile.extend(kept)
            if descriptors:
                strongest = np.frombuffer(descriptors, np.uint8).reshape(-1, 32)[:INDEXED_KEYPOINTS]
                l_codes.append(strongest)
                l_owner.append(np.full(len(strongest), rowid, np.int64))
            self.covered_rowid = max(self.covered_rowid, rowid)
        if not count:
            return 0
        self.works += count
        new_global = np.stack(g_codes)
        self.global_codes = np.concatenate([self.global_codes, new_global])
        self.global_owner = np.concatenate([self.global_owner, np.array(g_owner, np.int64)])
        self.global_is_box = np.concatenate([self.global_is_box, np.array(g_box, bool)])
        if self._global is not None:
            self._global.add(new_global)
        if t_codes:
            new_tone = np.stack(t_codes)
            self.tone_codes = np.concatenate([self.tone_codes, new_tone])
            self.tone_owner = np.concatenate([self.tone_owner, np.array(t_owner, np.int64)])
            self.tone_tile = np.concatenate([self.tone_tile, np.array(t_tile, np.int8)])
            if self._tone is not None:
                self._tone.add(new_tone)
        if l_codes:
            new_local = np.concatenate(l_codes)
            self.local_codes = np.concatenate([self.local_codes, new_local])
            self.local_owner = np.concatenate([self.local_owner, np.concatenate(l_owner)])
            if self._local is not None:
                self._local.add(new_local)
        return count

    def build(self) -> "MatchIndex":
        """(Re)create the FAISS indexes from the code arrays."""
        faiss = load_faiss()
        # Threads pay off only on big indexes; on small ones OpenMP's start-up and spinning cost more
        # than the search, and batches already run one process per core.
        small = len(self.local_codes) + len(self.global_codes) < PARALLEL_ABOVE
        faiss.omp_set_num_threads(1 if small or forked_after_load() else default_workers())
        self._global = faiss.IndexBinaryFlat(256)
        if len(self.global_codes):
            self._global.add(self.global_codes)
        self._tone = faiss.IndexBinaryFlat(256)
        if len(self.tone_codes):
            self._tone.add(self.tone_codes)
        if len(self.local_codes) > IVF_ABOVE:
            if self._local_ivf_blob is not None:
                self._local = faiss.deserialize_index_binary(self._local_ivf_blob)
                self._local_ivf_blob = None  # the index holds its own copy now
            else:
                self._local = _train_ivf(self.local_codes)
                self._local.add(self.local_codes)
            self._local.nprobe = IVF_PROBES
        else:
            self._local = faiss.IndexBinaryFlat(256)
            if len(self.local_codes):
                self._local.add(self.local_codes)
        return self

    @property
    def local_kind(self) -> str:
        return "ivf" if len(self.local_codes) > IVF_ABOVE else "exact"

    @property
    def memory_bytes(self) -> int:
        return int(2 * (self.global_codes.nbytes + self.local_codes.nbytes + self.tone_codes.nbytes)
                   + self.global_owner.nbytes + self.local_owner.nbytes + self.tone_owner.nbytes
                   + self.tone_tile.nbytes)

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the whole index to ``path`` atomically."""
        arrays = {
            "meta": np.frombuffer(json.dumps({"format": INDEX_FORMAT, "covered_rowid": self.covered_rowid,
                                              "works": self.works}).encode(), np.uint8),
            "global_codes": self.global_codes, "global_owner": self.global_owner,
            "global_is_box": self.global_is_box, "local_codes": self.local_codes, "local_owner": self.local_owner,
            "tone_codes": self.tone_codes, "tone_owner": self.tone_owner, "tone_tile": self.tone_tile,
        }
        if self.local_kind == "ivf":
            arrays["local_ivf"] = load_faiss().serialize_index_binary(self._local)

        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(path, buffer.getbuffer())
        self.snapshot_rowid = self.covered_rowid

    @classmethod
    def load(cls, path: Path) -> "MatchIndex | None":
        """The index stored at ``path``, or None when there is none or it is unreadable/another format."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("format") != INDEX_FORMAT:
                    return None
                index = cls(global_codes=data["global_codes"], global_owner=data["global_owner"],
                            global_is_box=data["global_is_box"], local_codes=data["local_codes"],
                            local_owner=data["local_owner"], tone_codes=data["tone_codes"],
                            tone_owner=data["tone_owner"], tone_tile=data["tone_tile"], covered_rowid=int(meta["covered_rowid"]),
                            works=int(meta["works"]))
                if "local_ivf" in data.files:
                    index._local_ivf_blob = data["local_ivf"]
        except (OSError, ValueError, KeyError):
            return None
        index.snapshot_rowid = index.covered_rowid
        return index

    # -- searching -----------------------------------------------------------------------------------------
    def propose(self, query: QueryLayers, max_candidates: int = 6) -> list[Proposal]:
        """Proposals for the ``max_candidates`` strongest works (plus the tone layer's leaders for an overlaid
        query), strongest first, one per work and layer (two for the tone layer: by the query's content box
        and by its frame)."""
        searched = searches_tone(query)
        # A caption's or badge's corners make smooth art look textured; then the tone layer is searched
        # too, but only adds its leaders, on top of the other layers' candidates.
        overlaid = searched and not is_smooth(query)
        tone = self._tone_proposals(query) if searched else []
        best: dict[tuple[int, str, bool], Proposal] = {}
        for proposal in self._global_proposals(query) + tone + self._local_proposals(query):
            # A work's tone match by the query's content box and by its frame are two hypotheses: keep both.
            key = (proposal.rowid, proposal.layer, proposal.query_box if proposal.layer == "tone" else False)
            held = best.get(key)
            if held is None or _rank(proposal) > _rank(held):
                best[key] = proposal
        ranked = sorted(best.values(), key=_rank, reverse=True)

        def strongest(proposals: list[Proposal]) -> list[int]:
            return list(dict.fromkeys(p.rowid for p in proposals))[:LAYER_LEADERS]

        # The tone layer's matches by the query's frame, and for an overlaid query all its matches, only add
        # their two strongest works on top of the others: they are a fallback, and must not crowd out the
        # candidates that the layers found before them.
        def on_top(p: Proposal) -> bool:
            return p.layer == "tone" and (overlaid or not p.query_box)

        main = [p for p in ranked if not on_top(p)]
        # Each layer's two strongest works always get through: a caption's corners can flood the keypoint
        # votes of unrelated works while the global hash still knows the original, and the other way round.
        leaders = [rowid for layer in ("global", "tone", "local")
                   for rowid in strongest([p for p in main if p.layer == layer])]
        works = list(dict.fromkeys(leaders + [p.rowid for p in main]))[:max(max_candidates, len(set(leaders)))]
        for query_box in (True, False):
            works += [rowid for rowid in strongest([p for p in ranked if on_top(p) and p.query_box == query_box])
                      if rowid not in works]
        return [p for p in ranked if p.rowid in works]

    def _global_proposals(self, query: QueryLayers) -> list[Proposal]:
        if self._global is None or not len(self.global_codes):
            return []
        codes = global_query_codes(query)
        k = min(GLOBAL_NEIGHBOURS, len(self.global_codes))
        distances, labels = self._global.search(codes, k)
        found = []
        for row in range(len(codes)):
            for distance, label in zip(distances[row], labels[row]):
                if label < 0 or distance > GLOBAL_RADIUS:
                    continue
                found.append(Proposal(
                    rowid=int(self.global_owner[label]), layer="global", strength=256.0 - float(distance),
                    dihedral=DIHEDRAL_OPS[row % 8], query_box=row >= 8,
                    stored_box=bool(self.global_is_box[label]), distance=int(distance)))
        return found

    def _tone_proposals(self, query: QueryLayers) -> list[Proposal]:
        # Only for smooth or overlaid queries (see propose): textured ones are covered by PDQ and keypoints,
        # and the search costs ~25 ms at 1M works.
        if self._tone is None or not len(self.tone_codes):
            return []
        k = min(TONE_NEIGHBOURS, len(self.tone_codes))
        distances, labels = self._tone.search(tone_query_codes(query), k)
        return [Proposal(rowid=int(self.tone_owner[label]), layer="tone", strength=256.0 - float(distance),
                         dihedral=DIHEDRAL_OPS[row % 8], query_box=row < 8, stored_box=True,
                         distance=int(distance), tile=int(self.tone_tile[label]))
                for row in range(len(distances)) for distance, label in zip(distances[row], labels[row])
                if label >= 0 and distance <= TONE_RADIUS]

    def _local_proposals(self, query: QueryLayers) -> list[Proposal]:
        if self._local is None or not len(self.local_codes):
            return []
        sides = [(False, query.descriptors[:LOCAL_QUERY_POINTS]), (True, query.mirror_descriptors[:LOCAL_QUERY_POINTS])]
        sides = [(mirrored, d) for mirrored, d in sides if len(d)]
        if not sides:
            return []
        codes = np.ascontiguousarray(np.concatenate([d for _, d in sides]))
        k = min(LOCAL_NEIGHBOURS, len(self.local_codes))
        distances, labels = self._local.search(codes, k)
        votes: dict[tuple[int, bool], int] = defaultdict(int)
        offset = 0
        for mirrored, descriptors in sides:
            for row in range(offset, offset + len(descriptors)):
                if labels[row][0] < 0 or distances[row][0] > LOCAL_RADIUS:
                    continue
                owner = int(self.local_owner[labels[row][0]])
                # Lowe's ratio test against the nearest descriptor of another work: a corner that looks
                # like corners everywhere (text, noise) votes for nobody.
                rival = next((d for d, label in zip(distances[row][1:], labels[row][1:])
                              if label >= 0 and int(self.local_owner[label]) != owner), None)
                if rival is None or distances[row][0] < LOCAL_RATIO * rival:
                    votes[(owner, mirrored)] += 1
            offset += len(descriptors)
        return [Proposal(rowid=owner, layer="local", strength=float(count), mirrored=mirrored)
                for (owner, mirrored), count in votes.items() if count >= MIN_VOTES]


def global_query_codes(query: QueryLayers) -> np.ndarray:
    """The PDQ hashes the global layer searches: the frame's 8 turns and flips, then (with a border) the
    content box's; row ``r`` is ``DIHEDRAL_OPS[r % 8]``, of the content box from row 8 on."""
    parts = [query.dihedral] + ([query.box_dihedral] if query.box_dihedral is not None else [])
    return np.ascontiguousarray(np.concatenate(parts))


def tone_query_codes(query: QueryLayers) -> np.ndarray:
    """The average hashes the tone layer searches: the content box's 8 turns and flips, then (with a
    border) the frame's, since on stripe art the "border" may be a stripe of the work itself; row ``r`` is
    ``DIHEDRAL_OPS[r % 8]``, of the frame from row 8 on."""
    parts = [query.ahash_dihedral] + ([query.frame_ahash_dihedral] if query.frame_ahash_dihedral is not None else [])
    return np.ascontiguousarray(np.concatenate(parts))


def is_smooth(query: QueryLayers) -> bool:
    """Few keypoints or a weak PDQ: flat or smooth art, which the tone layer and search alignment serve."""
    return len(query.points) < TONE_NEEDED_BELOW[0] or query.quality < TONE_NEEDED_BELOW[1]


def searches_tone(query: QueryLayers) -> bool:
    """Whether :meth:`MatchIndex.propose` searches the tone layer for this query."""
    return is_smooth(query) or keypoints_concentrated(query)


def keypoints_concentrated(query: QueryLayers) -> bool:
    """The query's keypoints all lie in a small part of it: likely an overlay on smooth art."""
    height, width = query.work.shape[:2]
    columns = np.minimum((query.points[:, 0] * KEYPOINT_GRID / width).astype(int), KEYPOINT_GRID - 1)
    rows = np.minimum((query.points[:, 1] * KEYPOINT_GRID / height).astype(int), KEYPOINT_GRID - 1)
    return len(set(zip(columns.tolist(), rows.tolist()))) <= CONCENTRATED_CELLS


def _rank(proposal: Proposal) -> float:
    # One scale for the layers, roughly "keypoint votes": a PDQ distance of 64 bits (far out in the tail
    # of unrelated pairs, which sit near 128) ranks like 32 ratio-tested votes; average hashes of smooth
    # images collide more often, so the same distance ranks lower there.
    if proposal.layer == "global":
        return (128.0 - (256.0 - proposal.strength)) / 2.0
    if proposal.layer == "tone":
        return (96.0 - (256.0 - proposal.strength)) / 2.0
    return proposal.strength


def _train_ivf(codes: np.ndarray):
    """An empty, trained ``IndexBinaryIVF`` for ``codes``.

    About ``2 * sqrt(n)`` cells balances the coarse step against the lists scanned; the centroids sit in an
    HNSW graph, so assigning tens of millions of codes to cells does not compare each with every centroid.
    k-means runs on a sample (a few dozen codes per cell): the cells only need to be good enough to keep
    near neighbours together.
    """
    faiss = load_faiss()
    cells = int(min(65_536, max(64, 2 * np.sqrt(len(codes)))))
    quantizer = faiss.IndexBinaryHNSW(256, 16)
    ivf = faiss.IndexBinaryIVF(quantizer, 256, cells)
    # Binary k-means runs as float k-means in 256 dimensions: minutes at 100k works, an hour at 1M.  Random
    # codes as centroids keep fewer descriptor neighbours (benchmarks/verify_scale.py: 87% against 91% at
    # 10k works, 31% at 1M), but a copy has dozens of matching keypoints and its work still comes out on
    # top in every measured query; the build stays in minutes.
    sample_size = min(len(codes), cells * IVF_SAMPLE_PER_CELL)
    ivf.cp.niter = IVF_KMEANS_ITERATIONS if sample_size * cells <= IVF_KMEANS_BUDGET else 0
    sample = codes[np.sort(np.random.default_rng(0).choice(len(codes), sample_size, replace=False))]
    ivf.train(np.ascontiguousarray(sample))
    ivf.own_fields = True
    quantizer.this.disown()
    return ivf
