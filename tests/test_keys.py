"""Ed25519 keys: creation, file modes, encryption, wrong passphrase, public export."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from artforge.errors import Conflict, NotFound, SigningKeyError, UsageError, WrongPassphrase
from artforge.provenance.keys import KeyStore, key_id_for, parse_public_key, verify_signature


def test_create_writes_private_key_0600_and_unencrypted_pem(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    info = store.create("alice")
    private = tmp_path / "keys" / "alice.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert info.key_id == hashlib.sha256(bytes.fromhex(info.public_key)).digest()[:16].hex()
    assert not info.encrypted
    signer = store.signer("alice")
    assert verify_signature(signer.public_key, signer.sign(b"hello"), b"hello")
    assert not verify_signature(signer.public_key, signer.sign(b"hello"), b"hellO")


def test_encrypted_key_needs_the_right_passphrase(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.create("bob", b"correct horse")
    pem = (tmp_path / "keys" / "bob.key").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert store.signer("bob", lambda: b"correct horse").key_id == store.info("bob").key_id
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        store.signer("bob", lambda: b"battery staple")
    with pytest.raises(SigningKeyError, match="encrypted"):
        store.signer("bob")


def test_passphrase_is_never_in_messages_or_reprs(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.create("carol", b"s3cret-phrase")
    signer = store.signer("carol", lambda: b"s3cret-phrase")
    assert "s3cret" not in repr(signer)
    with pytest.raises(WrongPassphrase) as caught:
        store.signer("carol", lambda: b"s3cret-wrong")
    assert "s3cret" not in str(caught.value)


def test_names_duplicates_and_missing(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.create("dave")
    with pytest.raises(Conflict):
        store.create("dave")
    with pytest.raises(UsageError):
        store.create("../escape")
    with pytest.raises(NotFound):
        store.info("nobody")
    assert [k.name for k in store.list()] == ["dave"]


def test_missing_private_file_and_unreadable_info(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.create("erin")
    os.remove(tmp_path / "keys" / "erin.key")
    with pytest.raises(SigningKeyError, match="missing"):
        store.signer("erin")


def test_public_pem_matches_key_id(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    info = store.create("frank")
    public = load_pem_public_key(store.public_pem("frank").encode())
    raw = public.public_bytes_raw()
    assert key_id_for(raw) == info.key_id


def test_parse_public_key() -> None:
    assert parse_public_key("AB" * 32) == bytes([0xAB]) * 32
    with pytest.raises(UsageError):
        parse_public_key("xyz")


# -- the CLI's policy: encrypted at rest unless the user opts out ------------------------------------------
from cli_helpers import run, run_json  # noqa: E402

SECRET = "tr0ub4dor&3 horse-staple"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_encrypts_by_default_and_refuses_without_a_passphrase(isolated_home: Path, monkeypatch) -> None:
    monkeypatch.delenv("ARTFORGE_PASSPHRASE", raising=False)
    result = run("init")
    assert result.exit_code == 7 and "--no-encrypt" in result.stderr and result.stderr.count("\n") == 1
    assert not isolated_home.exists()  # refused before anything was created
    code, env = run_json("init", "--no-encrypt")
    assert code == 0 and env["data"]["key"]["encrypted"] is False  # the explicit opt-out


def test_an_encrypted_home_keeps_its_passphrase_out_of_every_output(isolated_home: Path, monkeypatch, art) -> None:
    monkeypatch.setenv("ARTFORGE_PASSPHRASE", SECRET)
    outputs = []

    def call(*args: str, code: int = 0):
        result = run(*args)
        outputs.append(result.stdout + result.stderr)
        assert result.exit_code == code, result.stderr
        return result

    call("init")
    keys, log_dir = isolated_home / "keys", isolated_home / "log"
    assert _mode(isolated_home) == _mode(keys) == _mode(log_dir) == 0o700
    for private in (keys / "default.key", log_dir / "log.key"):
        assert _mode(private) == 0o600 and b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    work = call("register", art(1), "--license", "CC-BY-4.0", "-q").stdout.strip()
    call("license", "grant", work, "--to", "Acme", "--terms", "posters")
    call("verify", art(1))
    call("audit")
    call("log", "checkpoint")
    call("export", work, "--bundle", isolated_home.parent / "bundle.json")
    call("keys", "create", "studio")
    monkeypatch.setenv("ARTFORGE_PASSPHRASE", SECRET + " typo")
    wrong = call("register", art(2), "--license", "CC0-1.0", code=7)
    assert "wrong passphrase" in wrong.stderr
    for text in outputs:
        assert SECRET not in text and "typo" not in text and "Traceback" not in text
    stored = b"".join(p.read_bytes() for p in isolated_home.rglob("*") if p.is_file())
    assert SECRET.encode() not in stored and b"horse-staple" not in stored
