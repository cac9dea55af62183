"""The ``match_layers`` table: what the matcher stores per work, and the only module that writes its SQL.

The registry's migrations create the table; registration, ``index rebuild`` and the matcher read and write
it through these functions.  Rows are indexes over signed facts: a registration signs the digest of its
work's layers (:mod:`artforge.matching.digest`), so a row that does not fit it is never used as evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

from artforge.registry.database import Registry

# Every column of a layers row, by name: ``SELECT *`` would differ between backends (PostgreSQL shows its
# rowid column, SQLite hides it).
_LAYER_COLUMNS = ("rowid AS rowid_, work_id, version, pdq, box, box_pdq, box_quality, box_ahash, points, "
                  "descriptors, thumbnail, tile_ahash")


def put_match_layers(registry: Registry, work_id: str, pdq: bytes, layers: dict | None) -> None:
    """Store (or replace) a work's matching layers: ``layers`` is ``MatchLayers.to_row()``, or None."""
    registry.db["match_layers"].upsert({"work_id": work_id, "pdq": pdq, **(layers or {"version": 0})},
                                   pk="work_id")


def match_layer_state(registry: Registry) -> tuple[int, int, int]:
    """``(rows, max rowid, rows with full layers)`` of the match_layers table."""
    rows, max_rowid, full = registry.db.execute(
        "SELECT COUNT(*), COALESCE(MAX(rowid), 0), COALESCE(SUM(CASE WHEN version > 0 THEN 1 ELSE 0 END), 0) "
        "FROM match_layers").fetchone()
    return rows, max_rowid, full


def newest_rowid(registry: Registry) -> int:
    """The rowid of the newest layers row (0 when none): one b-tree step, however big the table."""
    return int(registry.db.execute("SELECT COALESCE(MAX(rowid), 0) FROM match_layers").fetchone()[0])


def match_index_rows(registry: Registry, after_rowid: int = 0) -> Iterator[tuple]:
    """``(rowid, pdq, box, box_pdq, box_ahash, tile_ahash, descriptors)`` of every layers row after
    ``after_rowid``."""
    yield from registry.db.execute(
        "SELECT rowid, pdq, box, box_pdq, box_ahash, tile_ahash, descriptors FROM match_layers "
        "WHERE rowid > ? ORDER BY rowid", [after_rowid])


def rows_without_tiles(registry: Registry) -> list[dict]:
    """Full layer rows (as :func:`match_layers`) whose tone tiles were never computed."""
    cursor = registry.db.execute(f"SELECT {_LAYER_COLUMNS} FROM match_layers "
                             "WHERE version > 0 AND tile_ahash IS NULL ORDER BY rowid")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def put_tile_hashes(registry: Registry, work_id: str, tiles: bytes) -> None:
    registry.db.execute("UPDATE match_layers SET tile_ahash = ? WHERE work_id = ?", [tiles, work_id])


def match_layers(registry: Registry, rowids: list[int]) -> dict[int, dict]:
    """Full layer rows (with ``work_id``) by rowid."""
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    cursor = registry.db.execute(f"SELECT {_LAYER_COLUMNS} FROM match_layers WHERE rowid IN ({marks})", rowids)
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}


def match_layers_of(registry: Registry, work_id: str) -> dict | None:
    """A work's layer row (with ``rowid_``), or None."""
    cursor = registry.db.execute(f"SELECT {_LAYER_COLUMNS} FROM match_layers WHERE work_id = ?", [work_id])
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row)) if row else None


def works_without_layers(registry: Registry) -> list[tuple[str, str]]:
    """``(work_id, pixel_sha256)`` of works whose layers were never computed."""
    return registry.db.execute(
        "SELECT w.id, w.pixel_sha256 FROM works w LEFT JOIN match_layers m ON m.work_id = w.id "
        "WHERE m.version IS NULL OR m.version = 0 ORDER BY w.rowid").fetchall()


def layer_work_ids(registry: Registry, full_only: bool = False) -> list[str]:
    """The work ids of the layers rows, oldest first (with ``full_only``: only rows with full layers)."""
    where = " WHERE version > 0" if full_only else ""
    return [row[0] for row in registry.db.execute(f"SELECT work_id FROM match_layers{where} ORDER BY rowid")]
