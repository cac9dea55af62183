"""The transparency log at scale: appends, checkpoints and proofs at up to 1,000,000 leaves.

Measures, on a scratch SQLite file with the registry's log tables (migration 6) and real signed records:

* appends per second (leaf + perfect-subtree hashes, in transactions of ``--batch`` records, as a
  marketplace's bulk registration would);
* at each size: the root from stored subtrees, an inclusion proof, a consistency proof from half the size,
  and a signed checkpoint, each timed over several random leaves;
* baseline, in the same run: the root recomputed from every leaf hash (RFC 9162's definition, which a log
  that stores no interior nodes must do for every checkpoint and proof) — the ratio is baseline / stored.

Run from the repository root:

    .venv/bin/python benchmarks/log_speed.py                    # 10k, 100k and 1M leaves (~4 minutes)
    .venv/bin/python benchmarks/log_speed.py --sizes 1000 10000

Results are printed and written as JSON (default ``benchmarks/results/log_speed.json``).
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402

from artforge.provenance.keys import Signer  # noqa: E402
from artforge.provenance.merkle import consistency_proof, inclusion_proof, root_of, verify_consistency, verify_inclusion  # noqa: E402
from artforge.provenance.records import sign_payload  # noqa: E402
from artforge.registry import transparency_log as translog  # noqa: E402
from artforge.registry.migrations import MIGRATIONS  # noqa: E402


def _empty_log(path: Path) -> sqlite_utils.Database:
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    db.conn.execute("PRAGMA journal_mode = WAL")
    db.conn.execute("PRAGMA synchronous = NORMAL")
    db["records"].create({"id": str, "work_id": str, "payload": str, "signature": str}, pk="id")
    dict(MIGRATIONS)["transparency_log"](db)
    return db


def _median_ms(samples: list[float]) -> float:
    return round(1000 * statistics.median(samples), 3)


def measure(db: sqlite_utils.Database, signer: Signer, size: int, rng: random.Random, probes: int) -> dict:
    nodes = translog.Nodes(db)
    start = time.perf_counter()
    root = translog.root(db, size)
    root_s = time.perf_counter() - start
    inclusion, consistency, checkpoint = [], [], []
    for _ in range(probes):
        index = rng.randrange(size)
        leaf = bytes(db.execute("SELECT leaf_hash FROM log_leaves WHERE idx = ?", [index]).fetchone()[0])
        start = time.perf_counter()
        path = inclusion_proof(translog.Nodes(db).perfect, index, size)
        inclusion.append(time.perf_counter() - start)
        verify_inclusion(index, size, leaf, path, root)
        old = rng.randint(1, size)
        start = time.perf_counter()
        proof = consistency_proof(translog.Nodes(db).perfect, old, size)
        consistency.append(time.perf_counter() - start)
        verify_consistency(old, size, translog.root(db, old), root, proof)
        start = time.perf_counter()
        db.conn.execute("BEGIN")
        translog.write_checkpoint(db, signer)
        db.conn.execute("ROLLBACK")
        checkpoint.append(time.perf_counter() - start)
    start = time.perf_counter()
    hashes = [bytes(h) for (h,) in db.execute("SELECT leaf_hash FROM log_leaves ORDER BY idx")]
    baseline_root = root_of(hashes)
    baseline_s = time.perf_counter() - start
    assert baseline_root == root and nodes is not None
    return {"size": size, "root_ms": round(1000 * root_s, 3), "inclusion_ms": _median_ms(inclusion),
            "inclusion_path": len(path), "consistency_ms": _median_ms(consistency),
            "checkpoint_ms": _median_ms(checkpoint), "baseline_root_ms": round(1000 * baseline_s, 1),
            "ratio": round(baseline_s / max(root_s, 1e-9), 1)}


def main() -> None:
    parser = bench_parser(__doc__, "log_speed")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=1000, help="Records per transaction (default 1000).")
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(9162)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = Signer.from_private_key(Ed25519PrivateKey.generate(), "bench")
    rows, append_rates = [], []
    with tempfile.TemporaryDirectory(prefix="artforge-log-") as tmp:
        db = _empty_log(Path(tmp) / "log.db")
        done = 0
        for size in sorted(args.sizes):
            start = time.perf_counter()
            while done < size:
                db.conn.execute("BEGIN IMMEDIATE")
                for i in range(done, min(size, done + args.batch)):
                    record = sign_payload({"schema": "artforge.record/1", "type": "registration", "n": i}, signer)
                    translog.append(db, record, record.record_id)
                translog.write_checkpoint(db, signer)
                db.conn.execute("COMMIT")
                done = min(size, done + args.batch)
            append_rates.append({"up_to": size, "appends_per_s": round((size - (append_rates[-1]["up_to"] if append_rates else 0)) / (time.perf_counter() - start), 1)})
            rows.append({**measure(db, signer, size, rng, args.probes), **append_rates[-1]})
            print(f"{size} leaves done", file=sys.stderr)
    print_table("Transparency log (stored subtrees vs recomputing from every leaf)",
                ["leaves", "appends/s", "root ms", "inclusion ms", "path", "consistency ms", "checkpoint ms",
                 "baseline root ms", "ratio"],
                [[r["size"], r["appends_per_s"], r["root_ms"], r["inclusion_ms"], r["inclusion_path"],
                  r["consistency_ms"], r["checkpoint_ms"], r["baseline_root_ms"], r["ratio"]] for r in rows])
    save_results(args.out, "log_speed", {"rows": rows})


if __name__ == "__main__":
    main()
