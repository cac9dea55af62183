"""The ``sealed_works`` table: each private work's sealed title and licence.  Only this module writes its SQL.

``details`` is ``SEAL_MAGIC || nonce || AES-256-GCM ciphertext`` (:mod:`artforge.provenance.sealing`); the
work's registration signs its SHA-256, so audit checks the row without any key.  Who can open it is not
kept here: the data keys are wrapped in the signed registration and in signed ``key-share`` claims.
"""

from __future__ import annotations

from artforge.registry.database import Registry


def put_sealed(registry: Registry, work_id: str, details: bytes) -> None:
    """Store a private work's sealed details (at registration)."""
    registry.db["sealed_works"].insert({"work_id": work_id, "details": details})


def sealed_details(registry: Registry, work_id: str) -> bytes | None:
    """A private work's sealed details as stored, or None (a public work, or a row that is gone: audit says so)."""
    rows = list(registry.db["sealed_works"].rows_where("work_id = ?", [work_id]))
    return bytes(rows[0]["details"]) if rows and rows[0]["details"] is not None else None


def any_sealed(registry: Registry) -> bool:
    """Whether the registry holds any private work (one b-tree step)."""
    return registry.db.execute("SELECT 1 FROM sealed_works LIMIT 1").fetchone() is not None
