"""Fit and check the false-match rates of ``artforge.matching.calibration`` from robustness results.

Every candidate the decision compared with a query it is not the original of is a non-matching pair:
the distractors' candidates, and the wrong candidates of edited originals.  Its label is whether the
decision called it a match (a false pass).  The pairs are split by the query's source image, so no image
is on both sides.  On the fit half, the pairs are binned by the description length of the original's
compared part (``bits``, see ``artforge/matching/information.py``) and each bin's rate of false passes is
estimated with a Jeffreys prior ((passes + 0.5) / (pairs + 1)), then made non-increasing in ``bits``
(adjacent bins pooled where a richer bin came out higher: fewer pairs, not more risk).  On the held-out
half each bin's predicted false passes (rate x pairs) are set against the observed ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from artforge.matching import calibration as cal


@dataclass(frozen=True)
class Pair:
    """One non-matching (query, candidate) pair the decision compared."""

    source: str  # the image the query was made from (the split key)
    kind: str  # the query's source kind (photo, flag, bands, ...)
    bits: int  # description length of the original's compared part
    passed: bool  # the decision called it a match


def non_matching_pairs(queries: list[dict]) -> list[Pair]:
    """The non-matching pairs in robustness dump rows (query fields plus ``result`` with its candidates)."""
    pairs = []
    for query in queries:
        for candidate in query["result"]["candidates"]:
            evidence = candidate.get("evidence")
            if evidence is None or candidate["work_id"] == query.get("work_id"):
                continue
            pairs.append(Pair(query["source"], query["kind"], evidence["bits"], candidate["kind"] is not None))
    return pairs


def split(pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(fit, held out): by a hash of the source image, so each image's pairs stay on one side."""
    def side(pair: Pair) -> int:
        return hashlib.sha256(pair.source.encode()).digest()[0] % 2
    return [p for p in pairs if side(p) == 0], [p for p in pairs if side(p) == 1]


def _bin(bits: int) -> int:
    return int(np.searchsorted(cal.BITS_EDGES, bits, side="right"))


def fit_rates(pairs: list[Pair]) -> tuple[float, ...]:
    """Per bin of ``calibration.BITS_EDGES``: the false-pass rate, Jeffreys-smoothed and non-increasing."""
    counts = [[0, 0] for _ in range(len(cal.BITS_EDGES) + 1)]  # [pairs, passes]
    for pair in pairs:
        counts[_bin(pair.bits)][0] += 1
        counts[_bin(pair.bits)][1] += pair.passed
    # Pool adjacent violators: a richer bin may not be riskier than a plainer one.
    blocks = [[n, k, 1] for n, k in counts]  # pairs, passes, bins in the block
    merged = True
    while merged:
        merged = False
        for i in range(len(blocks) - 1):
            a, b = blocks[i], blocks[i + 1]
            if (b[1] + 0.5) / (b[0] + 1) > (a[1] + 0.5) / (a[0] + 1):
                blocks[i:i + 2] = [[a[0] + b[0], a[1] + b[1], a[2] + b[2]]]
                merged = True
                break
    rates: list[float] = []
    for n, k, width in blocks:
        rates += [(k + 0.5) / (n + 1)] * width
    return tuple(rates)


def bin_rows(rates: tuple[float, ...], pairs: list[Pair]) -> list[dict]:
    """Per bin: pairs, predicted false passes (rate x pairs) and observed false passes."""
    edges = (0, *cal.BITS_EDGES)
    rows = []
    for index, rate in enumerate(rates):
        members = [p for p in pairs if _bin(p.bits) == index]
        upper = f"{cal.BITS_EDGES[index]}" if index < len(cal.BITS_EDGES) else "+"
        rows.append({"bits": f"{edges[index]}-{upper}", "rate": float(f"{rate:.3g}"), "pairs": len(members),
                     "predicted": round(rate * len(members), 2), "observed": sum(p.passed for p in members)})
    return rows


def kind_rows(rates: tuple[float, ...], pairs: list[Pair]) -> list[dict]:
    """The same check per source kind of the query."""
    rows = []
    for kind in sorted({p.kind for p in pairs}):
        members = [p for p in pairs if p.kind == kind]
        rows.append({"kind": kind, "pairs": len(members),
                     "predicted": round(sum(rates[_bin(p.bits)] for p in members), 2),
                     "observed": sum(p.passed for p in members)})
    return rows
