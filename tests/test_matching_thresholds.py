"""The matcher's calibrated thresholds, pinned on a small fixed corpus.

A fixed slice of the robustness benchmark (benchmarks/robustness.py): photographs, procedural art and flat
graphics in template families, a transform from every family, and distractors (most of them template
siblings of an original) with edits of their own.  If a change to a threshold, a layer or the index
loses recall or lets a distractor match, these fail.  The floors sit a little under what the code
achieves today, so they catch regressions, not noise.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from bench_modules import robust_data
from PIL import Image

from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images

FOUND = ("exact-copy", "modified-copy", "derived-work")
POSITIVE = ("jpeg50", "resize0.5", "crop10-tl", "crop20-rand", "pad20-white", "pad20-letterbox", "rotate4-black",
            "rotate8-white", "rotate90", "hflip", "sat-50", "grey", "blur2", "noise10", "overlay-text", "screenshot")
NEGATIVE = ("jpeg70", "crop10-centre", "hflip", "grey")
# Recall floors per transform family.  11 originals, so one miss costs 9 points (4.5 in families of two
# transforms).  Measured on 2026-11-26 (second session): 100% for jpeg, resize, crop, flip, colour (with
# grey copies of flat colour art) and blur; 90.9% rotate (with 8-degree turns, straightened) and noise;
# 86.4% pad; 81.8% combo; 54.5% overlay (flat graphics under a caption are refused: see
# docs/matching.md); 92.0% overall.
FAMILY_FLOORS = {"jpeg": 0.95, "resize": 0.95, "crop": 0.95, "pad": 0.8, "rotate": 0.9, "flip": 0.95,
                 "colour": 0.95, "blur": 0.9, "noise": 0.8, "overlay": 0.5, "combo": 0.8}
OVERALL_FLOOR = 0.9


@pytest.mark.slow
def test_recall_and_zero_false_matches_on_a_fixed_corpus(home: Home, tmp_path: Path) -> None:
    rd = robust_data()
    corpus = rd.build_corpus(tmp_path / "corpus", 11, 22, seed=3)
    works = register_images(home, corpus.originals, licence_id="CC-BY-4.0")
    work_of = {p: w.work_id for p, w in zip(corpus.originals, works)}
    queries: list[tuple[Path, str | None, str]] = []  # path, expected work (None: must not match), family
    for group, images, names in (("p", corpus.originals, POSITIVE), ("n", corpus.distractors, NEGATIVE)):
        for i, source in enumerate(images):
            image = Image.open(source).convert("RGB")
            for j, name in enumerate(names):
                transform = rd.TRANSFORMS_BY_NAME[name]
                out = tmp_path / f"{group}{i:02d}-{name}.png"
                transform.apply(image, np.random.default_rng([i, j])).save(out, compress_level=1)
                queries.append((out, work_of.get(source), transform.family))
    reports = verify_images(home, [q[0] for q in queries])

    found: dict[str, list[bool]] = defaultdict(list)
    false_matches, plain = [], []
    for (path, expected, family), report in zip(queries, reports):
        matched = report.verdict in FOUND
        if matched and report.match.work_id != expected:
            false_matches.append(path.name)
        # A plain original (two flat stripes: too little information to name one work) is found as the
        # best candidate and reported ambiguous, with the reason: the honest outcome, counted as found.
        low_information = report.verdict == "ambiguous" and any("too little information" in n for n in report.notes)
        if low_information:
            plain.append(path.name)
        if expected is not None:
            found[family].append((matched and report.match.work_id == expected)
                                 or (low_information and report.candidates[0].work_id == expected))
    assert false_matches == []
    # Only the two-stripe flag (p02) is that plain; no query of a richer original is refused so.
    assert plain and {name[:3] for name in plain} == {"p02"}, plain
    for family, floor in FAMILY_FLOORS.items():
        assert np.mean(found[family]) >= floor, (family, np.mean(found[family]))
    overall = np.mean([hit for hits in found.values() for hit in hits])
    assert overall >= OVERALL_FLOOR, overall
