"""The layered matcher: propose candidates from the index, then decide each by comparing pixels."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from artforge.imaging import LoadedImage
from artforge.matching import calibration as cal
from artforge.matching import layer_store
from artforge.matching.compare import (
    SEARCH_MIN_PEAK_TEXTURED,
    Alignment,
    Comparison,
    box_alignment,
    compare,
    keypoint_alignment,
    oriented_box,
    oriented_query,
    search_alignment,
)
from artforge.matching.index import MatchIndex, Proposal, is_smooth
from artforge.matching.information import Information, measure_information
from artforge.matching.layers import (
    FRAME,
    MatchLayers,
    QueryLayers,
    compute_layers,
    decode_thumbnail,
    tile_boxes,
    to_grey,
)
from artforge.matching.straighten import disputed_layers
from artforge.provenance.fingerprints import ExactPrint, Fingerprint, default_workers, exact_print, fingerprint_image
from artforge.provenance.sealing import is_sealed
from artforge.registry.database import Registry

ANALYSIS_MAX_SIDE = 1024  # layers never need more; shrinking first keeps huge images cheap
MAX_PROPOSALS = 6


@dataclass(frozen=True)
class Analysed:
    """An image fingerprinted and prepared for the matcher (registration: stored layers; query: query layers)."""

    fingerprint: Fingerprint | ExactPrint  # a query needs its exact hashes only
    layers: MatchLayers | QueryLayers
    frames: int = 1  # an animated file is matched by its first frame


def _rgb_array(loaded: LoadedImage) -> np.ndarray:
    rgb = loaded.rgb()
    factor = max(rgb.width, rgb.height) // ANALYSIS_MAX_SIDE
    if factor >= 2:
        rgb = rgb.reduce(factor)
    return np.asarray(rgb)


def analyse_for_registration(loaded: LoadedImage) -> Analysed:
    """Fingerprint and stored layers of an image being registered."""
    return Analysed(fingerprint_image(loaded), compute_layers(_rgb_array(loaded)))


def analyse_query(loaded: LoadedImage) -> Analysed:
    """Exact hashes and query layers of a disputed image."""
    layers = disputed_layers(_rgb_array(loaded))
    return Analysed(exact_print(loaded, layers.quality), layers, frames=loaded.frames)


@dataclass(frozen=True)
class Evidence:
    """Why a candidate is (or is not) the original: the index layer that proposed it and the pixel check."""

    work_id: str
    proposed_by: str  # "global" (PDQ), "tone" (average hash) or "local" (keypoints)
    hash_distance: int | None  # PDQ or average-hash bits, when a hash layer proposed it
    keypoint_votes: int | None
    alignment: str  # "global", "content-box", "tile", "keypoints" or "search"
    dihedral: str
    mirrored: bool
    inliers: int
    correlation: float
    agreement: float
    textured_agreement: float
    textured_cells: int
    detailed_cells: int
    original_grey: bool
    occlusion: float
    coverage: float
    query_coverage: float
    # None for a grey query, and for a candidate whose structure already rules it out (not measured)
    colour_residual: float | None
    grey_residual: float | None  # a grey query of colour art: distance from the original's own greyscale
    # What the compared part of the original holds (see matching/information.py): the false-match estimate's input
    regions: int
    flat_share: float
    symmetry: float
    bits: int
    score: float
    false_match_probability: float
    kind: str | None  # "modified-copy", "derived-work", or None when it is not a match
    matrix: tuple[tuple[float, ...], ...]  # query working pixels -> thumbnail pixels

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "matrix"}
        for name in ("correlation", "agreement", "textured_agreement", "occlusion", "coverage", "query_coverage",
                     "score", "flat_share", "symmetry"):
            data[name] = round(data[name], 4)
        for name in ("colour_residual", "grey_residual"):
            if data[name] is not None:
                data[name] = round(data[name], 4)
        data["false_match_probability"] = float(f"{self.false_match_probability:.3g}")
        return data


def structure_holds(comparison: Comparison) -> bool:
    """The first test of :func:`classify`: do the pixels' structure and coverage allow a match at all?
    (Only then is the colour evidence worth measuring.)"""
    return comparison.correlation >= cal.MIN_CORRELATION and comparison.agreement >= cal.MIN_AGREEMENT \
        and comparison.textured_agreement >= cal.MIN_TEXTURED_AGREEMENT and comparison.score >= cal.MIN_SCORE \
        and comparison.occlusion <= cal.MAX_OCCLUSION


def classify(comparison: Comparison, bits: int | None = None) -> str | None:
    """``modified-copy``, ``derived-work`` or None (not a match), from the calibrated thresholds.

    ``bits``: the description length of the original's compared part (:mod:`.information`); detail in
    many cells is strong evidence only when there is this much to describe, not in a word on a plain ground.
    """
    if not structure_holds(comparison):
        return None
    structured = comparison.detailed_cells >= cal.STRUCTURED_CELLS and (bits is None or bits >= cal.STRUCTURED_BITS)
    residual = None if comparison.original_grey else comparison.colour_residual
    if not structured:  # weak evidence: flat or smooth art
        smooth = comparison.detailed_cells < cal.SMOOTH_CELLS
        grey_query = comparison.colour_residual is None and not comparison.original_grey
        grey_limit = cal.GREY_SMOOTH_MAX_RESIDUAL if smooth else cal.GREY_MAX_RESIDUAL
        if grey_query and (comparison.grey_residual is None or comparison.grey_residual > grey_limit):
            return None  # grey, yet not the original's own grey levels: a sibling's grey copy would look alike
        turn = abs(math.degrees(math.atan2(comparison.matrix[1][0], comparison.matrix[0][0])))
        if min(turn % 90.0, 90.0 - turn % 90.0) > cal.WEAK_MAX_TURN:
            return None  # flat shapes have turned look-alikes: a square is a diamond turned 45 degrees
        consistent = comparison.agreement == 1.0 and comparison.textured_agreement == 1.0 \
            and comparison.textured_cells >= cal.CONSISTENT_MIN_TEXTURED_CELLS
        needed = cal.SMOOTH_MIN_CORRELATION if smooth else \
            cal.CONSISTENT_MIN_CORRELATION if consistent else cal.WEAK_MIN_CORRELATION
        if comparison.correlation < needed:
            return None
        if smooth and comparison.coverage < cal.SMOOTH_MIN_COVERAGE:
            return None
    if residual is not None:
        limit = cal.MAX_COLOUR_RESIDUAL if structured else cal.WEAK_MAX_COLOUR_RESIDUAL
        if residual > limit:  # recoloured
            rich = structured and comparison.textured_agreement >= cal.RECOLOURED_MIN_TEXTURED_AGREEMENT
            return "derived-work" if rich else None
    if comparison.coverage >= cal.COPY_MIN_COVERAGE and comparison.query_coverage >= cal.COPY_MIN_QUERY_COVERAGE:
        return "modified-copy"
    return "derived-work"


def is_decisive(evidence: Evidence) -> bool:
    """A match on rich evidence that no weakly proposed work could overturn (see ``calibration.DECISIVE_*``)."""
    return (evidence.kind is not None and evidence.detailed_cells >= cal.DECISIVE_CELLS
            and evidence.bits >= cal.DECISIVE_BITS and evidence.correlation >= cal.DECISIVE_CORRELATION
            and evidence.agreement >= cal.DECISIVE_AGREEMENT and evidence.occlusion <= cal.DECISIVE_MAX_OCCLUSION)


def proposed_like_a_copy(proposals: list[Proposal]) -> bool:
    """Whether a work's proposals look like a copy's (a close hash or many keypoint votes): a near-duplicate's do."""
    return any(p.strength >= cal.RELATED_MIN_VOTES if p.layer == "local"
               else p.distance is not None and p.distance <= cal.RELATED_MAX_DISTANCE for p in proposals)


def _alignments(query: QueryLayers, proposal: Proposal, stored: MatchLayers, thumb_shape: tuple[int, int],
                fits: dict[bool, Alignment | None]) -> list[Alignment]:
    """The alignments a proposal suggests; ``fits`` caches the work's keypoint fits (one per mirror side)."""
    found = []
    if proposal.layer in ("global", "tone"):
        image = oriented_query(query, proposal.dihedral, False)
        qbox = oriented_box(query, proposal.dihedral, False) if proposal.query_box else None
        tile = tile_boxes()[proposal.tile] if proposal.tile >= 0 else None
        if tile is not None:  # a tone tile: the query is that window of the work...
            found.append(box_alignment(image, thumb_shape, tile, proposal.query_box, proposal.dihedral, "tile",
                                       query_box=qbox))
        # ...or the whole work (a window of a smooth gradient has the gradient's own average hash)
        whole = stored.box if proposal.stored_box else None
        if tile != (whole or FRAME):
            found.append(box_alignment(image, thumb_shape, whole, proposal.query_box, proposal.dihedral,
                                       query_box=qbox))
    for mirrored in (proposal.mirrored, not proposal.mirrored):  # the votes' side first; ties of ORB are common
        if mirrored not in fits:
            fits[mirrored] = keypoint_alignment(query, stored, thumb_shape, mirrored)
        fitted = fits[mirrored]
        if fitted is not None:
            found.append(fitted)
    return found


def _best_comparison(query: QueryLayers, work_proposals: list[Proposal], stored: MatchLayers,
                     smooth_query: bool) -> tuple[Comparison, Proposal, Information] | None:
    """The best comparison of one proposed work with the query, the proposal it came from, and the
    information of the original's part it compared.

    Ranked by (a match, score): a fit that holds beats one that scores higher but does not (a whole-frame
    guess for a crop of flat art can outscore the crop's true place and still fail the decision).
    """
    thumb = decode_thumbnail(stored.thumbnail)  # once per work, not per alignment
    best: tuple[tuple[bool, float], Comparison, Proposal, Information | None] | None = None
    fits: dict[bool, Alignment | None] = {}
    tried: set[tuple] = set()  # the layers of one work often suggest the same alignment

    def consider(alignments: list[Alignment], proposal: Proposal) -> bool:
        nonlocal best
        for alignment in alignments:
            key = (alignment.dihedral, alignment.mirrored, tuple(np.round(alignment.matrix, 2).ravel()))
            if key in tried:
                continue
            tried.add(key)
            comparison = compare(query, thumb, alignment, colour_when=structure_holds)
            if comparison is None:
                continue
            # The information is measured where it can decide (the structure holds), ~1 ms each.
            information = _information(thumb, comparison) if structure_holds(comparison) else None
            rank = (classify(comparison, information.bits if information else None) is not None, comparison.score)
            if best is None or rank > best[0]:
                best = (rank, comparison, proposal, information)
        return best is not None and best[0][0]

    if not any(consider(_alignments(query, proposal, stored, thumb.shape[:2], fits), proposal)
               for proposal in work_proposals):  # stops at the strongest layer that matches
        # No frame, content box or keypoint fit holds: perhaps a crop of art with few keypoints.  Only as
        # shown or mirrored: on flat art a turned crop fits too many other works' corners.
        hashed = [p for p in work_proposals if p.layer in ("global", "tone")]
        orientations = ["identity"] + (["fliplr"] if any(p.dihedral == "fliplr" for p in hashed) else [])
        thumb_grey = to_grey(thumb).astype(np.float32) if hashed else None
        for orientation in orientations if hashed else []:
            found = search_alignment(oriented_query(query, orientation, False), thumb_grey, orientation,
                                     0.0 if smooth_query else SEARCH_MIN_PEAK_TEXTURED,
                                     query_box=oriented_box(query, orientation, False))
            if found is not None and consider([found], hashed[0]):
                break
    if best is None:
        return None
    return best[1], best[2], best[3] or _information(thumb, best[1])


def _information(thumb: np.ndarray, comparison: Comparison) -> Information:
    overlap = comparison.overlap if comparison.overlap is not None else np.ones(thumb.shape[:2], bool)
    return measure_information(thumb, overlap)


_POOL: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, threads, pool): a forked worker makes its own


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """Found once: a fresh lookup scans the loaded libraries (3-6 ms a query)."""
    return ThreadpoolController()


def _thread_pool(threads: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL[:2] != (os.getpid(), threads):
        _POOL = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="artforge-compare"))
    return _POOL[2]


class LayeredMatcher:
    """Candidates from :class:`MatchIndex`, each decided by :func:`compare` against its thumbnail."""

    def __init__(self, index: MatchIndex, max_proposals: int = MAX_PROPOSALS,
                 admit: Callable[[dict], bool] | None = None, threads: int | None = None):
        self.index = index
        self.max_proposals = max_proposals
        # Decides whether a stored layers row may serve as evidence (verify admits only rows whose digest the
        # work's signed records carry); None admits every row.
        self.admit = admit
        # Opens a private work's sealed thumbnail (the row as stored -> plain bytes, or None when it stays shut);
        # None: sealed works are not compared.
        self.unseal: Callable[[dict], bytes | None] | None = None
        # Candidates compared at once (threads), by default one per usable core (OpenCV and NumPy release the
        # GIL in the pixel work); 1 where processes already share the cores (a batch).
        self.threads = default_workers() if threads is None else max(1, threads)

    def evidence(self, registry: Registry, query: QueryLayers) -> list[Evidence]:
        """Evidence for each proposed work that was compared, matches first, best score first.

        After a decisive match in the first round (:func:`is_decisive`), only works proposed like a copy are compared.
        """
        proposals = self.index.propose(query, self.max_proposals)
        by_work: dict[int, list[Proposal]] = {}
        for proposal in proposals:  # strongest first; a work may be proposed by several layers
            by_work.setdefault(proposal.rowid, []).append(proposal)
        rows = layer_store.match_layers(registry, list(by_work))
        admitted = []  # read and vetted here: the registry connection stays in this thread
        for rowid, work_proposals in by_work.items():
            row = rows.get(rowid)
            if row is None or not row.get("version"):
                continue  # a work without layers (registered before them) cannot be compared
            if self.admit is not None and not self.admit(row):
                continue
            if is_sealed(row.get("thumbnail")):  # a private work: compared only where this home can open it
                thumbnail = self.unseal(row) if self.unseal is not None else None
                if thumbnail is None:
                    continue
                row = {**row, "thumbnail": thumbnail}
            admitted.append((row["work_id"], work_proposals, MatchLayers.from_row(row)))
        smooth_query = is_smooth(query)

        def decide(item: tuple[str, list[Proposal], MatchLayers]) -> Evidence | None:
            work_id, work_proposals, stored = item
            found = _best_comparison(query, work_proposals, stored, smooth_query)
            return None if found is None else self._evidence(work_id, found[1], found[0], found[2], len(by_work))

        def decide_all(items: list[tuple[str, list[Proposal], MatchLayers]]) -> list[Evidence | None]:
            if self.threads > 1 and len(items) > 1:
                return list(_thread_pool(self.threads).map(decide, items))
            return [decide(item) for item in items]

        # One BLAS thread: OpenBLAS's workers spin after each of the comparisons' small products and took
        # the second core from them (CPU time twice the wall time, no gain from a second thread).
        with _blas_controller().limit(limits=1, user_api="blas"):
            first, rest = admitted[:self.threads], admitted[self.threads:]  # strongest proposals first
            decided = decide_all(first)
            if any(evidence is not None and is_decisive(evidence) for evidence in decided):
                rest = [item for item in rest if proposed_like_a_copy(item[1])]
            decided += decide_all(rest)
        results = [evidence for evidence in decided if evidence is not None]
        results.sort(key=lambda e: (e.kind is not None, e.score), reverse=True)
        return results

    @staticmethod
    def _evidence(work_id: str, proposal: Proposal, comparison: Comparison, information: Information,
                  compared: int) -> Evidence:
        alignment = comparison.alignment
        kind = classify(comparison, information.bits)
        return Evidence(
            work_id=work_id, proposed_by=proposal.layer,
            hash_distance=proposal.distance, keypoint_votes=int(proposal.strength) if proposal.layer == "local" else None,
            alignment=alignment.source, dihedral=alignment.dihedral, mirrored=alignment.mirrored,
            inliers=alignment.inliers, correlation=comparison.correlation, agreement=comparison.agreement,
            textured_agreement=comparison.textured_agreement, textured_cells=comparison.textured_cells,
            occlusion=comparison.occlusion, detailed_cells=comparison.detailed_cells,
            original_grey=comparison.original_grey,
            coverage=comparison.coverage, query_coverage=comparison.query_coverage,
            colour_residual=comparison.colour_residual, grey_residual=comparison.grey_residual,
            regions=information.regions, flat_share=information.flat_share, symmetry=information.symmetry,
            bits=information.bits,
            score=comparison.score,
            false_match_probability=cal.false_match_probability(comparison.score, kind is not None, compared,
                                                                information.bits),
            kind=kind, matrix=tuple(tuple(float(v) for v in r) for r in comparison.matrix))
