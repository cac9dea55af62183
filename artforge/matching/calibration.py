"""Thresholds of the decision step, and the false-match estimate, calibrated by benchmarks/robustness.py.

The figures below come from ``benchmarks/robustness.py --calibrate`` (see docs/matching.md): the decision
scores of every distractor against its best candidates (the hard negatives: natural photographs, procedural
art and flat graphics sharing templates) and of every transformed copy against its original.  Tests in
tests/test_matching_thresholds.py pin them against a small fixed corpus.
"""

from __future__ import annotations

import math

# A candidate is a match when all of these hold.
MIN_CORRELATION = 0.92
MIN_AGREEMENT = 0.75
MIN_TEXTURED_AGREEMENT = 0.80
MIN_SCORE = 0.80
MAX_OCCLUSION = 0.25  # share of the overlap that captions or watermarks may hide
MAX_COLOUR_RESIDUAL = 0.10  # beyond a global colour edit: a recolouring (see RECOLOURED_* below)
# How much evidence the pixels hold: the cells (of 64) of the original with fine detail.  Flat graphics
# (flags, icons, labels) have few, smooth art (gradients, sky) none.  Their template siblings differ in a
# glyph, a word or a colour, so weak evidence must be near perfect: higher correlation, a tighter colour
# check, and a grey query of flat colour art is not decided (only colour could tell it from a sibling).
STRUCTURED_CELLS = 32
WEAK_MIN_CORRELATION = 0.98
WEAK_MAX_COLOUR_RESIDUAL = 0.045
# Weak evidence where every cell agrees, over enough textured cells, needs less global correlation: text and
# line art lose correlation to resampling (a crop, a small turn) while each cell still matches.  A sibling
# with another word or glyph always has a disagreeing cell.
CONSISTENT_MIN_CORRELATION = 0.95
CONSISTENT_MIN_TEXTURED_CELLS = 16
# ...and must be seen nearly upright (or a quarter turn from it): flat shapes have turned look-alikes (a
# square and a diamond, the one turned 45 degrees; a keypoint fit finds that turn).
WEAK_MAX_TURN = 15.0  # degrees
SMOOTH_CELLS = 8
SMOOTH_MIN_CORRELATION = 0.99
# ...and must show a good part of the original: a small patch of one gradient looks like a patch of many
# (a 30% crop still shows ~0.44 of the original; unrelated gradients fitted by search reach ~0.19).
SMOOTH_MIN_COVERAGE = 0.35
# A grey query of flat colour art is decided only when its grey levels are the original's own (one of the
# common conversions, no tone fit): a tone fit maps any two-colour icon onto any other of its shape, however
# much detail it has.  Template siblings differ in luma by at least 25 levels somewhere.
GREY_MAX_RESIDUAL = 0.016  # 4 grey levels; unrelated art came to 0.02 at the nearest
# A grey copy of a smooth original is a grey ramp, like the grey copy of any gradient running the same
# way: unrelated gradients came to 0.012, copies of the original to 0.015 at the most (7 of 41 above 0.01).
GREY_SMOOTH_MAX_RESIDUAL = 0.010
# A recoloured match is kept (as a derived work) only with rich structure, nearly all of it agreeing.
RECOLOURED_MIN_TEXTURED_AGREEMENT = 0.92
# A match is a modified copy (rather than a derived work) when it also shows a good part of the original
# and is mostly the original (not a collage that contains it).
COPY_MIN_COVERAGE = 0.30
COPY_MIN_QUERY_COVERAGE = 0.50
# Two different works scoring within this margin cannot be told apart.
AMBIGUITY_MARGIN = 0.03

# From ``benchmarks/robustness.py --calibrate`` (2026-11-26, third run: 120 originals, 400 distractors,
# 11,440 queries).
NEGATIVE_COMPARISONS = 26_330  # unrelated (query, work) pairs the decision step compared
NEGATIVE_MATCHES = 0  # of them called a match with these thresholds
# Scores of those unrelated pairs: P(score >= s) ~ TAIL_AT_START * exp(-(s - TAIL_START) / TAIL_SCALE) above
# TAIL_START, their 90th percentile (an exponential fitted to the top decile).
TAIL_START = 0.987
TAIL_AT_START = 0.10
TAIL_SCALE = 0.011
MIN_PROBABILITY = 1e-9


def false_match_probability(score: float, matched: bool, candidates_compared: int = 1) -> float:
    """Estimated chance that this evidence would come from an unrelated work.

    For a match: the calibration's false-match rate per comparison, with the rule of three when none
    was seen ((matches + 3) / comparisons, the 95% upper bound), times the candidates compared.  For a
    candidate that is not a match: how often an unrelated pair scores at least ``score``.  Read it as an
    order of magnitude, not a measured rate for your collection.
    """
    if matched:
        per_candidate = (NEGATIVE_MATCHES + 3) / NEGATIVE_COMPARISONS
    elif score < TAIL_START:
        return 1.0
    else:
        per_candidate = TAIL_AT_START * math.exp(-(score - TAIL_START) / TAIL_SCALE)
    return float(min(1.0, max(MIN_PROBABILITY, per_candidate * max(1, candidates_compared))))
