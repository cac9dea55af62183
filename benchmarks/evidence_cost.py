"""What the evidence that travels costs: Content Credentials, the report page, the watermark in verify.

Six photographs bundled with scikit-image (512 px and under) are registered in two fresh homes: plainly in
one, as watermarked copies in the other.  Each figure is the median of ``--repeats`` runs, in-process,
against its baseline in the same run:

* ``export --c2pa`` of a registered PNG (manifest built, signed through the identity's Signer, embedded);
* ``verify`` of that credentialed file vs the same pixels without credentials (reading the manifest);
* ``verify`` of a cropped JPEG with and without ``--report`` (the HTML page: pictures, proofs, template);
* ``verify`` of the same cropped JPEG of a marked copy in the home with marks (full-size read, then the
  aligned search when the mark is not found as is) vs in the home without marks.

    .venv/bin/python benchmarks/evidence_cost.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins")


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm: imports, the index, caches
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return 1000 * statistics.median(samples)


def main() -> None:
    parser = bench_parser(__doc__, "evidence_cost")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    from artforge.config import Settings
    from artforge.usecases.credentials import export_credentials
    from artforge.usecases.home import Home, init_home
    from artforge.usecases.register import register_images
    from artforge.usecases.verify import verify_images
    from artforge.usecases.watermarking import register_watermarked

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for name in PHOTOS:
            path = folder / f"{name}.png"
            Image.fromarray(getattr(data, name)()).convert("RGB").save(path)
            paths.append(path)
        plain = Home(settings=Settings(home=folder / "plain"))
        init_home(plain)
        works = register_images(plain, paths, licence_id="CC-BY-4.0")
        marked_home = Home(settings=Settings(home=folder / "marked-home"))
        init_home(marked_home)
        marked = register_watermarked(marked_home, paths, folder / "marked", licence_id="CC-BY-4.0")
        credentialed = folder / "credentialed.png"
        crop = (20, 20, 380, 280)
        Image.open(paths[1]).crop(crop).save(folder / "query.jpg", quality=85)
        Image.open(marked[1].path).crop(crop).save(folder / "marked-query.jpg", quality=85)
        r = args.repeats
        rows = [
            ["export --c2pa (512x512 PNG)", float("nan"),
             _median_ms(lambda: export_credentials(plain, works[0].work_id, paths[0], credentialed), r)],
            ["verify: same pixels / with credentials",
             _median_ms(lambda: verify_images(plain, [paths[0]], workers=1), r),
             _median_ms(lambda: verify_images(plain, [credentialed], workers=1), r)],
            ["verify a cropped JPEG: plain / with --report",
             _median_ms(lambda: verify_images(plain, [folder / "query.jpg"], workers=1), r),
             _median_ms(lambda: verify_images(plain, [folder / "query.jpg"], workers=1, page=folder / "r.html"), r)],
            ["a marked copy's cropped JPEG: registry without / with marks",
             _median_ms(lambda: verify_images(plain, [folder / "marked-query.jpg"], workers=1), r),
             _median_ms(lambda: verify_images(marked_home, [folder / "marked-query.jpg"], workers=1), r)],
        ]
        page_bytes = (folder / "r.html").stat().st_size
    for row in rows:
        row.append(row[2] / row[1] if row[1] == row[1] else float("nan"))
    print_table(f"The cost of evidence that travels (median of {args.repeats}); report page {page_bytes:,} bytes",
                ["what", "baseline ms", "with it ms", "ratio"], rows)
    save_results(args.out, "evidence_cost", {"repeats": args.repeats, "page_bytes": page_bytes,
                                             "rows": [dict(zip(("what", "baseline_ms", "with_ms", "ratio"), row))
                                                      for row in rows]})


if __name__ == "__main__":
    main()
