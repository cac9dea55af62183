"""Invisible watermark: bit accuracy and exact-id recovery under common edits, and false finds on unmarked images.

The images are the robustness corpus's (``_robust_data.build_corpus``: photographs cut from the scikit-image
and scikit-learn wheels, procedural art, flags, icons, labels, gradients, digits; long side 160-640 px) and
the low-information pool (``_plain_art``: bands, badges, line art, words), at a seed of your choice.  Each
original big enough to carry a mark (``watermark.can_carry``) is marked with a random id, edited, and read:

* ``bits``: the share of the 96 codeword bits (64 id + 32 check) the soft votes get right;
* ``exact``: the id read back exactly (check matched) — the figure that counts;
* ``crop 10%`` is read twice: as it is (the mark's frame moved: expected to fail) and ``aligned``, warped
  back by the known crop, as ``verify`` does with the alignment its pixel match finds;
* ``exact id >= 256 px``: the same over the images of at least 256 px a side, beside the baseline's column;
* ``end-to-end`` (``--end-to-end N``): N images registered with ``register --watermark`` in a fresh home, each
  edit verified with ``verify_images``; the share whose report names the mark and agrees with the match.

False finds: every unmarked image (the corpus's distractors, the plain pool's distractors, and the
originals before marking) read under all eight turns and flips; goal: none.

Baseline: ``invisible-watermark``'s ``dwtDct`` with a 64-bit payload, when ``imwatermark`` can be imported
(it is not an artforge dependency: it needs the desktop ``opencv-python`` wheel; install it with
``pip install --no-deps invisible-watermark PyWavelets`` to compare).  Its exact-id figure has no check
bits, so a found id is simply the 64 bits read.

    .venv/bin/python benchmarks/watermark.py                       # 200 + 200 images, seed 0
    .venv/bin/python benchmarks/watermark.py --originals 60 --seed 1 --end-to-end 30
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, percentile, print_table, save_results  # noqa: E402
from _plain_art import build_plain_pool  # noqa: E402
from _robust_data import build_corpus  # noqa: E402

from artforge.matching import watermark  # noqa: E402

Edit = Callable[[Image.Image], tuple[Image.Image, np.ndarray | None]]  # edited image, matrix back to the original


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _crop10(image: Image.Image) -> tuple[Image.Image, np.ndarray]:
    """Keep the middle 90% of each side (10% of each dimension gone), re-encoded at JPEG 90."""
    w, h = image.size
    left, top = round(0.05 * w), round(0.05 * h)
    return _jpeg(image.crop((left, top, w - left, h - top)), 90), np.float64([[1, 0, left], [0, 1, top]])


def _screenshot(image: Image.Image) -> tuple[Image.Image, np.ndarray]:
    """Shown at 0.83x and captured with a window frame, saved as JPEG 85."""
    w, h = image.size
    scale = 0.83
    shown = image.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
    frame = Image.new("RGB", (shown.width + 24, shown.height + 60), (236, 236, 236))
    frame.paste(shown, (12, 48))
    return _jpeg(frame, 85), np.float64([[1 / scale, 0, -12 / scale], [0, 1 / scale, -48 / scale]])


EDITS: dict[str, Edit] = {
    "none": lambda im: (im, None),
    "jpeg 90": lambda im: (_jpeg(im, 90), None),
    "jpeg 70": lambda im: (_jpeg(im, 70), None),
    "jpeg 50": lambda im: (_jpeg(im, 50), None),
    "resize 0.5x": lambda im: (im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.LANCZOS), None),
    "rescale 0.83x + jpeg 85": lambda im: (_jpeg(im.resize((round(im.width * 0.83), round(im.height * 0.83)),
                                                         Image.BILINEAR), 85), None),
    "brightness +20%": lambda im: (ImageEnhance.Brightness(im).enhance(1.2), None),
    "brightness -20%": lambda im: (ImageEnhance.Brightness(im).enhance(0.8), None),
    "turned 90": lambda im: (im.transpose(Image.Transpose.ROTATE_90), None),
    "crop 10%": _crop10,
    "screenshot (frame, 0.83x, jpeg 85)": _screenshot,
}


def _bit_share(image: np.ndarray, mark_id: str, matrix: np.ndarray | None, size: tuple[int, int]) -> float:
    """The share of codeword bits whose vote (under the best orientation, or aligned) is right."""
    truth = watermark.codeword(mark_id)
    if matrix is not None:
        frames = [_aligned_frame(image, matrix, size)]
    else:
        frame = watermark._to_frame(watermark._luma(image))
        frames = [np.ascontiguousarray(orient(frame)) for orient in watermark._ORIENTATIONS.values()]
    return max(float(np.mean((watermark._votes(f, None) > 0) == truth)) for f in frames)


def _aligned_frame(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2
    warped = cv2.warpAffine(watermark._luma(image), matrix, size, flags=cv2.INTER_LINEAR)
    return watermark._to_frame(warped)


def _baseline():
    try:
        from imwatermark import WatermarkDecoder, WatermarkEncoder
    except ImportError:
        return None

    def mark(rgb: np.ndarray, mark_id: str) -> np.ndarray:
        encoder = WatermarkEncoder()
        encoder.set_watermark("bytes", bytes.fromhex(mark_id))
        return encoder.encode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDct")[..., ::-1]

    def read(rgb: np.ndarray) -> str:
        try:
            return WatermarkDecoder("bytes", 64).decode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDct").hex()
        except RuntimeError:  # "image too small": under 256x256 it reads nothing
            return ""

    return mark, read


def main() -> None:
    parser = bench_parser(__doc__, "watermark")
    parser.add_argument("--originals", type=int, default=200, help="corpus originals to mark")
    parser.add_argument("--distractors", type=int, default=200, help="unmarked corpus images read for false finds")
    parser.add_argument("--plain", type=int, default=100, help="low-information images (half marked, half not)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--end-to-end", type=int, default=60, help="images registered and verified for real (0: skip)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="artforge-watermark-") as tmp:
        folder = Path(tmp)
        corpus = build_corpus(folder / "corpus", args.originals, args.distractors, seed=args.seed)
        plain = build_plain_pool(folder / "plain", args.plain // 2, args.plain - args.plain // 2, seed=args.seed)
        originals = [*corpus.originals, *plain.originals]
        unmarked = [*corpus.distractors, *plain.distractors, *originals]
        results, summary = _scheme_rows(originals, rng)
        baseline = _baseline_rows(originals, rng)
        false_finds, read_ms = _false_finds(unmarked)
        end_to_end = _end_to_end(folder, originals, args.end_to_end, rng) if args.end_to_end else {}
    rows = [[edit, r["n"], r["bits"], r["exact"], r.get("exact_256", float("nan")),
             baseline.get(edit, {}).get("exact", float("nan")), end_to_end.get(edit, float("nan"))]
            for edit, r in results.items()]
    print_table(f"Watermark ({watermark.SCHEME}), {summary['marked']} marked of {len(originals)} images "
                f"({summary['too_small']} too small); PSNR min {summary['psnr_min']:.1f} dB, median "
                f"{summary['psnr_median']:.1f} dB", ["edit", "images", "bits right", "exact id",
                                                     "exact id >= 256 px", "imwatermark dwtDct >= 256 px",
                                                     "verify names the mark"], rows)
    print(f"\nfalse finds: {false_finds} of {len(unmarked)} unmarked images (8 orientations each); read p50 "
          f"{percentile(read_ms, 50):.1f} ms, p99 {percentile(read_ms, 99):.1f} ms; embed p50 "
          f"{summary['embed_ms_p50']:.0f} ms")
    save_results(args.out, "watermark", {
        "parameters": vars(args) | {"out": str(args.out)}, "summary": summary, "edits": results,
        "baseline_imwatermark_dwtDct": baseline or None, "end_to_end_verify": end_to_end or None,
        "false_finds": false_finds, "unmarked_images": len(unmarked),
        "read_ms": {"p50": percentile(read_ms, 50), "p99": percentile(read_ms, 99)}})


def _scheme_rows(originals: list[Path], rng: np.random.Generator) -> tuple[dict, dict]:
    results = {edit: {"n": 0, "bits": 0.0, "exact": 0.0} for edit in EDITS}
    psnrs, embed_ms, too_small = [], [], 0
    for path in originals:
        image = Image.open(path).convert("RGB")
        if not watermark.can_carry(*image.size):
            too_small += 1
            continue
        mark_id = rng.bytes(8).hex()
        started = time.perf_counter()
        marked, psnr = watermark.embed(np.asarray(image), mark_id)
        embed_ms.append(1000 * (time.perf_counter() - started))
        psnrs.append(psnr)
        for edit, apply in EDITS.items():
            edited, matrix = apply(Image.fromarray(marked))
            pixels = np.asarray(edited)
            reading = (watermark.read_mark(pixels) if matrix is None
                       else watermark.read_mark_aligned(pixels, matrix, image.size))
            row = results[edit]
            row["n"] += 1
            row["bits"] += _bit_share(pixels, mark_id, matrix, image.size)
            row["exact"] += reading.mark_id == mark_id
            if min(image.size) >= 256:  # the baseline library's floor: the same images as its column
                row["n_256"] = row.get("n_256", 0) + 1
                row["exact_256"] = row.get("exact_256", 0.0) + (reading.mark_id == mark_id)
            if matrix is not None:  # the same edit read as it is, without the alignment
                blind = results.setdefault(f"{edit} (read as is)", {"n": 0, "bits": 0.0, "exact": 0.0})
                blind["n"] += 1
                blind["bits"] += _bit_share(pixels, mark_id, None, image.size)
                blind["exact"] += watermark.read_mark(pixels).mark_id == mark_id
    for row in results.values():
        row["bits"] = row["bits"] / max(1, row["n"])
        row["exact"] = row["exact"] / max(1, row["n"])
        if "n_256" in row:
            row["exact_256"] = row["exact_256"] / row["n_256"]
    summary = {"marked": len(psnrs), "too_small": too_small, "psnr_min": min(psnrs), "psnr_median": float(np.median(psnrs)),
               "embed_ms_p50": percentile(embed_ms, 50)}
    return results, summary


def _baseline_rows(originals: list[Path], rng: np.random.Generator) -> dict:
    baseline = _baseline()
    if baseline is None:
        print("imwatermark not importable: no baseline column", file=sys.stderr)
        return {}
    mark, read = baseline
    rows = {edit: {"n": 0, "exact": 0.0} for edit in EDITS}
    for path in originals:
        image = Image.open(path).convert("RGB")
        if not watermark.can_carry(*image.size):
            continue
        if min(image.size) < 256:  # the library marks and reads nothing under 256x256: its rows leave these out
            continue
        mark_id = rng.bytes(8).hex()
        marked = Image.fromarray(mark(np.asarray(image), mark_id))
        for edit, apply in EDITS.items():
            edited, _ = apply(marked)
            rows[edit]["n"] += 1
            rows[edit]["exact"] += read(np.asarray(edited)) == mark_id
    return {edit: {"n": r["n"], "exact": r["exact"] / max(1, r["n"])} for edit, r in rows.items()}


def _false_finds(unmarked: list[Path]) -> tuple[int, list[float]]:
    found, times = 0, []
    for path in unmarked:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        started = time.perf_counter()
        found += watermark.read_mark(pixels).found
        times.append(1000 * (time.perf_counter() - started))
    return found, times


def _end_to_end(folder: Path, originals: list[Path], count: int, rng: np.random.Generator) -> dict[str, float]:
    """Register ``count`` images with --watermark in a fresh home; verify each edit; the share that names the mark."""
    from artforge.config import Settings
    from artforge.usecases.home import Home, init_home
    from artforge.usecases.verify import verify_images
    from artforge.usecases.watermarking import register_watermarked

    home = Home(settings=Settings(home=folder / "home"))
    init_home(home)
    chosen = [p for p in originals if watermark.can_carry(*Image.open(p).size)]
    chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), min(count, len(chosen)), replace=False))]
    works = register_watermarked(home, chosen, folder / "marked", licence_id="CC-BY-4.0")
    queries, expected = [], []
    for work in works:
        marked = Image.open(work.path).convert("RGB")
        for edit, apply in EDITS.items():
            path = folder / "queries" / f"{Path(work.path).stem}-{len(queries)}.png"
            path.parent.mkdir(exist_ok=True)
            apply(marked)[0].save(path)
            queries.append(path)
            expected.append((edit, work.mark["id"]))
    named = {edit: 0 for edit in EDITS}
    for report, (edit, mark_id) in zip(verify_images(home, queries), expected):
        named[edit] += bool(report.watermark and report.watermark.found and report.watermark.mark_id == mark_id)
    return {edit: named[edit] / len(works) for edit in EDITS}


if __name__ == "__main__":
    main()
