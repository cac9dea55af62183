"""A registry shared by several writers: PostgreSQL as a backend (a real server, tests/pg_server.py),
concurrent writers on both backends, and what a URL with a password may never do (be stored or shown)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest
from cli_helpers import run, run_json

from artforge.errors import RegistryError, SchemaTooNew
from artforge.registry import transparency_log as translog
from artforge.registry.database import Registry
from artforge.registry.migrations import SCHEMA_VERSION
from artforge.usecases.audit import audit_registry

REGISTRY_BACKENDS = ("sqlite", "postgresql")  # the tests with a home run on both (conftest.py)
WRITERS = 4
WORKS_PER_WRITER = 4
PROCESS_GUARD_S = 300  # a hang fails the test instead of stalling the suite; never reached by a slow machine


# -- PostgreSQL specifics ----------------------------------------------------------------------------------
def test_init_database_remembers_the_url_and_never_a_password(postgres_server, isolated_home) -> None:
    url = postgres_server.new_database()
    secret_url = url.replace("artforge@", "artforge:hunter2-secret@")
    result = run("init", "--no-encrypt", "--database", secret_url)
    assert result.exit_code == 2 and "hunter2" not in result.stderr + result.stdout
    assert result.stderr.count("\n") == 1 and "~/.pgpass" in result.stderr
    assert not (isolated_home / "database-url").exists() and not (isolated_home / "keys").exists()

    code, made = run_json("init", "--no-encrypt", "--database", url)
    assert code == 0 and made["data"]["registry"].startswith("postgresql://artforge@/")
    stored = isolated_home / "database-url"
    assert stored.read_text().strip() == url and stat.S_IMODE(stored.stat().st_mode) == 0o600
    code, where = run_json("home")
    assert code == 0 and where["data"]["registry"] == made["data"]["registry"] and where["data"]["initialised"]
    assert not (isolated_home / "registry.db").exists()  # no SQLite file: the registry is the database


def test_an_unreachable_database_is_one_line_without_the_password(isolated_home, monkeypatch) -> None:
    monkeypatch.setenv("ARTFORGE_DATABASE_URL", "postgresql://someone:pa55-secret@/nowhere?host=/nonexistent")
    result = run("list")
    assert result.exit_code == 8, result.stderr
    assert result.stderr.count("\n") == 1 and "pa55" not in result.stderr
    assert "postgresql://someone@/nowhere" in result.stderr and "cannot connect" in result.stderr


def test_a_foreign_or_empty_or_newer_database_is_refused_untouched(postgres_server) -> None:
    import psycopg

    foreign = postgres_server.new_database()
    with psycopg.connect(foreign, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(RegistryError, match="a PostgreSQL database, but not an artforge registry"):
        Registry.open(foreign, create=True)
    with psycopg.connect(foreign) as conn:
        assert [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'public'")] == ["notes"]
    empty = postgres_server.new_database()
    with pytest.raises(RegistryError, match="run 'artforge init'"):
        Registry.open(empty)
    Registry.open(empty, create=True).close()
    with psycopg.connect(empty, autocommit=True) as conn:
        conn.execute("INSERT INTO _migrations (id, name, applied_at) VALUES (%s, 'future', 'x')", [SCHEMA_VERSION + 1])
    with pytest.raises(SchemaTooNew, match="newer"):
        Registry.open(empty)


def test_two_clients_opening_a_new_database_migrate_it_once(postgres_server, tmp_path) -> None:
    url = postgres_server.new_database()
    script = f"from artforge.registry.database import Registry\nRegistry.open({url!r}, create=True).close()\n"
    procs = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE) for _ in range(3)]
    assert [p.wait(timeout=PROCESS_GUARD_S) for p in procs] == [0, 0, 0], [p.stderr.read() for p in procs]
    with Registry.open(url) as registry:
        assert registry.db["_migrations"].count == SCHEMA_VERSION
        assert len(registry.licences()) == registry.db["licences"].count


# -- both backends -----------------------------------------------------------------------------------------
_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from artforge.generation.procedural import draw_art
    from artforge.usecases.home import Home
    from artforge.usecases.register import register_images
    writer, count, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    home = Home()
    for n in range(count):  # one registration (one transaction) at a time, interleaved with the others
        path = folder / f"w{writer}-{n}.png"
        draw_art(1000 * writer + n, (96, 80)).save(path)
        register_images(home, [path], licence_id="CC0-1.0")
""")


def test_concurrent_writers_keep_the_log_append_only_and_gap_free(home, tmp_path, registry_backend) -> None:
    folder = tmp_path / "drawn"
    folder.mkdir()
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(w), str(WORKS_PER_WRITER), str(folder)],
                              env=env, stderr=subprocess.PIPE) for w in range(WRITERS)]
    codes = [p.wait(timeout=PROCESS_GUARD_S) for p in procs]
    assert codes == [0] * WRITERS, [p.stderr.read().decode()[-800:] for p in procs]
    with home.registry() as registry:
        db = registry.db
        works = db["works"].count
        leaves = [row[0] for row in db.execute("SELECT idx FROM log_leaves ORDER BY idx")]
        assert works == WRITERS * WORKS_PER_WRITER
        assert leaves == list(range(db["records"].count + db["claims"].count))  # no gap, nothing twice
        sizes = [c.size for c in translog.checkpoints(db)]
        assert sizes == sorted(set(sizes)) and sizes[-1] == len(leaves)  # every commit checkpointed, in order
    report = audit_registry(home)
    assert report.ok, report.problems  # every checkpoint's root is the log's root at its size


def test_a_registered_work_is_found_on_the_backend(home, art, registry_backend) -> None:
    path = art(5)
    assert run("register", path, "--license", "CC-BY-4.0", "-q").exit_code == 0
    code, found = run_json("verify", path)
    assert code == 0 and found["data"]["verdict"] == "exact-copy"
    with home.registry() as registry:
        assert registry.backend.kind == registry_backend


# -- several homes on one PostgreSQL registry, and moving registries between backends ----------------------
def test_a_second_home_joins_and_the_log_keeper_signs_its_records(postgres_server, tmp_path, monkeypatch,
                                                                   art) -> None:
    url = postgres_server.new_database()
    keeper, member = tmp_path / "keeper", tmp_path / "member"
    monkeypatch.setenv("ARTFORGE_HOME", str(keeper))
    assert run("init", "--no-encrypt", "--database", url).exit_code == 0
    assert run("register", art(1), "--license", "CC-BY-4.0", "-q").exit_code == 0

    monkeypatch.setenv("ARTFORGE_HOME", str(member))
    assert run("init", "--no-encrypt", "--database", url).exit_code == 0
    assert not (member / "log" / "log.key").exists() and (member / "log" / "registry-log.pub").exists()
    assert run("register", art(2), "--license", "CC0-1.0", "-q").exit_code == 0
    code, found = run_json("verify", art(1))  # the keeper's work, seen from the member's home
    assert code == 0 and found["data"]["verdict"] == "exact-copy"
    refused = run("log", "checkpoint")
    assert refused.exit_code == 7 and "does not hold" in refused.stderr
    report = run_json("audit")[1]["data"]
    assert report["ok"] and report["log_size"] == 4  # each home's key name, and a record from each
    assert run("audit").stderr.count("newest checkpoint covers") == 1  # the member's writes await the keeper

    monkeypatch.setenv("ARTFORGE_HOME", str(keeper))
    code, signed = run_json("log", "checkpoint")
    assert code == 0 and signed["data"]["signed_now"] and signed["data"]["size"] == 4
    monkeypatch.setenv("ARTFORGE_HOME", str(member))
    audited = run("audit")
    assert audited.exit_code == 0 and "newest checkpoint covers" not in audited.stderr


@pytest.mark.sqlite_only  # from the home's SQLite file to PostgreSQL and back
def test_registry_copy_between_backends_audits_the_same_on_both(home, art, postgres_server, tmp_path,
                                                                 monkeypatch) -> None:
    ids = [run("register", art(seed), "--license", "CC-BY-4.0", "-q").stdout.strip() for seed in range(3)]
    assert run("license", "grant", ids[0], "--to", "Acme", "--terms", "posters").exit_code == 0
    assert run("keys", "create", "studio", "--no-encrypt").exit_code == 0
    assert run("transfer", ids[1], "--to", "studio").exit_code == 0
    source = str(home.settings.registry_path)
    target = postgres_server.new_database()
    code, copied = run_json("registry", "copy", source, target)
    assert code == 0 and copied["data"]["ok"] and copied["data"]["rows"]["works"] == 3, copied
    with Registry.open(source) as original, Registry.open(target) as copy:
        assert translog.root(copy.db) == translog.root(original.db)
        for table in ("works", "fingerprints", "records", "grants", "transfers", "licences", "identities"):
            assert copy.stored_rows(table, order_by="rowid") == original.stored_rows(table, order_by="rowid")
    monkeypatch.setenv("ARTFORGE_DATABASE_URL", target)  # the same home, now on the copy
    assert audit_registry(home).ok
    code, found = run_json("verify", art(1))
    assert code == 0 and found["data"]["candidates"][0]["work_id"] == ids[1]
    assert found["data"]["work"]["owner"]["name"] == "studio" and found["data"]["work"]["owner"]["name_signed"]

    back = tmp_path / "back.db"  # and back to SQLite, from the PostgreSQL copy
    code, again = run_json("registry", "copy", target, back)
    assert code == 0 and again["data"]["log_root"] == copied["data"]["log_root"]
    before = back.read_bytes()
    refused = run("registry", "copy", target, back)
    assert refused.exit_code == 10 and "already holds a registry" in refused.stderr and back.read_bytes() == before


def test_registry_copy_of_a_tampered_source_lists_its_problems(home, art, tmp_path, registry_backend) -> None:
    work = run("register", art(3), "--license", "CC-BY-4.0", "-q").stdout.strip()
    with home.registry() as registry, registry.transaction():
        registry.db.execute("UPDATE works SET title = 'Not the signed title' WHERE id = ?", [work])
    source = home.settings.registry_location
    code, copied = run_json("registry", "copy", source, tmp_path / "copy.db")
    assert code == 4 and not copied["data"]["ok"]
    assert any("title" in p for p in copied["data"]["source_problems"]), copied["data"]
    assert copied["data"]["target_problems"] == copied["data"]["source_problems"]


def test_a_machine_without_a_snapshot_writes_one_for_its_next_process(home, art, registry_backend,
                                                                      monkeypatch) -> None:
    from artforge.matching import index_file

    monkeypatch.setattr(index_file, "SNAPSHOT_EVERY", 2)  # as 2,000 rows would, at test size
    for seed in range(3):
        assert run("register", art(seed), "--license", "CC0-1.0", "-q").exit_code == 0
    with home.registry() as registry:
        snapshot = index_file.index_path(registry.path)
        snapshot.unlink(missing_ok=True)  # a new worker machine: the registry has rows, this machine no index
        first = index_file.open_index(registry)
        assert snapshot.exists() and index_file.read_meta(snapshot)["covered_rowid"] == first.covered_rowid
        written = snapshot.stat().st_mtime_ns
        again = index_file.open_index(registry)  # nothing new since: read, not written again
        assert snapshot.stat().st_mtime_ns == written and again.works == first.works == 3


@pytest.mark.parametrize("url", ["postgresql://someone:pa55-secret@[::1:5432/db",  # psycopg quotes what it cannot parse
                                 "postgresql://someone:pa55-secret@/db?host=/nonexistent&nosuchoption=1",
                                 "postgresql://someone:pa55-secret@localhost:99999/db"])
def test_no_error_about_a_database_url_shows_its_password(isolated_home, monkeypatch, url) -> None:
    monkeypatch.setenv("ARTFORGE_DATABASE_URL", url)
    result = run("list")
    assert result.exit_code == 8 and result.stderr.count("\n") == 1, result.stderr
    assert "pa55" not in result.stderr + result.stdout
