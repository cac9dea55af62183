"""The registry on SQLite and on PostgreSQL, side by side on the same works, in the same run.

For each backend, in a fresh home (PostgreSQL: a throwaway cluster on a Unix socket, tests/pg_server.py,
started by this script with fsync on, as a production server runs):

1. one writer: ``--works`` procedural images (160x120 PNG) registered one per transaction, as separate
   commands would (each a log append and a signed checkpoint); works/s;
2. ``--writers`` processes registering ``--works`` more at once, one per transaction; works/s overall, then
   the log checked gap-free (every leaf index once) and ``audit`` run (its time reported);
3. verify: ``--probes`` JPEG copies (quality 80, 6 px cropped) of registered works, one at a time in
   process with the index held (as a service worker does); p50 / p95 ms and how many were found;
4. ``registry copy`` of the SQLite registry into an empty PostgreSQL database and back (the audit of both
   sides included); seconds.

Run from the repository root:

    .venv/bin/python benchmarks/registry_backends.py                       # 500 works, 4 writers
    .venv/bin/python benchmarks/registry_backends.py --works 100 --probes 10   # smoke

Needs PostgreSQL's server programs (``make postgresql``).  Results are printed and written as JSON
(default ``benchmarks/results/registry_backends.json``).  Timings need a quiet machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import bench_parser, percentile, print_table, save_results  # noqa: E402
from pg_server import start_server  # noqa: E402

WRITER = """
import sys
from pathlib import Path
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
home = Home()
for path in sys.argv[1:]:
    register_images(home, [Path(path)], licence_id="CC0-1.0")
"""


def _draw(folder: Path, seeds: range) -> list[Path]:
    from artforge.generation.procedural import draw_art

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        paths.append(folder / f"w{seed}.png")
        draw_art(seed, (160, 120)).save(paths[-1])
    return paths


def _probe(path: Path, folder: Path) -> Path:
    from PIL import Image

    image = Image.open(path).convert("RGB")
    out = folder / f"{path.stem}.jpg"
    image.crop((6, 6, image.width - 6, image.height - 6)).save(out, "JPEG", quality=80)
    return out


def _measure(backend: str, url: str | None, work: Path, images: list[Path], more: list[Path], probes: list[Path],
             writers: int) -> dict:
    os.environ["ARTFORGE_HOME"] = str(work / f"home-{backend}")
    os.environ.pop("ARTFORGE_DATABASE_URL", None)
    if url:
        os.environ["ARTFORGE_DATABASE_URL"] = url
    from artforge.config import Settings
    from artforge.matching.index_file import open_index
    from artforge.registry import transparency_log as translog
    from artforge.usecases.audit import audit_registry
    from artforge.usecases.home import Home, init_home
    from artforge.usecases.register import register_images
    from artforge.usecases.verify import VerifyFailure, iter_verify

    home = Home(settings=Settings.from_env())
    init_home(home)
    started = time.perf_counter()
    ids = [register_images(home, [path], licence_id="CC0-1.0")[0].work_id for path in images]
    one_writer = len(images) / (time.perf_counter() - started)

    chunks = [more[i::writers] for i in range(writers)]
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, *map(str, chunk)], env=dict(os.environ)) for chunk in chunks]
    if any(p.wait() != 0 for p in procs):
        raise RuntimeError(f"a writer failed on {backend}")
    many_writers = len(more) / (time.perf_counter() - started)
    with home.registry() as registry:
        leaves = [row[0] for row in registry.db.execute("SELECT idx FROM log_leaves ORDER BY idx")]
        gap_free = leaves == list(range(translog.size(registry.db)))
        index = open_index(registry)
    started = time.perf_counter()
    report = audit_registry(home)
    audit_s = time.perf_counter() - started

    latencies, found = [], 0
    for probe, original in zip(probes, ids):
        started = time.perf_counter()
        [result] = list(iter_verify(home, [probe], workers=1, index=index))
        latencies.append(time.perf_counter() - started)
        if isinstance(result, VerifyFailure):
            raise result.error
        found += bool(result.match) and result.match.work_id == original
    return {"backend": backend, "one_writer_works_per_s": one_writer, "writers": writers,
            "writers_works_per_s": many_writers, "log_gap_free": gap_free, "audit_ok": report.ok,
            "audit_s": audit_s, "works": len(images) + len(more),
            "verify_p50_ms": 1000 * percentile(latencies, 50), "verify_p95_ms": 1000 * percentile(latencies, 95),
            "found": f"{found}/{len(probes)}"}


def main() -> None:
    parser = bench_parser(__doc__, "registry_backends")
    parser.add_argument("--works", type=int, default=500, help="works registered by one writer (and as many by --writers)")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--probes", type=int, default=50)
    args = parser.parse_args()
    server = start_server(durable=True)  # fsync on, as a production server runs
    try:
        with tempfile.TemporaryDirectory(prefix="artforge-backends-") as folder:
            work = Path(folder)
            images = _draw(work / "images", range(args.works))
            more = _draw(work / "more", range(100_000, 100_000 + args.works))
            (work / "probes").mkdir()
            probes = [_probe(p, work / "probes") for p in images[:args.probes]]
            rows = [_measure("sqlite", None, work, images, more, probes, args.writers),
                    _measure("postgresql", server.new_database(), work, images, more, probes, args.writers)]
            from artforge.usecases.registry_copy import copy_registry

            target = server.new_database()
            started = time.perf_counter()
            there = copy_registry(str(work / "home-sqlite" / "registry.db"), target)
            to_pg = time.perf_counter() - started
            started = time.perf_counter()
            back = copy_registry(target, str(work / "back.db"))
            from_pg = time.perf_counter() - started
    finally:
        server.stop()
    sqlite, pg = rows
    print_table(f"the registry on SQLite and PostgreSQL ({args.works} + {args.works} works, same run)",
                ["measure", "SQLite", "PostgreSQL", "PostgreSQL / SQLite"],
                [["one writer, works/s", sqlite["one_writer_works_per_s"], pg["one_writer_works_per_s"],
                  pg["one_writer_works_per_s"] / sqlite["one_writer_works_per_s"]],
                 [f"{args.writers} writers, works/s", sqlite["writers_works_per_s"], pg["writers_works_per_s"],
                  pg["writers_works_per_s"] / sqlite["writers_works_per_s"]],
                 ["audit, s", sqlite["audit_s"], pg["audit_s"], pg["audit_s"] / sqlite["audit_s"]],
                 ["verify p50, ms", sqlite["verify_p50_ms"], pg["verify_p50_ms"], pg["verify_p50_ms"] / sqlite["verify_p50_ms"]],
                 ["verify p95, ms", sqlite["verify_p95_ms"], pg["verify_p95_ms"], pg["verify_p95_ms"] / sqlite["verify_p95_ms"]],
                 ["found", sqlite["found"], pg["found"], ""],
                 ["log gap-free, audit ok", f"{sqlite['log_gap_free']}, {sqlite['audit_ok']}",
                  f"{pg['log_gap_free']}, {pg['audit_ok']}", ""]])
    print(f"\nregistry copy of {sqlite['works']} works: SQLite -> PostgreSQL {to_pg:.1f} s (ok {there.ok}), "
          f"PostgreSQL -> SQLite {from_pg:.1f} s (ok {back.ok})")
    save_results(args.out, "registry_backends", {"works": args.works, "writers": args.writers, "probes": args.probes,
                                                  "rows": rows, "copy_to_postgresql_s": to_pg,
                                                  "copy_from_postgresql_s": from_pg, "copy_ok": there.ok and back.ok})


if __name__ == "__main__":
    main()
