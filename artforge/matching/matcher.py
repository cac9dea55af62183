"""The layered matcher: propose candidates from the index, then decide each by comparing pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fingerprint import Fingerprint, fingerprint_image
from ..imaging import LoadedImage
from ..registry import Registry
from . import calibration as cal
from .compare import Alignment, Comparison, box_alignment, compare, keypoint_alignment, _oriented_query
from .index import MatchIndex, Proposal
from .layers import MatchLayers, QueryLayers, compute_layers, decode_thumbnail, query_layers

ANALYSIS_MAX_SIDE = 1024  # layers never need more; shrinking first keeps huge images cheap
MAX_PROPOSALS = 6


@dataclass(frozen=True)
class Analysed:
    """An image fingerprinted and prepared for the matcher (registration: stored layers; query: query layers)."""

    fingerprint: Fingerprint
    layers: MatchLayers | QueryLayers


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
    """Fingerprint and query layers of a disputed image."""
    return Analysed(fingerprint_image(loaded), query_layers(_rgb_array(loaded)))


@dataclass(frozen=True)
class Evidence:
    """Why a candidate is (or is not) the original: the index layer that proposed it and the pixel check."""

    work_id: str
    proposed_by: str  # "global" or "local"
    hash_distance: int | None  # PDQ bits, when the global layer proposed it
    keypoint_votes: int | None
    alignment: str  # "global", "content-box" or "keypoints"
    dihedral: str
    mirrored: bool
    inliers: int
    correlation: float
    agreement: float
    coverage: float
    query_coverage: float
    colour_residual: float | None
    score: float
    false_match_probability: float
    kind: str | None  # "modified-copy", "derived-work", or None when it is not a match
    matrix: tuple[tuple[float, ...], ...]  # query working pixels -> thumbnail pixels

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "matrix"}
        for name in ("correlation", "agreement", "coverage", "query_coverage", "score"):
            data[name] = round(data[name], 4)
        if self.colour_residual is not None:
            data["colour_residual"] = round(self.colour_residual, 4)
        data["false_match_probability"] = float(f"{self.false_match_probability:.3g}")
        return data


def classify(comparison: Comparison) -> str | None:
    """``modified-copy``, ``derived-work`` or None (not a match), from the calibrated thresholds."""
    if comparison.correlation < cal.MIN_CORRELATION or comparison.agreement < cal.MIN_AGREEMENT \
            or comparison.score < cal.MIN_SCORE:
        return None
    recoloured = comparison.colour_residual is not None and comparison.colour_residual > cal.COPY_MAX_COLOUR_RESIDUAL
    if comparison.coverage >= cal.COPY_MIN_COVERAGE and comparison.query_coverage >= cal.COPY_MIN_QUERY_COVERAGE \
            and comparison.agreement >= cal.COPY_MIN_AGREEMENT and not recoloured:
        return "modified-copy"
    return "derived-work"


def _alignments(query: QueryLayers, proposal: Proposal, stored: MatchLayers, thumb_shape: tuple[int, int]) -> list[Alignment]:
    found = []
    if proposal.layer == "global":
        image = _oriented_query(query, proposal.dihedral, False)
        found.append(box_alignment(image, thumb_shape, stored.box if proposal.stored_box else None,
                                   proposal.query_box, proposal.dihedral))
    for mirrored in (proposal.mirrored, not proposal.mirrored):  # the votes' side first; ties of ORB are common
        fitted = keypoint_alignment(query, stored, thumb_shape, mirrored)
        if fitted is not None:
            found.append(fitted)
    return found


class LayeredMatcher:
    """Candidates from :class:`MatchIndex`, each decided by :func:`compare` against its thumbnail."""

    def __init__(self, index: MatchIndex, max_proposals: int = MAX_PROPOSALS):
        self.index = index
        self.max_proposals = max_proposals

    def evidence(self, registry: Registry, query: QueryLayers) -> list[Evidence]:
        """Evidence for each proposed work, matches first, best score first."""
        proposals = self.index.propose(query, self.max_proposals)
        rows = registry.match_layers([p.rowid for p in proposals])
        results = []
        for proposal in proposals:
            row = rows.get(proposal.rowid)
            if row is None or not row.get("version"):
                continue  # a work without layers (registered before them) cannot be compared
            stored = MatchLayers.from_row(row)
            thumb_shape = decode_thumbnail(stored.thumbnail).shape[:2]
            best: Comparison | None = None
            for alignment in _alignments(query, proposal, stored, thumb_shape):
                comparison = compare(query, stored, alignment)
                if comparison is not None and (best is None or comparison.score > best.score):
                    best = comparison
            if best is None:
                continue
            results.append(self._evidence(row["work_id"], proposal, best, len(proposals)))
        results.sort(key=lambda e: (e.kind is not None, e.score), reverse=True)
        return results

    @staticmethod
    def _evidence(work_id: str, proposal: Proposal, comparison: Comparison, compared: int) -> Evidence:
        alignment = comparison.alignment
        return Evidence(
            work_id=work_id, proposed_by=proposal.layer,
            hash_distance=proposal.distance, keypoint_votes=int(proposal.strength) if proposal.layer == "local" else None,
            alignment=alignment.source, dihedral=alignment.dihedral, mirrored=alignment.mirrored,
            inliers=alignment.inliers, correlation=comparison.correlation, agreement=comparison.agreement,
            coverage=comparison.coverage, query_coverage=comparison.query_coverage,
            colour_residual=comparison.colour_residual, score=comparison.score,
            false_match_probability=cal.false_match_probability(comparison.score, compared),
            kind=classify(comparison), matrix=tuple(tuple(float(v) for v in r) for r in comparison.matrix))
