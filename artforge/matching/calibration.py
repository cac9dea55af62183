"""Thresholds of the decision step, and the false-match estimate, calibrated by benchmarks/robustness.py.

The figures below come from ``benchmarks/robustness.py --calibrate`` (see docs/matching.md): the decision
scores of every distractor against its best candidates (the hard negatives: natural photographs, procedural
art and flat graphics sharing templates) and of every transformed copy against its original.  Tests in
tests/test_matching_thresholds.py pin them against a small fixed corpus.
"""

from __future__ import annotations

import math

# A candidate is a match when all three hold.
MIN_CORRELATION = 0.60
MIN_AGREEMENT = 0.60
MIN_SCORE = 0.70
# A match is a modified copy (rather than a derived work) when it also shows most of the original,
# is mostly the original, and its colours follow from the original's by one affine colour map.
COPY_MIN_COVERAGE = 0.30
COPY_MIN_QUERY_COVERAGE = 0.50
COPY_MIN_AGREEMENT = 0.70
COPY_MAX_COLOUR_RESIDUAL = 0.10
# Two different works scoring within this margin cannot be told apart.
AMBIGUITY_MARGIN = 0.03

# Tail of the negatives' score distribution: P(score >= s) ~ TAIL_AT_START * exp(-(s - TAIL_START) / TAIL_SCALE)
# for s >= TAIL_START, fitted on the top decile of negative scores.
TAIL_START = 0.45
TAIL_AT_START = 0.10
TAIL_SCALE = 0.05
MIN_PROBABILITY = 1e-12


def false_match_probability(score: float, candidates_compared: int = 1) -> float:
    """Estimated chance that an unrelated image scores at least ``score`` against one of the candidates.

    An extrapolation of the calibration's negative tail (a union bound over the candidates compared);
    read it as an order of magnitude, not a measured rate.
    """
    if score < TAIL_START:
        return 1.0
    per_candidate = TAIL_AT_START * math.exp(-(score - TAIL_START) / TAIL_SCALE)
    return float(min(1.0, max(MIN_PROBABILITY, per_candidate * max(1, candidates_compared))))
