"""The registry's transparency log: leaves for every record, checkpoints on every change, proofs, bundles,
and tampering named by audit."""

from __future__ import annotations

import json
import sqlite3

import pytest
from bench_modules import bundle_verifier
from cli_helpers import run, run_json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from registry_helpers import rewind_schema

from artforge.provenance.merkle import MemoryTree, verify_consistency, verify_inclusion
from artforge.provenance.notes import Checkpoint, open_note, sign_note
from artforge.registry import transparency_log as translog
from artforge.registry.database import Registry
from artforge.usecases.audit import audit_registry

REGISTRY_BACKENDS = ("sqlite", "postgresql")  # every test with a home runs on both (conftest.py)


def _verifier():
    return bundle_verifier()


@pytest.fixture
def history(home, art):
    """Three works, a grant and a transfer: 5 records; and 2 claims (the names of the keys 'default', at init,
    and 'studio'): 7 leaves, a checkpoint per command but 'keys create' (which has no log key)."""
    ids = []
    for seed in range(3):
        result = run("register", art(seed), "--license", "CC-BY-4.0", "-q")
        assert result.exit_code == 0, result.stderr
        ids.append(result.stdout.strip())
    assert run("license", "grant", ids[0], "--to", "Acme", "--terms", "posters").exit_code == 0
    assert run("keys", "create", "studio", "--no-encrypt").exit_code == 0
    assert run("transfer", ids[1], "--to", "studio").exit_code == 0
    return ids


def _db(home) -> sqlite3.Connection:
    return sqlite3.connect(home.settings.registry_path)


def _audit_messages(home) -> list[str]:
    return [p.message for p in audit_registry(home).problems]


def test_every_record_is_a_leaf_and_every_command_a_checkpoint(home, history) -> None:
    with home.registry() as registry:
        db = registry.db
        assert translog.size(db) == 7 == db["records"].count + db["claims"].count
        signed = translog.checkpoints(db)
        assert [c.size for c in signed] == [1, 2, 3, 4, 5, 7]
        leaves = [bytes(r[0]) for r in db.execute("SELECT leaf_hash FROM log_leaves ORDER BY idx")]
        tree = MemoryTree(leaves)
        origin, public = translog.log_key(db, signed[-1].key_id)
        for checkpoint in signed:
            body = Checkpoint.parse(open_note(checkpoint.note, origin, public))
            assert body.origin == origin and body.root == tree.root(body.size)
    assert audit_registry(home).ok


def test_proofs_from_the_cli_verify_against_the_signed_checkpoint(home, history) -> None:
    code, state = run_json("log", "checkpoint")
    assert code == 0 and not state["data"]["signed_now"] and state["data"]["size"] == 7
    public = bytes.fromhex(state["data"]["public_key"])
    checkpoint = Checkpoint.parse(open_note(state["data"]["note"], state["data"]["origin"], public))
    with home.registry() as registry:
        record_ids = [r[0] for r in registry.db.execute("SELECT record_id FROM log_leaves ORDER BY idx")]
    for index, record_id in enumerate(record_ids):
        code, proof = run_json("log", "prove", record_id[:10])
        data = proof["data"]
        assert code == 0 and data["leaf_index"] == index and data["tree_size"] == 7
        verify_inclusion(index, 7, bytes.fromhex(data["leaf_hash"]), [bytes.fromhex(p) for p in data["path"]],
                         checkpoint.root)
    for old in range(0, 8):
        code, proof = run_json("log", "consistency", old)
        data = proof["data"]
        assert code == 0 and data["new_size"] == 7 and data["new_root"] == checkpoint.root.hex()
        verify_consistency(old, 7, bytes.fromhex(data["old_root"]), checkpoint.root,
                           [bytes.fromhex(p) for p in data["path"]])
    assert run("log", "consistency", 3, 9).exit_code == 2  # past the log's size
    assert run("log", "prove", "abcdef").exit_code == 6


def test_a_bundle_verifies_offline_and_every_tampering_fails(home, history, tmp_path) -> None:
    out = tmp_path / "evidence.json"
    code, exported = run_json("export", history[1], "--bundle", out)
    assert code == 0 and exported["data"]["records"] == 2  # registration + transfer
    verifier = _verifier()
    log_key = run_json("log", "checkpoint")[1]["data"]["public_key"]
    assert verifier.main([str(out), "--log-key", log_key]) == 0
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    assert verifier.main([str(out), "--log-key", other]) == 1
    bundle = json.loads(out.read_text())

    def tampered(change) -> int:
        copy = json.loads(json.dumps(bundle))
        change(copy)
        path = tmp_path / "tampered.json"
        path.write_text(json.dumps(copy))
        return verifier.main([str(path), "--log-key", log_key])

    def flip_path(b):
        step = b["records"][0]["inclusion_path"][0]
        b["records"][0]["inclusion_path"][0] = ("0" if step[0] != "0" else "1") + step[1:]

    changes = {
        "title": lambda b: b["records"][0]["payload"]["work"].update(title="Someone else's"),
        "leaf index": lambda b: b["records"][0].update(leaf_index=b["records"][1]["leaf_index"]),
        "path": flip_path,
        "checkpoint size": lambda b: b["log"].update(checkpoint=b["log"]["checkpoint"].replace("\n7\n", "\n8\n", 1)),
        "order": lambda b: b["records"].reverse(),
        "dropped transfer": lambda b: b["records"].pop(),
        "log key": lambda b: b["log"].update(public_key=other),
        "signature": lambda b: b["records"][1].update(signature="00" * 64),
    }
    for name, change in changes.items():
        assert tampered(change) == 1, name


@pytest.mark.sqlite_only  # edits the file through sqlite3 (backup and restore between edits)
def test_audit_names_each_kind_of_tampering(home, history, tmp_path) -> None:
    pristine = sqlite3.connect(":memory:")
    with _db(home) as live:
        live.backup(pristine)

    def restore() -> None:
        with _db(home) as live:
            pristine.backup(live)

    def tamper(sql: str, *args) -> list[str]:
        restore()
        with _db(home) as db:
            for statement in sql.split(";"):
                db.execute(statement, args if "?" in statement else ())
        return _audit_messages(home)

    messages = tamper("UPDATE log_leaves SET leaf = CAST(replace(CAST(leaf AS TEXT), 'Acme', 'Acne') AS BLOB) "
                      "WHERE idx = 4")
    assert any("log leaf 4" in m and "do not hash to its stored hash" in m for m in messages), messages
    messages = tamper("DELETE FROM log_leaves WHERE idx = 2")
    assert any("log leaf 2 is missing" in m for m in messages), messages
    messages = tamper("UPDATE log_leaves SET idx = -1 WHERE idx = 1; UPDATE log_leaves SET idx = 1 WHERE idx = 2;"
                      "UPDATE log_leaves SET idx = 2 WHERE idx = -1")
    assert any("out of order" in m for m in messages), messages
    assert any("history rewritten" in m for m in messages), messages
    messages = tamper("UPDATE log_checkpoints SET note = replace(note, char(10) || '4' || char(10), "
                      "char(10) || '3' || char(10)) WHERE size = 4")
    assert any("checkpoint at size 4" in m and "does not verify" in m for m in messages), messages
    messages = tamper("UPDATE log_checkpoints SET root = zeroblob(32) WHERE size = 4")
    assert any("checkpoint at size 4: the row's root is not the root the signed note states" in m
               for m in messages), messages
    # A checkpoint re-signed by a key the registry does not know, over a forged root.
    forger = Ed25519PrivateKey.generate()
    public = forger.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    note = sign_note(Checkpoint("artforge.local/log/forged", 5, b"\x07" * 32).text(), "artforge.local/log/forged",
                     public, forger.sign)
    messages = tamper("UPDATE log_checkpoints SET note = ?, key_id = 'ffffffffffffffffffffffffffffffff' WHERE size = 5",
                      note)
    assert any("checkpoint at size 5" in m and "does not record" in m for m in messages), messages
    grant_id = pristine.execute("SELECT id FROM records WHERE type = 'grant'").fetchone()[0]
    messages = tamper("DELETE FROM grants; DELETE FROM records WHERE type = 'grant'")
    assert any(f"record {grant_id[:12]} is no longer in the registry (deleted)" in m for m in messages), messages
    messages = tamper("DELETE FROM log_nodes WHERE level = 1 AND idx = 0")
    assert any("history rewritten" in m or "missing" in m for m in messages) or not messages, messages
    restore()
    assert audit_registry(home).ok


def test_a_changed_record_is_named_by_the_log_too(home, history) -> None:
    with home.registry() as registry, registry.transaction():
        registry.db.execute("UPDATE records SET payload = replace(payload, '\"posters\"', '\"billboards\"')")
    messages = _audit_messages(home)
    assert any("bytes differ from the stored record" in m for m in messages), messages


def test_records_stored_before_the_log_are_logged_by_the_migration(home, art) -> None:
    for seed in range(3):
        assert run("register", art(seed), "--license", "CC0-1.0", "-q").exit_code == 0
    with home.registry() as registry, registry.transaction():  # as a registry of schema v5 was: no log tables
        rewind_schema(registry.db, 5)
    with Registry.open(home.settings.registry_location, local_dir=home.settings.home) as registry:  # migration 6
        assert translog.size(registry.db) == 3 and translog.latest_checkpoint(registry.db) is None
    report = audit_registry(home)
    assert report.ok and "covers 0 of 3" in report.notes[0]
    assert "1 key name(s) stored before names were signed" in report.notes[1]  # 'default': a label until attest
    code, state = run_json("log", "checkpoint")
    assert code == 0 and state["data"]["signed_now"] and state["data"]["size"] == 3
    assert audit_registry(home).ok and len(audit_registry(home).notes) == 1
    code, attested = run_json("attest")
    assert code == 0 and attested["data"]["names_signed"] == ["default"], attested
    assert audit_registry(home).ok and not audit_registry(home).notes


def test_a_change_whose_checkpoint_cannot_be_signed_is_not_made(home, art, monkeypatch) -> None:
    assert run("register", art(1), "--license", "CC0-1.0", "-q").exit_code == 0
    log_key = home.settings.log_key_dir / "log.key"
    log_key.write_bytes(b"damaged")  # the log key cannot be loaded
    result = run("register", art(2), "--license", "CC0-1.0", "-q")
    assert result.exit_code == 7 and result.stderr.startswith("Error: key 'log'")
    with home.registry() as registry:
        assert registry.db["records"].count == 1 and translog.size(registry.db) == 2  # the key's name, the record


def test_checkpoint_root_is_hex_like_every_other_hash(home, art) -> None:
    """The JSON root was base64 while every other hash is hex; the signed note keeps base64 (C2SP)."""
    import base64
    import json

    from cli_helpers import run

    assert run("register", art(1), "--license", "CC0-1.0").exit_code == 0
    data = json.loads(run("log", "checkpoint", "--json").stdout)["data"]
    root = bytes.fromhex(data["root"])
    assert len(root) == 32 and data["note"].split("\n")[2] == base64.b64encode(root).decode()
