"""The registry: migrations, settings, atomicity, unreadable files, prefix lookup (SQLite; those with a home
also on PostgreSQL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from artforge.errors import NotFound, RegistryError, SchemaTooNew, UnknownLicence, UsageError
from artforge.registry.database import Registry
from artforge.registry.licence_catalogue import BUILTIN_LICENCES
from artforge.registry.migrations import SCHEMA_VERSION, licence_row
from artforge.usecases.home import Home
from artforge.usecases.register import register_images

REGISTRY_BACKENDS = ("sqlite", "postgresql")  # the tests with a home run on both (conftest.py)


def test_new_registry_has_migrations_wal_and_builtin_licences(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with Registry.open(path, create=True) as registry:
        assert registry.schema_version() == SCHEMA_VERSION
        assert registry.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert registry.db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert {lic.id for lic in registry.licences()} == set(BUILTIN_LICENCES)
    # Readable as is with plain sqlite-utils (and so Datasette).
    db = sqlite_utils.Database(path)
    assert {"works", "fingerprints", "records", "licences", "grants", "transfers", "_migrations"} <= set(db.table_names())


def test_a_new_registry_holds_the_catalogue_as_it_is_now(tmp_path: Path) -> None:
    # The migrations write built-in licence rows from their own frozen copy; a catalogue change that ships
    # without a migration adding its rows fails here (and audit would call every home's rows edited).
    with Registry.open(tmp_path / "r.db", create=True) as registry:
        stored = {row["id"]: row for row in registry.stored_rows("licences")}
    assert stored == {licence.id: licence_row(licence) for licence in BUILTIN_LICENCES.values()}


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    Registry.open(path, create=True).close()
    with Registry.open(path) as registry:
        assert registry.db["_migrations"].count == SCHEMA_VERSION


def test_missing_registry_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="artforge init"):
        Registry.open(tmp_path / "absent.db")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(RegistryError, match="not a valid SQLite database"):
        Registry.open(path)
    assert path.read_bytes() == b"definitely not sqlite" * 100


def test_foreign_sqlite_database_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite_utils.Database(path)["notes"].insert({"text": "mine"})
    with pytest.raises(RegistryError, match="not an artforge registry"):
        Registry.open(path)
    assert sqlite_utils.Database(path).table_names() == ["notes"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    Registry.open(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _migrations (id, name, applied_at) VALUES (?, 'future', 'x')", [SCHEMA_VERSION + 1])
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer"):
        Registry.open(path)


def test_failed_transaction_leaves_nothing(home: Home) -> None:
    with home.registry() as registry:
        with pytest.raises(RuntimeError):
            with registry.transaction():
                registry.remember_identity("k" * 32, "p" * 64, "now")
                raise RuntimeError("boom")
        assert registry.identity("k" * 32) is None


def test_resolve_by_prefix(home: Home, art) -> None:
    [work] = register_images(home, [art(1)], licence_id="CC0-1.0")
    with home.registry() as registry:
        assert registry.resolve_work(work.work_id[:8]).id == work.work_id
        assert registry.resolve_work(work.work_id.upper()).id == work.work_id
        with pytest.raises(UsageError):
            registry.resolve_work("abc")
        with pytest.raises(NotFound):
            registry.resolve_work("0" * 10 if not work.work_id.startswith("0" * 10) else "f" * 10)
        with pytest.raises(UnknownLicence):
            registry.licence("MIT-ish")
