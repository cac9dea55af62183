"""SQLite, the registry's embedded default backend: one file, opened through sqlite-utils.

WAL, a busy timeout and foreign keys are set on every connection; a write transaction takes the write lock
up front (``BEGIN IMMEDIATE``) so that reads inside it cannot go stale before the write.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from artforge.errors import RegistryError

BUSY_TIMEOUT_MS = 30_000


class SqliteBackend:
    """The registry's connection to its SQLite file: opening, the write lock, errors."""

    kind = "sqlite"
    error: type[Exception] = sqlite3.Error

    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise self.translate(exc) from None
        self.db = sqlite_utils.Database(conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            conn.close()
            raise self.translate(exc) from None

    def tune(self) -> None:
        """WAL and normal syncing, once the file is known to be a registry (after migrating)."""
        conn = self.db.conn
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")

    @property
    def in_transaction(self) -> bool:
        return self.db.conn.in_transaction

    def begin_write(self) -> None:
        self.db.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.conn.in_transaction:
            self.db.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.db.conn.close()

    def translate(self, exc: Exception) -> RegistryError:
        message = str(exc)
        path = self.path
        if "not a database" in message or "malformed" in message:
            return RegistryError(f"{path}: not an artforge registry (not a valid SQLite database)")
        if "readonly" in message or "read-only" in message:
            return RegistryError(f"{path}: the registry is read-only")
        if "unable to open" in message:
            return RegistryError(f"{path}: cannot open the registry file")
        if "locked" in message or "busy" in message:
            return RegistryError(f"{path}: the registry is locked by another process")
        return RegistryError(f"{path}: registry error ({message})")
