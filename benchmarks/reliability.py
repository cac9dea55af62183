"""Reliability figures: concurrent registration, and operations killed with SIGKILL at random moments.

* 8 processes register 1,000 distinct works into one registry (batches of 5): works lost, duplicated,
  log leaves vs records, audit;
* 100 runs of register, grant, transfer and mint (mint on anvil, when installed) killed at a random
  moment within 1.2x the operation's own duration: does the registry open, pass SQLite's integrity check
  and artforge audit, with no gap in the log, no token "minted" without a receipt, and does a killed mint
  reconcile to exactly one token;
* 10 tiny training runs killed the same way: does every checkpoint left on disk load.

Run from the repository root:

    .venv/bin/python benchmarks/reliability.py                 # the full figures (~3 minutes on 2 cores)
    .venv/bin/python benchmarks/reliability.py --works 200 --runs 20

Results are printed and written as JSON (default ``benchmarks/results/reliability.json``); the figures in
docs/reliability.md come from here.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402
from _faults import RegistryCrashes, concurrent_registration, summarise, training_crashes  # noqa: E402

REPO_ANVIL = Path(__file__).resolve().parents[1] / "tools" / "anvil" / "node_modules" / ".bin" / "anvil"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = bench_parser(__doc__, "reliability")
    parser.add_argument("--works", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--runs", type=int, default=100, help="Killed registry operations (default 100).")
    parser.add_argument("--training-runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not os.environ.get("ARTFORGE_ANVIL") and REPO_ANVIL.exists():
        os.environ["ARTFORGE_ANVIL"] = str(REPO_ANVIL)

    with tempfile.TemporaryDirectory(prefix="artforge-reliability-") as tmp:
        root = Path(tmp)
        concurrency = concurrent_registration(root / "concurrency", args.works, args.processes, seed=args.seed)
        print_table("Concurrent registration", ["processes", "works", "registered", "lost", "duplicated",
                                                "log leaves", "records", "audit", "seconds"],
                    [[concurrency.processes, concurrency.expected, concurrency.works, concurrency.lost,
                      concurrency.duplicated, concurrency.log_leaves, concurrency.records,
                      "ok" if concurrency.audit_ok else "FAILED", round(concurrency.seconds, 1)]])
        anvil = os.environ.get("ARTFORGE_ANVIL")
        crashes = RegistryCrashes(root / "crashes", seed=args.seed, chain_port=_free_port() if anvil else None)
        try:
            outcomes = crashes.run(args.runs)
        finally:
            crashes.stop()
        outcomes += training_crashes(root / "training", args.training_runs, seed=args.seed)
    table = summarise(outcomes)
    print_table("Killed with SIGKILL at a random moment", ["operation", "runs", "killed mid-way", "failed checks"],
                [[name, row["runs"], row["killed"], row["failed"]] for name, row in table.items()])
    for name, row in table.items():
        for problem in row["problems"][:5]:
            print(f"  {name}: {problem}")
    save_results(args.out, "reliability", {"concurrency": concurrency.to_dict(), "crashes": table,
                                           "runs": [o.to_dict() for o in outcomes], "anvil": bool(anvil)})


if __name__ == "__main__":
    main()
