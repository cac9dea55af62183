"""Bad input: a one-line error on stderr, a non-zero exit code, and the registry byte-for-byte unchanged."""

from __future__ import annotations

import io
import os
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import run
from PIL import Image
from registry_helpers import registry_state as _registry_state


@pytest.fixture
def registry(isolated_home: Path, art) -> Path:
    assert run("init", "--no-encrypt").exit_code == 0
    assert run("register", art(0), "--license", "CC0-1.0").exit_code == 0
    return isolated_home


def _bad_files(tmp_path: Path, art) -> dict[str, Path]:
    files = {}
    files["text"] = tmp_path / "note.png"
    files["text"].write_text("hello")
    files["truncated"] = tmp_path / "half.png"
    files["truncated"].write_bytes(art(1).read_bytes()[:400])
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")
    files["bomb"] = tmp_path / "bomb.png"
    files["bomb"].write_bytes(bomb.getvalue())
    files["missing"] = tmp_path / "absent.png"
    files["directory"] = tmp_path
    return files


def _assert_one_line_error(result, exit_code: int) -> None:
    assert result.exit_code == exit_code, (result.exit_code, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("kind", ["text", "truncated", "bomb", "missing", "directory"])
def test_bad_images_change_nothing(registry: Path, tmp_path: Path, art, kind: str) -> None:
    bad = _bad_files(tmp_path, art)[kind]
    before = _registry_state(registry)
    for command in (["register", art(2), bad, "--license", "CC0-1.0"], ["verify", bad], ["fingerprint", bad]):
        _assert_one_line_error(run(*command), 5)
    assert _registry_state(registry) == before


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["--license", "CC-BY-99"], 6),  # unknown licence
        (["--license", "CC0-1.0", "--key", "ghost"], 6),  # missing key
        (["--license", "CC0-1.0", "--key", "locked"], 7),  # locked key, no terminal, no env
        (["--license", "CC0-1.0", "--key", "locked", "--passphrase-env", "AF_WRONG"], 7),  # wrong passphrase
        (["--license", "CC0-1.0", "--key", "locked", "--passphrase-env", "AF_UNSET"], 2),  # env var not set
        (["--license", "CC0-1.0", "--parent", "abcdef12"], 6),  # unknown parent
    ],
)
def test_register_refusals_change_nothing(registry: Path, art, monkeypatch, args, exit_code) -> None:
    monkeypatch.setenv("AF_RIGHT", "right phrase")
    monkeypatch.setenv("AF_WRONG", "wrong phrase")
    monkeypatch.delenv("AF_UNSET", raising=False)
    assert run("keys", "create", "locked", "--passphrase-env", "AF_RIGHT").exit_code == 0
    before = _registry_state(registry)
    _assert_one_line_error(run("register", art(3), *args), exit_code)
    assert _registry_state(registry) == before


def test_registry_that_is_not_a_database(isolated_home: Path, art) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "registry.db").write_bytes(b"garbage" * 1000)
    _assert_one_line_error(run("register", art(1), "--license", "CC0-1.0"), 8)
    _assert_one_line_error(run("list"), 8)
    assert (isolated_home / "registry.db").read_bytes() == b"garbage" * 1000


def test_registry_with_newer_schema(registry: Path, art) -> None:
    conn = sqlite3.connect(registry / "registry.db")
    conn.execute("INSERT INTO _migrations (id, name, applied_at) VALUES (99, 'future', 'x')")
    conn.commit()
    conn.close()
    before = _registry_state(registry)
    result = run("register", art(1), "--license", "CC0-1.0")
    _assert_one_line_error(result, 8)
    assert "newer" in result.stderr
    assert _registry_state(registry) == before


def test_uninitialised_home(art) -> None:
    result = run("register", art(1), "--license", "CC0-1.0")
    _assert_one_line_error(result, 8)
    assert "artforge init" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_home(registry: Path, art) -> None:
    before = _registry_state(registry)
    os.chmod(registry / "registry.db", 0o444)
    os.chmod(registry, 0o500)
    try:
        result = run("register", art(1), "--license", "CC0-1.0")
    finally:
        os.chmod(registry, 0o700)
        os.chmod(registry / "registry.db", 0o644)
    assert result.exit_code != 0 and result.stderr.startswith("Error: ")
    assert _registry_state(registry) == before


def test_read_only_registry_as_root_too(registry: Path, art) -> None:
    # Root ignores permission bits, so make the database read-only in SQLite's own terms.
    before = _registry_state(registry)
    (registry / "registry.db").chmod(0o444)
    import artforge.registry.sqlite_backend as registry_module

    original = registry_module.sqlite3.connect

    def read_only_connect(path, *args, **kwargs):
        return original(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    registry_module.sqlite3.connect = read_only_connect
    try:
        result = run("register", art(1), "--license", "CC0-1.0")
    finally:
        registry_module.sqlite3.connect = original
    _assert_one_line_error(result, 8)
    assert "read-only" in result.stderr
    assert _registry_state(registry) == before


def test_missing_or_unknown_things(registry: Path) -> None:
    _assert_one_line_error(run("show", "0123456789"), 6)
    _assert_one_line_error(run("show", "not-hex"), 2)
    _assert_one_line_error(run("license", "show", "GPL-3.0"), 6)
    _assert_one_line_error(run("license", "add", "MIT"), 2)
    _assert_one_line_error(run("keys", "create", "default", "--no-encrypt"), 10)
    _assert_one_line_error(run("keys", "create", "../x", "--no-encrypt"), 2)
    _assert_one_line_error(run("license", "grant", "0123456789", "--to", "A", "--terms", "t"), 6)
    _assert_one_line_error(run("transfer", "0123456789", "--to", "ff" * 32), 6)


def test_empty_stdin(registry: Path) -> None:
    _assert_one_line_error(run("register", "-", "--license", "CC0-1.0", input=""), 2)
