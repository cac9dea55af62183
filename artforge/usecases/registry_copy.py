"""``artforge registry copy SRC DST``: move a registry between backends (SQLite file, PostgreSQL URL), then
prove the copy is the same registry.

Every table is copied into an empty target in one transaction, in the order its rows were stored (that order
is part of what audit checks: records and claims are logged in it).  Afterwards both registries are audited
(every signature, every row against the records, the whole log) and the target's log must have the source's
size, root and newest signed checkpoint.  All of it happens before the copy commits: a copy with a problem its
source does not have is rolled back.  (A source that fails its own audit is copied as it is, and its
problems are reported.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from artforge.errors import Conflict, RegistryError, UsageError
from artforge.registry import transparency_log as translog
from artforge.registry.database import Registry
from artforge.registry.postgres_backend import is_database_url
from artforge.usecases.audit import AuditReport, audit_open_registry

# Every table, parents before the tables whose foreign keys name them.  A table the schema has and this list
# lacks stops the copy (a new migration must say where its table goes).
TABLE_ORDER = ("identities", "licences", "works", "fingerprints", "records", "grants", "transfers", "match_layers",
               "chain_deployments", "tokens", "log_leaves", "log_nodes", "log_keys", "log_checkpoints", "claims",
               "watermarks", "access_denials", "sealed_works")
# Rows a new registry has before anything is written (migration 1's built-in licences): replaced by the source's.
SEEDED_TABLES = ("licences",)
BATCH_ROWS = 1000


@dataclass
class CopyResult:
    """What was copied and how both registries audited."""

    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    log_size: int = 0
    log_root: str = ""
    source_problems: list[str] = field(default_factory=list)
    target_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.source_problems and not self.target_problems

    def to_dict(self) -> dict:
        return {"source": self.source, "target": self.target, "rows": self.rows, "log_size": self.log_size,
                "log_root": self.log_root, "ok": self.ok, "source_problems": self.source_problems,
                "target_problems": self.target_problems}


def _location(text: str) -> Path | str:
    return text if is_database_url(text) else Path(text).expanduser()


def _holds_anything(registry: Registry) -> int:
    return sum(registry.db[table].count for table in TABLE_ORDER if table not in SEEDED_TABLES)


def _copy_table(source: Registry, target: Registry, table: str) -> int:
    """Copy one table in pages of rows in stored order (pages keep memory flat on large registries)."""
    copied, after = 0, -(2**63)  # an INTEGER PRIMARY KEY is SQLite's rowid, and log leaf 0 has rowid 0
    columns = list(source.db[table].columns_dict)
    names = ", ".join(columns)
    while True:
        page = source.db.execute(f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                 [after, BATCH_ROWS]).fetchall()
        if not page:
            return copied
        target.db[table].insert_all(dict(zip(columns, row[1:])) for row in page)
        copied += len(page)
        after = page[-1][0]


def _problems(report: AuditReport) -> list[str]:
    return [f"{p.work_id[:12]}: {p.message}" if p.work_id else p.message for p in report.problems]


def _differences(source: Registry, target: Registry, result: CopyResult) -> list[str]:
    found = [f"table {t}: {target.db[t].count} rows, not {n}" for t, n in result.rows.items()
             if target.db[t].count != n]
    if translog.size(target.db) != result.log_size or translog.root(target.db).hex() != result.log_root:
        found.append("the copy's log is not the source's (size or root differs)")
    newest = (translog.latest_checkpoint(source.db), translog.latest_checkpoint(target.db))
    if (newest[0] and newest[0].note) != (newest[1] and newest[1].note):
        found.append("the copy's newest signed checkpoint is not the source's")
    return found


def copy_registry(source_text: str, target_text: str, *, local_dir: Path | None = None) -> CopyResult:
    """Copy the registry at ``source_text`` into the empty one at ``target_text`` (created when missing), then
    audit both; :class:`Conflict` when the target already holds anything."""
    source_location, target_location = _location(source_text), _location(target_text)
    if str(source_location) == str(target_location):
        raise UsageError("the source and the target are the same registry")
    with Registry.open(source_location, local_dir=local_dir) as source, \
            Registry.open(target_location, create=True, local_dir=local_dir) as target:
        result = CopyResult(source=source.where, target=target.where)
        tables = set(source.db.table_names()) - {"_migrations"}
        if tables != set(TABLE_ORDER):
            raise RegistryError(f"{source.where}: tables {sorted(tables ^ set(TABLE_ORDER))} are not the ones "
                                "this artforge copies")
        if _holds_anything(target):
            raise Conflict(f"{target.where} already holds a registry: copy into an empty one")
        with target.transaction():  # audited before it commits: a copy that differs is never left behind
            for table in SEEDED_TABLES:
                target.db.execute(f"DELETE FROM {table}")
            for table in TABLE_ORDER:
                result.rows[table] = _copy_table(source, target, table)
            result.log_size = translog.size(source.db)
            result.log_root = translog.root(source.db, result.log_size).hex()
            result.source_problems = _problems(audit_open_registry(source))
            result.target_problems = _problems(audit_open_registry(target)) + _differences(source, target, result)
            new = [p for p in result.target_problems if p not in result.source_problems]
            if new:
                raise RegistryError(f"{target.where}: the copy does not audit as the source does ({new[0]}); "
                                    "nothing was written")
    return result
