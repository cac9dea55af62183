"""The ``watermarks`` table: which work's signed registration carries a mark id; the only module with its SQL.

The registry's migrations create the table; registration writes a row for each marked work, ``verify``
looks a decoded mark up, and ``audit`` checks every row against the signed records (a row is an index over
the record's ``work.watermark``, never evidence of its own).
"""

from __future__ import annotations

from artforge.registry.database import Registry


def put_mark(registry: Registry, work_id: str, mark: dict) -> None:
    """Index a work's signed mark (``{"scheme", "id"}``); inside the registration's transaction."""
    registry.db["watermarks"].insert({"mark_id": mark["id"], "work_id": work_id, "scheme": mark["scheme"]})


def works_with_mark(registry: Registry, mark_id: str) -> list[str]:
    """The works whose row claims this mark id (at most one unless the table was edited)."""
    return [row[0] for row in registry.db.execute("SELECT work_id FROM watermarks WHERE mark_id = ?", [mark_id])]


def marks_of(registry: Registry, work_id: str) -> list[dict]:
    """A work's mark rows, as ``{"scheme", "id"}``."""
    return [{"scheme": scheme, "id": mark_id} for mark_id, scheme in registry.db.execute(
        "SELECT mark_id, scheme FROM watermarks WHERE work_id = ? ORDER BY mark_id", [work_id])]


def marked_work_ids(registry: Registry) -> list[str]:
    """The work ids of every mark row (for audit's check for rows of works with no records)."""
    return [row[0] for row in registry.db.execute("SELECT work_id FROM watermarks ORDER BY rowid")]


def has_marks(registry: Registry) -> bool:
    """Whether any work in the registry carries a mark."""
    return registry.db.execute("SELECT 1 FROM watermarks LIMIT 1").fetchone() is not None
