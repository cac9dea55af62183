"""Helpers for registry tests: the registry's state as a digest, and making it look as an older artforge left it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

# The tables each migration creates (migrations.MIGRATIONS, numbered from 1); the others only add columns.
TABLES_ADDED = {
    2: ("match_layers",),
    5: ("tokens", "chain_deployments"),
    6: ("log_leaves", "log_nodes", "log_keys", "log_checkpoints"),
    7: ("claims",),
    8: ("watermarks",),
    9: ("access_denials",),
    10: ("sealed_works",),
}
ROWS_ADDED = {10: ("DELETE FROM licences WHERE id = 'LicenseRef-Private'",)}  # built-in rows a migration seeds


def rewind_schema(db, version: int) -> None:
    """Drop what migrations after ``version`` created and forget them, inside the caller's transaction."""
    for number, tables in TABLES_ADDED.items():
        if number > version:
            for table in tables:
                db.execute(f"DROP TABLE {table}")
    for number, statements in ROWS_ADDED.items():
        if number > version:
            for statement in statements:
                db.execute(statement)
    db.execute("DELETE FROM _migrations WHERE id > ?", [version])


def registry_state(home: Path) -> str:
    """A digest of every row of every table of the home's registry: proves nothing was written."""
    conn = sqlite3.connect(home / "registry.db")
    digest = hashlib.sha256()
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode())
    finally:
        conn.close()
    return digest.hexdigest()
