"""Recall of the layered matcher at >= 99.99% precision, per transform, against pHash alone and PDQ alone.

What it does, in a fresh artforge home in a temp folder:

1. builds a corpus from images that ship offline (``_robust_data.build_corpus``: scikit-image and
   scikit-learn photographs cut into disjoint regions, artforge's own procedural art, flat graphics in
   template families, digits) and registers the originals;
2. applies every transform of ``_robust_data.TRANSFORMS`` (JPEG, resize, crop at several positions, pad,
   small and 90-degree rotations, flips, colour, blur, noise, text and logo overlays, combinations) to every
   original: the positive queries;
3. uses the distractors (unrelated images, many sharing a template with an original) and a few transforms
   of them as negative queries;
4. verifies every query with :func:`artforge.usecases.verify.verify_images` (the index, then the pixel decision);
   a positive counts when the verdict (exact, modified or derived) names its own original; any match of a
   negative, or of a positive to the wrong work, is a false match;
5. in the same run, the baselines: pHash-256 alone and PDQ alone, nearest registered original by Hamming
   distance, at the strictest threshold that gives zero false matches on the same queries (with a few
   thousand true matches, one false match already puts precision under 99.99%).

``--calibrate`` also prints the decision scores of true and false candidates and fits the negative tail
used by :mod:`artforge.matching.calibration`.

    .venv/bin/python benchmarks/robustness.py                              # 120 originals, 400 distractors
    .venv/bin/python benchmarks/robustness.py --originals 30 --distractors 60 --calibrate   # quick look
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results, write_json  # noqa: E402
from _false_match_fit import bin_rows, fit_rates, kind_rows, non_matching_pairs, split  # noqa: E402
from _plain_art import build_plain_pool  # noqa: E402
from _robust_data import FAMILIES, TRANSFORMS, build_corpus  # noqa: E402

from artforge.config import Settings  # noqa: E402
from artforge.provenance.fingerprints import fingerprint_all  # noqa: E402
from artforge.usecases.home import Home, init_home  # noqa: E402
from artforge.usecases.register import register_images  # noqa: E402
from artforge.usecases.verify import verify_images  # noqa: E402

NEGATIVE_TRANSFORMS = ("jpeg70", "crop10-centre", "hflip", "pad10-white", "rotate4-black", "grey")
FOUND = ("exact-copy", "modified-copy", "derived-work")
NATURAL_KINDS = ("photo", "texture", "procedural")


def _write_queries(corpus, folder: Path, seed: int) -> list[dict]:
    """Apply every transform to every original (and a few to each distractor); returns the query list."""
    folder.mkdir(parents=True, exist_ok=True)
    queries = []
    negative = [t for t in TRANSFORMS if t.name in NEGATIVE_TRANSFORMS] or TRANSFORMS[:3]
    for group, images, transforms in (("positive", corpus.originals, TRANSFORMS),
                                      ("negative", corpus.distractors, negative)):
        for i, path in enumerate(images):
            with Image.open(path) as opened:
                image = opened.convert("RGB")
            if group == "negative":
                queries.append({"group": group, "transform": "none", "family": "none", "source": str(path),
                                "path": str(path), "kind": corpus.kinds.get(path, "?")})
            for j, transform in enumerate(transforms):
                rng = np.random.default_rng([seed, i, j, group == "negative"])
                out = folder / f"{group[0]}{i:04d}-{transform.name}.png"
                transform.apply(image, rng).save(out, compress_level=1)
                queries.append({"group": group, "transform": transform.name, "family": transform.family,
                                "source": str(path), "path": str(out), "kind": corpus.kinds.get(path, "?")})
    return queries


def _verify_chunk(job: tuple[str, list[str]]) -> list[dict]:
    home_dir, paths = job
    home = Home(settings=Settings(home=Path(home_dir)))
    results = []
    for report in verify_images(home, paths, workers=1):
        candidates = [{"work_id": c.work_id, "score": c.score, "kind": c.kind,
                       "evidence": c.evidence.to_dict() if c.evidence else None} for c in report.candidates]
        results.append({"verdict": report.verdict, "work_id": report.match.work_id if report.match else None,
                        "candidates": candidates, "notes": report.notes})
    return results


def _verify_all(home_dir: Path, paths: list[str], workers: int) -> list[dict]:
    chunks = [paths[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        parts = pool.map(_verify_chunk, [(str(home_dir), chunk) for chunk in chunks])
    results: list[dict] = [{}] * len(paths)
    for w, part in enumerate(parts):
        for k, result in enumerate(part):
            results[w + k * workers] = result
    return results


def _hash_bits(hex_hash: str) -> int:
    return int(hex_hash, 16)


def _baseline(name: str, queries: list[dict], query_prints, original_prints, original_ids) -> dict:
    """Nearest original by one hash; the strictest threshold with zero false matches; recall per query."""
    stored = [_hash_bits(getattr(fp, name)) for fp in original_prints]
    nearest = []
    for fp in query_prints:
        q = _hash_bits(getattr(fp, name))
        distances = [(q ^ s).bit_count() for s in stored]
        best = int(np.argmin(distances))
        nearest.append((distances[best], original_ids[best]))
    false_distances = [d for (d, work), query in zip(nearest, queries)
                       if query["group"] == "negative" or work != query["work_id"]]
    threshold = min(false_distances, default=257) - 1
    found = [query["group"] == "positive" and work == query["work_id"] and d <= threshold
             for (d, work), query in zip(nearest, queries)]
    return {"threshold": threshold, "found": found}


def _tail_fit(negative_scores: list[float], start: float) -> dict:
    exceed = [s - start for s in negative_scores if s >= start]
    if not negative_scores:
        return {}
    share = len(exceed) / len(negative_scores)
    scale = float(np.mean(exceed)) if exceed else float("nan")
    return {"start": start, "share_at_start": share, "scale": scale, "exceedances": len(exceed)}


def _fit_false_match_model(queries: list[dict], results: list[dict]) -> dict:
    """Fit the false-pass rates per description length on half of the non-matching pairs, check them on the
    other half (and, as fitted in calibration.py, on all of them: a run of another seed is a held-out check)."""
    from artforge.matching import calibration as cal

    pairs = non_matching_pairs([{**q, "result": r} for q, r in zip(queries, results)])
    fit_half, check_half = split(pairs)
    rates = fit_rates(fit_half)
    print(f"BITS_RATES = {tuple(float(f'{r:.2g}') for r in rates)}  # fitted on {len(fit_half)} pairs, "
          f"{sum(p.passed for p in fit_half)} false passes", file=sys.stderr)
    columns = ["bits", "rate", "pairs", "predicted", "observed"]
    held_out = bin_rows(rates, check_half)
    print_table("False passes per description length, held-out half (rates fitted on the other half)", columns,
                [list(row.values()) for row in held_out])
    shipped = bin_rows(cal.BITS_RATES, pairs)
    print_table("False passes per description length, all pairs, with the rates in calibration.py", columns,
                [list(row.values()) for row in shipped])
    kinds = kind_rows(cal.BITS_RATES, pairs)
    print_table("All pairs per query kind, with the rates in calibration.py", ["kind", "pairs", "predicted", "observed"],
                [list(row.values()) for row in kinds])
    return {"fitted_rates": rates, "fit_pairs": len(fit_half), "held_out": held_out, "shipped": shipped,
            "per_kind": kinds}


def main() -> None:
    parser = bench_parser(__doc__, "robustness")
    parser.add_argument("--originals", type=int, default=120)
    parser.add_argument("--distractors", type=int, default=400)
    parser.add_argument("--plain-originals", type=int, default=40,
                        help="low-information originals added (bands, badges, line art, text: _plain_art.py)")
    parser.add_argument("--plain-distractors", type=int, default=200, help="low-information distractors added")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--calibrate", action="store_true", help="print score distributions and the tail fit")
    parser.add_argument("--dump", type=Path, help="also write every query's candidates and evidence here (JSON)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="artforge-robust-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        corpus = build_corpus(root / "corpus", args.originals, args.distractors, seed=args.seed)
        plain = build_plain_pool(root / "plain", args.plain_originals, args.plain_distractors, seed=args.seed)
        corpus.originals += plain.originals
        corpus.distractors += plain.distractors
        corpus.kinds.update(plain.kinds)
        home = Home(settings=Settings(home=root / "home"))
        init_home(home)
        works = register_images(home, corpus.originals, licence_id="CC-BY-4.0")
        work_of = {str(p): w.work_id for p, w in zip(corpus.originals, works)}
        queries = _write_queries(corpus, root / "queries", args.seed)
        for query in queries:
            query["work_id"] = work_of.get(query["source"])
        prepared = time.perf_counter() - started
        print(f"{len(corpus.originals)} originals, {len(corpus.distractors)} distractors, {len(queries)} queries "
              f"prepared in {prepared:.0f} s", file=sys.stderr)

        started = time.perf_counter()
        results = _verify_all(root / "home", [q["path"] for q in queries], args.workers)
        verify_seconds = time.perf_counter() - started
        print(f"verified in {verify_seconds:.0f} s ({verify_seconds / len(queries) * 1000 * args.workers:.0f} ms "
              "per query per core)", file=sys.stderr)

        query_prints = fingerprint_all([q["path"] for q in queries], workers=args.workers)
        original_prints = fingerprint_all(corpus.originals, workers=args.workers)
        original_ids = [work_of[str(p)] for p in corpus.originals]
        baselines = {name: _baseline(name, queries, query_prints, original_prints, original_ids)
                     for name in ("phash256", "pdq")}
        # The published pHash/PDQ figures are for natural images; the same comparison on the photographs
        # and artforge's procedural art alone (their queries and distractors only, own thresholds).
        natural = [i for i, q in enumerate(queries) if q["kind"] in NATURAL_KINDS]
        natural_baselines = {name: _baseline(name, [queries[i] for i in natural], [query_prints[i] for i in natural],
                                             original_prints, original_ids) for name in ("phash256", "pdq")}

    # -- tally --------------------------------------------------------------------------------------------
    ours_found, false_matches, ambiguous = [], [], 0
    true_scores, negative_scores = [], []
    for query, result in zip(queries, results):
        matched = result["verdict"] in FOUND
        right = matched and result["work_id"] == query["work_id"]
        ours_found.append(query["group"] == "positive" and right)
        ambiguous += result["verdict"] == "ambiguous"
        if matched and not right:
            false_matches.append({"query": Path(query["path"]).name, "kind": query["kind"],
                                  "transform": query["transform"], "verdict": result["verdict"]})
        for candidate in result["candidates"]:
            if candidate["kind"] == "exact-copy":
                continue
            is_true = query["group"] == "positive" and candidate["work_id"] == query["work_id"]
            (true_scores if is_true else negative_scores).append(candidate["score"])

    def recall(mask: list[bool], selector) -> tuple[int, int]:
        picked = [found for found, query in zip(mask, queries) if query["group"] == "positive" and selector(query)]
        return sum(picked), len(picked)

    def pct(pair: tuple[int, int]) -> str:
        return f"{100 * pair[0] / pair[1]:.1f}%" if pair[1] else "-"

    rows, per_transform = [], {}
    for transform in TRANSFORMS:
        def select(q, name=transform.name):
            return q["transform"] == name
        ours, ph, pdq = recall(ours_found, select), recall(baselines["phash256"]["found"], select), \
            recall(baselines["pdq"]["found"], select)
        per_transform[transform.name] = {"family": transform.family, "artforge": ours[0] / max(1, ours[1]),
                                         "phash256": ph[0] / max(1, ph[1]), "pdq": pdq[0] / max(1, pdq[1]),
                                         "queries": ours[1]}
        rows.append([transform.name, transform.family, ours[1], pct(ours), pct(ph), pct(pdq)])
    print_table("Recall at zero false matches, per transform", ["transform", "family", "n", "artforge", "pHash-256",
                                                               "PDQ"], rows)
    family_rows, per_family = [], {}
    for family in FAMILIES + ["overall"]:
        def select(q, family=family):
            return family == "overall" or q["family"] == family
        ours, ph, pdq = recall(ours_found, select), recall(baselines["phash256"]["found"], select), \
            recall(baselines["pdq"]["found"], select)
        per_family[family] = {"artforge": ours[0] / max(1, ours[1]), "phash256": ph[0] / max(1, ph[1]),
                              "pdq": pdq[0] / max(1, pdq[1]), "queries": ours[1]}
        family_rows.append([family, ours[1], pct(ours), pct(ph), pct(pdq)])
    print_table("Recall per family", ["family", "n", "artforge", "pHash-256", "PDQ"], family_rows)
    natural_queries = [queries[i] for i in natural]
    ours_natural = [ours_found[i] for i in natural]
    natural_rows, per_family_natural = [], {}
    for family in FAMILIES + ["overall"]:
        picks = [k for k, q in enumerate(natural_queries) if q["group"] == "positive"
                 and (family == "overall" or q["family"] == family)]
        if not picks:
            continue
        values = {"artforge": float(np.mean([ours_natural[k] for k in picks])),
                  **{name: float(np.mean([natural_baselines[name]["found"][k] for k in picks]))
                     for name in ("phash256", "pdq")}}
        per_family_natural[family] = {**values, "queries": len(picks)}
        natural_rows.append([family, len(picks), *(f"{100 * values[k]:.1f}%" for k in ("artforge", "phash256", "pdq"))])
    print_table("Natural images only (photographs, procedural art): recall per family",
                ["family", "n", "artforge", "pHash-256", "PDQ"], natural_rows)
    kind_rows = []
    for kind in sorted({q["kind"] for q in queries if q["group"] == "positive"}):
        ours = recall(ours_found, lambda q, kind=kind: q["kind"] == kind)
        kind_rows.append([kind, ours[1], pct(ours)])
    print_table("Recall per source kind (artforge)", ["kind", "n", "artforge"], kind_rows)

    negatives = sum(q["group"] == "negative" for q in queries)
    positives = len(queries) - negatives
    found_total = sum(ours_found)
    precision = found_total / (found_total + len(false_matches)) if found_total else 0.0
    margin = (min(true_scores, default=math.nan), max(negative_scores, default=math.nan))
    summary = [
        ["positive queries", positives], ["negative queries (distractors and their edits)", negatives],
        ["artforge false matches", len(false_matches)], ["artforge ambiguous verdicts", ambiguous],
        ["artforge precision", f"{100 * precision:.3f}%"],
        ["pHash-256 threshold (bits of 256)", baselines["phash256"]["threshold"]],
        ["PDQ threshold (bits of 256)", baselines["pdq"]["threshold"]],
        ["highest score of a wrong candidate", f"{margin[1]:.3f}"],
        ["verify seconds per query (per core)", f"{verify_seconds / len(queries) * args.workers:.3f}"],
    ]
    print_table("Summary", ["measure", "value"], summary)
    for item in false_matches[:20]:
        print("false match:", item, file=sys.stderr)
    calibration = {}
    if args.calibrate:
        ordered = sorted(negative_scores)
        calibration = {
            "negative_candidates": len(negative_scores), "true_candidates": len(true_scores),
            "negative_quantiles": {q: float(np.quantile(ordered, q)) for q in (0.5, 0.9, 0.99, 0.999, 1.0)} if ordered else {},
            "true_quantiles": {q: float(np.quantile(true_scores, q)) for q in (0.0, 0.001, 0.01, 0.05, 0.5)} if true_scores else {},
            "tail": _tail_fit(negative_scores, float(np.quantile(ordered, 0.9))) if ordered else {},
        }
        print_table("Calibration", ["measure", "value"], [[k, v] for k, v in calibration.items()])
        calibration["false_match_model"] = _fit_false_match_model(queries, results)
    if args.dump:
        write_json(args.dump, {"queries": [{**q, "result": r} for q, r in zip(queries, results)]})
    save_results(args.out, "robustness", {
        "config": {"originals": len(corpus.originals), "distractors": len(corpus.distractors), "seed": args.seed},
        "per_transform": per_transform, "per_family": per_family, "false_matches": false_matches,
        "ambiguous": ambiguous, "precision": precision, "positives": positives, "negatives": negatives,
        "baseline_thresholds": {k: v["threshold"] for k, v in baselines.items()},
        "per_family_natural": per_family_natural,
        "natural_baseline_thresholds": {k: v["threshold"] for k, v in natural_baselines.items()},
        "verify_seconds": verify_seconds, "calibration": calibration,
    })


if __name__ == "__main__":
    main()
