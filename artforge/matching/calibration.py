"""Thresholds of the decision step, and the false-match estimate, calibrated by benchmarks/robustness.py.

The figures below come from ``benchmarks/robustness.py --calibrate`` (see docs/matching.md): the decision
scores of every distractor against its best candidates (the hard negatives: natural photographs, procedural
art and flat graphics sharing templates) and of every transformed copy against its original.  Tests in
tests/test_matching_thresholds.py pin them against a small fixed corpus.
"""

from __future__ import annotations

import bisect
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
# ...and only where the compared part has this much to describe (``bits``, matching/information.py): a
# label's or a word's glyph edges fill many detailed cells, yet a sibling label with another product name
# correlated 0.93-0.95 with an original (a corpus of another seed, 2026-12-07: 11 false matches).  On the
# calibration corpus this moved 14 of ~9,000 true matches (10 labels) to the weak rules' stricter tests.
STRUCTURED_BITS = 2048
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
# Early exit.  A match on structured evidence (fine detail in half the cells or more, 2,048 bits or more) with
# near-perfect correlation and agreement and nothing hidden leaves nothing for a weakly proposed work to
# overturn: only a near-duplicate could come within AMBIGUITY_MARGIN, and a near-duplicate is proposed like
# a copy.  Once the first works compared give such a match, the others are compared only when proposed like a
# copy (RELATED_*).  On both robustness seeds, 3,611 queries had such a match and no other work passed beside
# it (2026-12-07).
DECISIVE_CELLS = STRUCTURED_CELLS
DECISIVE_BITS = STRUCTURED_BITS
DECISIVE_CORRELATION = 0.98
DECISIVE_AGREEMENT = 0.95
DECISIVE_MAX_OCCLUSION = 0.05
# Proposed like a copy: a hash within this many bits of 256, or this many keypoint votes.  On the same runs
# 94% of the true candidates were proposed so (18,106 of 19,288), and 131 of the 2,334 wrong candidates beside
# a decisive match (those are still compared; none of the 2,334 passed).
RELATED_MAX_DISTANCE = 48
RELATED_MIN_VOTES = 15

# -- the false-match estimate ------------------------------------------------------------------------------
# How often an unrelated work passes the decision above depends on how much the compared part of the
# original holds.  Its description length (``bits``, artforge/matching/information.py: two plain bands take
# ~100, a word on a plain ground ~1,800, a photograph thousands) bins the non-matching pairs that
# ``benchmarks/robustness.py --calibrate`` compared; each bin's rate of false passes per pair (Jeffreys
# prior, non-increasing in bits) was fitted on half of them and checked on the other half and on a corpus
# of another seed (docs/matching.md, "Calibration").
BITS_EDGES = (256, 512, 2048, 4096)  # bins: under 256, 256-511, 512-2047, 2048-4095, 4096 and more
BITS_RATES = (8.2e-4, 8.2e-4, 8.2e-4, 6.8e-5, 6.8e-5)
# Fitted on 2026-12-07 on 37,213 non-matching pairs (24 false passes: plain words, badges and bands that
# unrelated images drew alike), 120 + 60 low-information originals, 500 distractors, seed 0.
# Evidence this plain cannot name one work: plain bands or stripes are made again and again, independently
# (two-band art came to ~100 bits, three or four bands to 200-300; icons and line art start near 300).  A
# match resting on less, without fine detail, is reported as ambiguous, with the reason.
MIN_MATCH_BITS = 256
# A match whose estimate (times the candidates compared) is above this is not a confident verdict either.
MAX_CONFIDENT_FALSE_MATCH = 0.01

# For a candidate that is *not* a match: how often an unrelated pair scores at least as high.  From the
# scores of the unrelated pairs of ``benchmarks/robustness.py --calibrate`` (2026-11-26, 26,330 pairs):
# P(score >= s) ~ TAIL_AT_START * exp(-(s - TAIL_START) / TAIL_SCALE) above TAIL_START, their 90th
# percentile (an exponential fitted to the top decile).
TAIL_START = 0.987
TAIL_AT_START = 0.10
TAIL_SCALE = 0.011
MIN_PROBABILITY = 1e-9


def pass_rate(bits: int) -> float:
    """The fitted rate at which unrelated pairs whose evidence has ``bits`` of description pass the decision."""
    return BITS_RATES[bisect.bisect_right(BITS_EDGES, bits)]


def too_little_information(bits: int, detailed_cells: int) -> bool:
    """Whether a match on this evidence cannot name one work (see ``MIN_MATCH_BITS``)."""
    return bits < MIN_MATCH_BITS and detailed_cells < STRUCTURED_CELLS


def false_match_probability(score: float, matched: bool, candidates_compared: int = 1,
                            bits: int | None = None) -> float:
    """Estimated chance that this evidence would come from an unrelated work.

    For a match: the fitted false-pass rate of evidence with ``bits`` of description, times the candidates
    compared (any of them could have been the unrelated one that passed).  For a candidate that is not a
    match: how often an unrelated pair scores at least ``score``.  Read it as an order of magnitude, not a
    measured rate for your collection: it comes from the benchmark's mix of works.
    """
    if matched:
        per_candidate = pass_rate(bits if bits is not None else 0)
    elif score < TAIL_START:
        return 1.0
    else:
        per_candidate = TAIL_AT_START * math.exp(-(score - TAIL_START) / TAIL_SCALE)
    return float(min(1.0, max(MIN_PROBABILITY, per_candidate * max(1, candidates_compared))))
