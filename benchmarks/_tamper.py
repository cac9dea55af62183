"""Tamper harness shared by ``benchmarks/tamper.py`` and ``tests/test_tamper.py`` (issue 16).

Not a benchmark itself.  The property: an attacker with write access to the home but no keys edits
``registry.db`` with plain sqlite3 (one cell, or a swap between two rows).  Then either ``artforge audit``
exits non-zero, or everything artforge shows as fact is unchanged: ``verify --json`` of a set of
disputed images, and ``show --json`` and ``history --json`` of every work.

* :func:`populate` builds a realistic home through the real CLI (two keys, a custom licence, seven works (one
  watermarked, one private),
  a parent link, grants, a transfer, a grant by the new owner, a recorded mint, a checkpoint) and the
  disputed images, and captures the baseline.
* :func:`enumerate_tables`, :func:`cell_edit`, :func:`swap_edit`, :func:`random_edits` and
  :func:`first_row_edits` (in ``_tamper_edits.py``, re-exported here): every table, column and row found
  at run time, and the concrete edits made of them.
* :func:`apply_and_check` applies one edit to a fresh copy and classifies it: ``refused`` by SQLite,
  ``caught`` by audit, ``harmless`` (audit passes, nothing shown changed) or ``missed``.

Everything runs in-process through Typer's CliRunner, with ``ARTFORGE_HOME`` pointing at the copy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import typer.main
import typer.testing

# The edits live beside this module (benchmarks/ is no package: scripts put it on sys.path, and
# tests/bench_modules.py loads _tamper_edits first under this name).
from _tamper_edits import (  # noqa: F401
    CELL_KINDS,
    SWAP_KINDS,
    Edit,
    TableInfo,
    applicable_kinds,
    cell_edit,
    enumerate_tables,
    first_row_edits,
    random_edits,
    short,
    swap_edit,
)
from PIL import Image

from artforge.cli import app
from artforge.generation.procedural import draw_art

# (seed, size, licence) of the works; the sixth is registered with the first as its parent.
WORKS = [(11, (320, 240), "CC-BY-4.0"), (23, (240, 320), "CC-BY-NC-4.0"), (37, (320, 240), "CC0-1.0"),
         (41, (300, 300), "LicenseRef-Studio-Print"), (53, (320, 200), "CC-BY-SA-4.0"),
         (67, (256, 192), "CC-BY-4.0"), (79, (288, 216), "CC-BY-NC-4.0")]
PRIVATE_WORK = 6  # registered --private: a sealed_works row, wrapped keys in its record, a key-share claim
CUSTOM_LICENCE = "LicenseRef-Studio-Print"
OUTCOMES = ("refused", "caught", "harmless", "missed")
_runner = typer.testing.CliRunner()


# -- the populated home -------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """A populated home (one file: WAL checkpointed), its disputed images and what artforge showed."""

    pristine: Path  # the home as populated; never edited
    scratch: Path  # every check copies the home here, so paths in outputs are the same each time
    work_ids: list[str]
    disputed: list[Path]
    tables: list["TableInfo"]
    baseline: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # the baseline is ~300 kB: keep tracebacks and hypothesis reports readable
        return f"Snapshot({self.pristine}, {len(self.work_ids)} works, {len(self.tables)} tables)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis pretty-prints dataclasses field by field
        printer.text(repr(self))


@functools.cache
def _click_command(typer_app: typer.Typer) -> Any:
    return typer.main.get_command(typer_app)


def cli(home: Path, *args: Any) -> tuple[int, str, str]:
    """``artforge ARGS`` in-process against ``home``: (exit code, stdout, stderr)."""
    # Typer's runner builds the Click command anew on every invoke (~30 ms, a third of a `show`): build it
    # once.  The same objects serve every call, as they do for the installed script.
    with mock.patch.object(typer.testing, "_get_command", _click_command):
        result = _runner.invoke(app, [str(a) for a in args], env={"ARTFORGE_HOME": str(home)})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return result.exit_code, result.stdout, f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stdout, result.stderr


def _must(home: Path, *args: Any) -> str:
    code, out, err = cli(home, *args)
    if code != 0:
        raise RuntimeError(f"artforge {' '.join(map(str, args))} failed ({code}): {err.strip()}")
    return out


def disputed_images(originals: list[Path], folder: Path) -> list[Path]:
    """Copies a dispute brings: exact file, JPEG re-encode, 10% crop, 60% resize, 15% pad, a JPEG of the
    watermarked work, one unrelated."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(originals[0], folder / "exact.png")
    images = [Image.open(p).convert("RGB") for p in originals[1:5]]
    images[0].save(folder / "reencoded.jpg", quality=85)
    w, h = images[1].size
    images[1].crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(folder / "cropped.png")
    w, h = images[2].size
    images[2].resize((w * 6 // 10, h * 6 // 10), Image.LANCZOS).save(folder / "resized.png")
    w, h = images[3].size
    padded = Image.new("RGB", (w * 115 // 100, h * 115 // 100), (255, 255, 255))
    padded.paste(images[3], ((padded.width - w) // 2, (padded.height - h) // 2))
    padded.save(folder / "padded.png")
    Image.open(originals[5]).convert("RGB").save(folder / "marked.jpg", quality=90)
    draw_art(999, (320, 240)).save(folder / "unrelated.png")
    return sorted(folder.iterdir())


def record_mint(home: Path, work_id: str, image: Path) -> None:
    """A token as ``artforge mint --chain local`` records it once its receipt is in: the deployment row,
    the ``minted`` token row and the mint leaf signed by the log key, through the same store and log calls
    (``MintSession._store``, ``deploy_and_record``).  The chain itself is left out (no anvil needed): the
    receipt's values are fixed, and ``show`` reads the token's live state from a chain that is not running,
    the same way each time."""
    from artforge.chain import store
    from artforge.chain.artifact import load_artifact
    from artforge.chain.contract import code_sha256
    from artforge.chain.events import mint_payload
    from artforge.chain.ipfs import file_cid
    from artforge.config import Settings
    from artforge.provenance.records import sign_payload, utc_now
    from artforge.usecases.home import Home

    account, contract = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    now = utc_now()
    image_cid = file_cid(image.read_bytes())
    metadata_cid = file_cid(json.dumps({"image": f"ipfs://{image_cid}", "work": work_id}).encode())
    h = Home(settings=Settings(home=home))
    with h.registry() as registry, registry.transaction():
        store.record_deployment(registry, store.Deployment(
            31337, contract, "local", account, "0x" + hashlib.sha256(b"deploy").hexdigest(), 1,
            code_sha256(load_artifact().deployed_bytecode), now))
        row = store.TokenRow(31337, contract, work_id, work_id, 1, account, account, 750, f"ipfs://{metadata_cid}",
                             metadata_cid, image_cid, "0x" + hashlib.sha256(b"mint").hexdigest(), 2, store.MINTED,
                             None, now, now)
        store.put_token(registry, row)
        registry.log_record(sign_payload(mint_payload(work_id, row.to_dict()), h.log_signer()), work_id)


def populate(home_dir: Path, images_dir: Path) -> Snapshot:
    """Build the home through the real CLI, the disputed images, and the baseline outputs."""
    images_dir.mkdir(parents=True, exist_ok=True)
    originals = []
    for i, (seed, size, _) in enumerate(WORKS):
        originals.append(images_dir / f"work-{i}.png")
        draw_art(seed, size).save(originals[-1])
    (images_dir / "licence.txt").write_text("Prints for sale; no adaptations.\n")
    _must(home_dir, "init", "--no-encrypt")
    _must(home_dir, "keys", "create", "studio", "--no-encrypt")
    _must(home_dir, "license", "add", CUSTOM_LICENCE, "--name", "Studio print licence", "--commercial",
          "--no-derivatives", "--ai-training", "notAllowed", "--text", images_dir / "licence.txt")
    work_ids = []
    for i, (path, (_, _, licence)) in enumerate(zip(originals, WORKS)):
        parent = ["--parent", work_ids[0]] if i == 5 else []
        marked = ["--watermark", "--out", images_dir / "marked"] if i == 5 else []  # a watermarks row
        private = ["--private"] if i == PRIVATE_WORK else []
        out = _must(home_dir, "register", path, "--license", licence, *parent, *marked, *private, "--json")
        work_ids.append(json.loads(out)["data"][0]["work_id"])
        originals[i] = Path(json.loads(out)["data"][0]["path"])  # the marked copy is the work
    _must(home_dir, "license", "grant", work_ids[0], "--to", "Acme Prints", "--terms", "posters, 500 copies",
          "--until", "2099-12-31")
    _must(home_dir, "license", "grant", work_ids[2], "--to", "Open Archive", "--terms", "web use")
    _must(home_dir, "transfer", work_ids[1], "--to", "studio")
    _must(home_dir, "license", "grant", work_ids[1], "--to", "Gallery North", "--terms", "exhibition",
          "--until", "2098-06-30", "--key", "studio")
    record_mint(home_dir, work_ids[2], originals[2])
    # Roles (signed claims) and one refused attempt (an access_denials row: a log of events, signed by nobody
    # and shown by 'role list' only, which the harness's views leave out: its edits come out harmless).
    _must(home_dir, "role", "set", "default", "admin")
    _must(home_dir, "role", "set", "studio", "owner")
    if cli(home_dir, "license", "add", "LicenseRef-Refused", "--name", "Refused", "--key", "studio")[0] != 9:
        raise RuntimeError("an owner defined a licence: roles are not enforced")
    _must(home_dir, "share", work_ids[PRIVATE_WORK], "--to", "studio")  # key-share claims, signed by the owner
    _must(home_dir, "token", "create", "--out", home_dir.parent / f"{home_dir.name}-service.token")  # an api-token claim
    _must(home_dir, "log", "checkpoint")
    _checkpoint_wal(home_dir / "registry.db")
    snapshot = Snapshot(home_dir, home_dir.parent / f"{home_dir.name}-scratch", work_ids,
                        disputed_images(originals, images_dir / "disputed"), enumerate_tables(home_dir / "registry.db"))
    fresh_copy(snapshot)
    if cli(snapshot.scratch, "audit")[0] != 0:
        raise RuntimeError("the populated home does not pass audit")
    snapshot.baseline = capture(snapshot, snapshot.scratch)
    return snapshot


def _checkpoint_wal(db_path: Path) -> None:
    # Fold the WAL into the main file, so one file copy is the whole registry.
    with closing(sqlite3.connect(db_path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise RuntimeError(f"{wal} is not empty after a checkpoint: something holds the registry open")


def fresh_copy(snapshot: Snapshot) -> Path:
    """The pristine home copied to the scratch folder (the one path every check uses)."""
    shutil.rmtree(snapshot.scratch, ignore_errors=True)
    shutil.copytree(snapshot.pristine, snapshot.scratch,
                    ignore=shutil.ignore_patterns("registry.db-wal", "registry.db-shm"))
    return snapshot.scratch


# -- what artforge shows ------------------------------------------------------------------------------------
def _parsed(code: int, out: str, err: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    try:
        data: Any = [json.loads(line) for line in lines]
    except ValueError:
        data = out  # not JSON (a crash before the envelope): compared as text
    # stderr is talk (warnings), not data; kept only when there is no envelope, since it then says why.
    return {"exit_code": code, "stdout": data, **({} if data and not isinstance(data, str) else {"stderr": err})}


def views(snapshot: Snapshot) -> Iterator[tuple[str, list[Any]]]:
    """(name, arguments) of every view compared: show and history of each work (cheap) first, then verify
    of every disputed image (one NDJSON batch, half a second)."""
    for work_id in snapshot.work_ids:
        yield f"show {work_id[:12]}", ["show", work_id, "--json"]
        yield f"history {work_id[:12]}", ["history", work_id, "--json"]
    yield "verify", ["verify", *snapshot.disputed, "--json"]


def capture(snapshot: Snapshot, home: Path, stop_at_change: bool = False) -> dict:
    """The visible outputs of ``home``; with ``stop_at_change``, only up to the first that differs from
    the baseline (enough to know an edit was missed).  Nothing is normalised: every check runs on a copy at
    the same path, and none of these outputs holds a timing, a random value or today's date (``created_at``
    fields are the stored ones; a grant's activity depends on the day, and ours end in 2098 and 2099)."""
    outputs = {}
    for name, args in views(snapshot):
        outputs[name] = _parsed(*cli(home, *args))
        if stop_at_change and outputs[name] != snapshot.baseline.get(name):
            break
    return outputs


def diff_outputs(before: Any, after: Any, where: str = "", limit: int = 8) -> list[str]:
    """Paths where two captured outputs differ, with both values (short)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in list(before) + [k for k in after if k not in before]:
            found += diff_outputs(before.get(key, "<absent>"), after.get(key, "<absent>"), f"{where}.{key}", limit)
        return found[:limit]
    if isinstance(before, list) and isinstance(after, list):
        found = [d for i, (b, a) in enumerate(zip(before, after)) for d in diff_outputs(b, a, f"{where}[{i}]", limit)]
        if len(before) != len(after):
            found.append(f"{where.lstrip('.')}: {len(before)} items -> {len(after)}")
        return found[:limit]
    return [] if before == after else [f"{where.lstrip('.')}: {short(before)} -> {short(after)}"]


# -- applying and judging -----------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one edit did."""

    edit: Edit
    verdict: str  # one of OUTCOMES
    audit_exit: int | None = None
    why: str = ""  # SQLite's refusal, or audit's first complaint
    diff: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"{self.verdict.upper()}: {self.edit.describe()}"]
        lines += [f"  {self.why}"] if self.why else []
        lines += [f"  changed {d}" for d in self.diff]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"table": self.edit.table, "kind": self.edit.kind, "edit": self.edit.describe(),
                "verdict": self.verdict, "audit_exit": self.audit_exit, "why": self.why, "diff": self.diff}


def apply_edit(db_path: Path, edit: Edit) -> str | None:
    """Apply ``edit`` as an attacker's sqlite3 shell would (foreign keys off, its default); returns
    SQLite's refusal, or None.  Rows of a swap are deleted and put back under their rowids, so a swap of
    unique values is not refused half-way."""
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("BEGIN")
        if len(edit.changes) == 1:
            rowid, column, _, new = edit.changes[0]
            db.execute(f'UPDATE "{edit.table}" SET "{column}" = ? WHERE rowid = ?', [new, rowid])
        else:
            rows = {}
            for rowid in dict.fromkeys(c[0] for c in edit.changes):
                cursor = db.execute(f'SELECT * FROM "{edit.table}" WHERE rowid = ?', [rowid])
                rows[rowid] = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
            for rowid, column, _, new in edit.changes:
                rows[rowid][column] = new
            db.executemany(f'DELETE FROM "{edit.table}" WHERE rowid = ?', [[r] for r in rows])
            for rowid, row in rows.items():
                names = ", ".join(f'"{c}"' for c in row)
                db.execute(f'INSERT INTO "{edit.table}" (rowid, {names}) VALUES (?{", ?" * len(row)})',
                           [rowid, *row.values()])
        db.execute("COMMIT")
        return None
    except sqlite3.Error as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        return f"{type(exc).__name__}: {exc}"
    finally:
        db.close()


def apply_and_check(snapshot: Snapshot, edit: Edit, full_diff: bool = True) -> Outcome:
    """Copy the home, apply ``edit``, run audit; only when audit passes, capture and compare the outputs
    (all of them, or with ``full_diff`` False only up to the first that changed)."""
    home = fresh_copy(snapshot)
    refusal = apply_edit(home / "registry.db", edit)
    if refusal:
        return Outcome(edit, "refused", why=refusal)
    code, out, err = cli(home, "audit", "--json")
    if code != 0:
        try:
            problems = json.loads(out)["data"]["problems"]
            why = f"audit: {problems[0]['message']}" if problems else f"audit exit {code}"
        except (ValueError, KeyError, TypeError, IndexError):
            why = f"audit exit {code}: {(err or out).strip()[:160]}"
        return Outcome(edit, "caught", code, why)
    after = capture(snapshot, home, stop_at_change=not full_diff)
    diff = diff_outputs({name: snapshot.baseline[name] for name in after}, after)
    return Outcome(edit, "missed" if diff else "harmless", code, diff=diff)


def check_first_rows(snapshot: Snapshot, table: TableInfo, full_diff: bool = True) -> list[Outcome]:
    """One accepted single-cell edit of the first row in every column of ``table``: the kinds that apply
    are tried in order (another row's value first) until SQLite accepts one, so no column is left out
    because one kind broke a constraint.  A column where SQLite refuses every kind counts as refused."""
    outcomes = []
    for edit in first_row_edits(table):
        outcome = apply_and_check(snapshot, edit, full_diff)
        for alternative in first_row_edits(table, edit.changes[0][1], after=edit.kind):
            if outcome.verdict != "refused":
                break
            outcome = apply_and_check(snapshot, alternative, full_diff)
        outcomes.append(outcome)
    return outcomes


def summarise(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Per table: tried, and how many of each outcome."""
    table: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        row = table.setdefault(outcome.edit.table, {"tried": 0, **dict.fromkeys(OUTCOMES, 0)})
        row["tried"] += 1
        row[outcome.verdict] += 1
    return table
