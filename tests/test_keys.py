"""Ed25519 keys: creation, file modes, encryption, wrong passphrase, public export."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from artforge.errors import Conflict, NotFound, SigningKeyError, UsageError, WrongPassphrase
from artforge.keys import KeyStore, key_id_for, parse_public_key, verify_signature


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
