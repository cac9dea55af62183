"""Tampering with the registry: which single edits audit catches, and which change what artforge shows.

Issue 16's property, measured: an attacker who can write the home but holds no key edits ``registry.db``
with sqlite3.  For ``--per-table`` distinct edits of every table (seeded; 3 in 4 a single cell: another
row's value, a flipped character, byte or JSON field, +1/-1, NULL, empty; the rest swaps of two rows, whole
or one column), and one accepted edit of the first row in every column, each edit is

* refused: SQLite's constraints rejected it;
* caught: ``artforge audit`` exits non-zero;
* harmless: audit passes and ``verify --json`` of seven disputed copies, ``show --json`` and ``history
  --json`` of every work print exactly what they printed before;
* missed: audit passes and something printed changed (the property is broken).

The harness is ``benchmarks/_tamper.py`` (shared with ``tests/test_tamper.py``).

Audit at scale (``--audit-sizes``): registering 100,000 works through the full path (image analysis,
matching layers, index) takes hours on 2 cores, so ``--real-works`` works (default 200, small procedural
images of several formats) are registered for real, one in ten gets a grant and one in twenty a transfer,
and the rest are synthesised with the real record and registry code: the fingerprint of a real work with
new file and pixel hashes, a registration record signed by the home's key (``sign_payload``), indexed by
``Registry.insert_work`` (works, fingerprints, records, and the transparency-log leaf and nodes) with a
PDQ-only ``match_layers`` row (as works from before the layers have), in transactions of 5,000 that each
commit with a checkpoint signed by the log key.  Audit therefore checks real signatures, chains, index
rows and log over every work.  ``artforge audit`` is timed in-process (imports warm).

Run from the repository root:

    .venv/bin/python benchmarks/tamper.py                               # 40 per table; audit at 10k and 100k
    .venv/bin/python benchmarks/tamper.py --per-table 10 --audit-sizes ''

Results are printed and written as JSON (default ``benchmarks/results/tamper.json``).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, environment, save_results, write_images  # noqa: E402
from _tamper import (  # noqa: E402
    OUTCOMES,
    Outcome,
    Snapshot,
    apply_and_check,
    check_first_rows,
    cli,
    populate,
    random_edits,
    summarise,
)

from artforge.config import Settings  # noqa: E402
from artforge.matching import layer_store
from artforge.provenance.records import ProvenanceRecord, WorkInfo, sign_payload  # noqa: E402
from artforge.usecases.home import Home, init_home  # noqa: E402
from artforge.usecases.licensing import grant_licence, transfer_work  # noqa: E402
from artforge.usecases.register import RegisteredWork, register_images  # noqa: E402

console = Console()


# -- edits --------------------------------------------------------------------------------------------------
def run_edits(snapshot: Snapshot, per_table: int, seed: int) -> list[Outcome]:
    """``per_table`` distinct seeded edits of every table, each applied to a fresh copy and judged."""
    rng = random.Random(seed)
    outcomes = []
    for table in snapshot.tables:
        started = time.perf_counter()
        outcomes += [apply_and_check(snapshot, edit) for edit in random_edits(table, per_table, rng)]
        console.print(f"[dim]{table.name}: {time.perf_counter() - started:.1f} s[/dim]", highlight=False)
    return outcomes


def print_summary(title: str, outcomes: list[Outcome]) -> dict:
    """A Rich table of outcomes per table, with totals; returns the same figures."""
    summary = summarise(outcomes)
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    for name in ("tried", *OUTCOMES):
        table.add_column(name, justify="right")
    totals = {"tried": 0, **dict.fromkeys(OUTCOMES, 0)}
    for name, row in summary.items():
        table.add_row(name, *[(f"[bold red]{v}[/]" if k == "missed" and v else str(v)) for k, v in row.items()])
        totals = {k: totals[k] + row[k] for k in totals}
    table.add_row("[bold]total[/]", *[f"[bold]{v}[/]" for v in totals.values()], end_section=True)
    console.print(table)
    return {"tables": summary, "total": totals}


def print_missed(outcomes: list[Outcome], per_table: int = 3) -> None:
    """A few missed edits per table: the edit (two cells at most), and the first three things that changed."""
    shown: dict[str, int] = {}
    for outcome in outcomes:
        table = outcome.edit.table
        if outcome.verdict != "missed" or shown.get(table, 0) >= per_table:
            continue
        shown[table] = shown.get(table, 0) + 1
        edit = outcome.edit.describe().splitlines()
        print("\n".join(["MISSED: " + edit[0], *edit[1:3], *[f"    changed {d}" for d in outcome.diff[:3]]]))


def print_audit_crashes(outcomes: list[Outcome]) -> None:
    """Edits counted as caught only because audit crashed (exit 1, an internal error): caught, but by luck."""
    crashed = [o for o in outcomes if o.verdict == "caught" and o.audit_exit == 1]
    print(f"\naudit crashed (exit 1) on {len(crashed)} of the caught edits")
    for outcome in crashed:
        print(f"  {outcome.edit.describe().splitlines()[0]}: {outcome.why}")


# -- audit at scale -----------------------------------------------------------------------------------------
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def real_works(root: Path, count: int) -> tuple[Home, list[RegisteredWork]]:
    """A home with ``count`` works registered through the real path, some granted, some transferred."""
    home = Home(settings=Settings(home=root / "home"))
    init_home(home)
    home.keystore.create("studio")
    works = register_images(home, write_images(root / "images", range(count), 64, 128), licence_id="CC-BY-4.0")
    for work in works[::10]:
        grant_licence(home, work.work_id, "Acme Prints", "posters", "2099-12-31")
    for work in works[::20]:
        transfer_work(home, work.work_id, "studio")
    return home, works


def synthesise(home: Home, templates: list[RegisteredWork], start: int, stop: int, batch: int = 5000) -> float:
    """Works ``start`` to ``stop - 1``, signed and indexed by the real code (see the module docstring);
    returns works per second."""
    signer = home.signer()
    started = time.perf_counter()
    with home.registry() as registry:
        licence = registry.licence("CC-BY-4.0")
        for low in range(start, stop, batch):
            with registry.transaction():  # commits with a checkpoint signed by the log key
                for i in range(low, min(stop, low + batch)):
                    fingerprint = replace(templates[i % len(templates)].fingerprint,
                                          file_sha256=_digest(f"file {i}"), pixel_sha256=_digest(f"pixels {i}"))
                    work = WorkInfo(f"synthetic-{i}", fingerprint.file_sha256, fingerprint.pixel_sha256,
                                    fingerprint.width, fingerprint.height, fingerprint.to_dict())
                    record = ProvenanceRecord(work, licence.id, licence.terms.to_dict())
                    signed = sign_payload(record.payload(), signer)
                    registry.insert_work(signed, fingerprint, title=work.title, licence_id=licence.id,
                                         origin=record.origin, parents=[])
                    layer_store.put_match_layers(registry, signed.record_id, bytes.fromhex(fingerprint.pdq), None)
    return (stop - start) / (time.perf_counter() - started)


def audit_at_scale(root: Path, sizes: list[int], real: int) -> list[dict]:
    """Grow one home to each size in turn and time ``artforge audit`` on it."""
    home, templates = real_works(root, real)
    rows, have = [], len(templates)
    for size in sorted(sizes):
        rate = synthesise(home, templates, have, size) if size > have else None
        have = max(have, size)
        started = time.perf_counter()
        code, out, _ = cli(home.settings.home, "audit", "--json")
        seconds = time.perf_counter() - started
        data = json.loads(out)["data"]
        rows.append({"works": data["works_checked"], "records": data["records_checked"], "log_leaves": data["log_size"],
                     "audit_s": round(seconds, 2), "works_per_s": round(data["works_checked"] / seconds, 1),
                     "ok": code == 0 and data["ok"], "problems": data["problems"][:5],
                     "synthesised_per_s": round(rate, 1) if rate else None})
        console.print(f"[dim]audit at {size:,} works: {seconds:.1f} s[/dim]", highlight=False)
    return rows


def print_audit(rows: list[dict]) -> None:
    table = Table(title="artforge audit at scale", title_justify="left")
    for name in ("works", "records", "log leaves", "audit s", "works/s", "audit"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(f"{r['works']:,}", f"{r['records']:,}", f"{r['log_leaves']:,}", f"{r['audit_s']:.2f}",
                      f"{r['works_per_s']:,.0f}", "ok" if r["ok"] else "[bold red]FAILED[/]")
    console.print(table)


def main() -> None:
    parser = bench_parser(__doc__, "tamper")
    parser.add_argument("--per-table", type=int, default=40, help="Distinct random edits per table (default 40).")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--no-first-rows", action="store_true", help="Skip the edit of every column's first row.")
    parser.add_argument("--audit-sizes", default="10000,100000",
                        help="Comma-separated work counts to time audit at ('' for none).")
    parser.add_argument("--real-works", type=int, default=200, help="Works registered for real before synthesis.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.audit_sizes.split(",") if s.strip()]

    results: dict = {"benchmark": "tamper", "environment": environment(), "per_table": args.per_table,
                     "seed": args.seed}
    with tempfile.TemporaryDirectory(prefix="artforge-tamper-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        snapshot = populate(root / "home", root / "images")
        outcomes = run_edits(snapshot, args.per_table, args.seed)
        results["random"] = print_summary(f"{args.per_table} random edits per table", outcomes)
        results["random"]["outcomes"] = [o.to_dict() for o in outcomes]
        if not args.no_first_rows:
            first = [o for table in snapshot.tables for o in check_first_rows(snapshot, table)]
            results["first_rows"] = print_summary("one edit of the first row in every column", first)
            results["first_rows"]["outcomes"] = [o.to_dict() for o in first]
            outcomes += first
        results["edit_seconds"] = round(time.perf_counter() - started, 1)  # populate, edits and checks
        print_missed(outcomes)
        print_audit_crashes(outcomes)
        if sizes:
            results["audit"] = audit_at_scale(root / "scale", sizes, args.real_works)
            print_audit(results["audit"])
    save_results(args.out, "tamper", results)


if __name__ == "__main__":
    main()
