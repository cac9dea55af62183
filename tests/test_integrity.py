"""Integrity: an attacker who can edit registry.db but holds no key cannot make artforge present a forged fact.

Each edit below is one an earlier probe found shown as fact while 'audit' passed.  Now 'audit' names it, and
'show'/'verify' keep showing what the signed records say, marked "registry-tampered" (exit 14).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_helpers import run, run_json
from PIL import Image

import artforge.usecases.register
from artforge.usecases.home import Home


def _snapshot(home: Home) -> sqlite3.Connection:
    kept = sqlite3.connect(":memory:")
    with sqlite3.connect(home.settings.registry_path) as live:
        live.backup(kept)
    return kept


def _restore(home: Home, kept: sqlite3.Connection) -> None:
    with sqlite3.connect(home.settings.registry_path) as live:
        kept.backup(live)


def _edit(home: Home, sql: str, *args) -> None:
    """What an attacker does with the sqlite3 shell: plain SQL, foreign keys off."""
    with sqlite3.connect(home.settings.registry_path) as db:
        for statement in sql.split(";"):
            db.execute(statement, args if "?" in statement else ())


@pytest.fixture
def studio(home: Home, art, tmp_path: Path) -> dict:
    """Three works under a built-in and a custom licence, a grant, a transfer to a second key, a derived work."""
    assert run("keys", "create", "bob", "--no-encrypt").exit_code == 0
    assert run("license", "add", "LicenseRef-Studio", "--name", "Studio licence", "--no-commercial").exit_code == 0
    ids = {}
    for name, seed, licence in (("a", 1, "CC-BY-NC-4.0"), ("b", 2, "LicenseRef-Studio")):
        result = run("register", art(seed), "--license", licence, "-q")
        assert result.exit_code == 0, result.stderr
        ids[name] = result.stdout.strip()
    result = run("register", art(3), "--license", "CC-BY-4.0", "--parent", ids["a"], "-q")
    ids["c"] = result.stdout.strip()
    assert run("license", "grant", ids["a"], "--to", "Acme Prints", "--terms", "posters", "--until",
               "2999-01-01").exit_code == 0
    assert run("transfer", ids["b"], "--to", "bob").exit_code == 0
    image = Image.open(art(1))
    crop = tmp_path / "crop-a.jpg"
    image.crop((20, 15, image.width - 10, image.height)).save(crop, quality=88)
    ids["crop"] = str(crop)
    return ids


def _show(work_id: str) -> tuple[int, dict]:
    code, envelope = run_json("show", work_id)
    return code, envelope["data"]


def _audit_messages() -> tuple[int, list[str]]:
    code, envelope = run_json("audit")
    return code, [p["message"] for p in envelope["data"]["problems"]]


FACTS = ("work", "licence", "creator", "owner", "active_grants", "history")

# (what is forged, SQL, the work whose rows it touches or None for a catalogue row)
FORGERIES = [
    ("licence name", "UPDATE licences SET name = 'Forged' WHERE id = 'LicenseRef-Studio'", None),
    ("licence terms", "UPDATE licences SET commercial = 1 WHERE id = 'CC-BY-NC-4.0'", None),
    ("custom licence terms", "UPDATE licences SET commercial = 1 WHERE id = 'LicenseRef-Studio'", None),
    ("grantee", "UPDATE grants SET grantee = 'Mallory'", "a"),
    ("grant end", "UPDATE grants SET until = '2099-01-01'", "a"),
    ("identity name", "UPDATE identities SET name = 'Mallory'", None),
    ("identity key", "UPDATE identities SET public_key = replace(public_key, substr(public_key, 1, 1), 'f')", None),
    ("title", "UPDATE works SET title = 'Not yours' WHERE id = ?", "a"),
    ("size", "UPDATE works SET width = width + 1 WHERE id = ?", "a"),
    ("registered", "UPDATE works SET created_at = '2001-01-01T00:00:00Z' WHERE id = ?", "a"),
    ("parents", "UPDATE works SET parents = '[]' WHERE id = ?", "c"),
    ("file hash", "UPDATE works SET file_sha256 = '00' || substr(file_sha256, 3) WHERE id = ?", "a"),
    ("transfer", "UPDATE transfers SET to_key_id = from_key_id", "b"),
]


@pytest.mark.parametrize("what, sql, touched", FORGERIES, ids=[f[0] for f in FORGERIES])
def test_a_forged_row_fails_audit_and_is_never_shown_as_fact(home, studio, what, sql, touched) -> None:
    before = {name: _show(studio[name]) for name in ("a", "b", "c")}
    work = studio.get(touched)
    _edit(home, sql, *([work] if "?" in sql else []))
    code, messages = _audit_messages()
    assert code == 4 and messages, what
    for name, (_, shown_before) in before.items():
        code, shown = _show(studio[name])
        assert {k: shown[k] for k in FACTS} == {k: shown_before[k] for k in FACTS}, (what, name)
        if studio[name] == work:
            assert code == 14 and shown["status"] == "registry-tampered" and shown["registry_problems"], what
        else:
            assert code == 0 and shown["status"] == "valid", (what, name)


def test_swapped_layers_are_refused_as_evidence(home, studio) -> None:
    a, b = studio["a"], studio["b"]
    columns = ("pdq", "box", "box_pdq", "box_quality", "box_ahash", "points", "descriptors", "thumbnail",
               "tile_ahash")
    with sqlite3.connect(home.settings.registry_path) as db:
        rows = {w: db.execute(f"SELECT {', '.join(columns)} FROM match_layers WHERE work_id = ?", [w]).fetchone()
                for w in (a, b)}
        for target, source in ((a, b), (b, a)):
            db.execute(f"UPDATE match_layers SET {', '.join(c + ' = ?' for c in columns)} WHERE work_id = ?",
                       [*rows[source], target])
    code, envelope = run_json("verify", studio["crop"])
    report = envelope["data"]
    assert code == 14 and report["status"] == "registry-tampered"
    assert report["match"] is None or report["match"]["work_id"] == a  # never b, whose row now holds a's layers
    assert any("differ from their signed digest" in p for p in report["registry_problems"])
    code, messages = _audit_messages()
    assert code == 4 and sum("match layers differ from the signed digest" in m for m in messages) == 2


def test_an_exact_lookup_row_is_checked_against_the_signed_hashes(home, studio, art) -> None:
    _edit(home, "UPDATE works SET pixel_sha256 = (SELECT pixel_sha256 FROM works WHERE id = ?) WHERE id = ?",
          studio["a"], studio["c"])
    copy = art(1).with_suffix(".webp")
    Image.open(art(1)).save(copy, lossless=True)  # the same pixels in another file: found by pixel hash
    code, envelope = run_json("verify", copy)
    report = envelope["data"]
    assert report["match"]["work_id"] == studio["a"] and [c["work_id"] for c in report["candidates"]] == [studio["a"]]
    assert code == 14 and any("pixel_sha256" in p for p in report["registry_problems"])


def test_grant_and_transfer_refuse_a_tampered_work(home, studio) -> None:
    _edit(home, "UPDATE works SET owner_key_id = creator_key_id WHERE id = ?", studio["b"])
    result = run("license", "grant", studio["b"], "--to", "X", "--terms", "y")
    assert result.exit_code == 14 and result.stderr.startswith("Error: work ") and "audit" in result.stderr
    with home.registry() as registry:
        assert registry.db["records"].count == 5  # as before the attempt


def test_the_log_answers_to_checkpoints_kept_elsewhere(home, studio, art, tmp_path) -> None:
    early = tmp_path / "early.txt"
    assert run("log", "checkpoint", "--out", early).exit_code == 0
    kept = _snapshot(home)  # the registry as it was at the early checkpoint
    assert run("register", art(7), "--license", "CC0-1.0", "-q").exit_code == 0
    late = tmp_path / "late.txt"
    assert run("log", "checkpoint", "--out", late).exit_code == 0
    assert run("audit", "--against", early, "--against", late).exit_code == 0

    _restore(home, kept)  # the newest leaves cut off, with their records, nodes and checkpoints
    assert run("audit").exit_code == 0  # the log alone cannot tell: nothing in it is inconsistent
    code, messages = _audit_messages_against(late)
    assert code == 4 and any("the log was cut" in m for m in messages), messages
    assert run("audit", "--against", early).exit_code == 0

    assert run("register", art(8), "--license", "CC0-1.0", "-q").exit_code == 0  # a fork: another leaf there
    code, messages = _audit_messages_against(late)
    assert code == 4 and any("rewritten or forked" in m for m in messages), messages

    foreign = tmp_path / "foreign.txt"
    foreign.write_text(late.read_text().replace("— ", "— x"))  # signed under another key's name
    code, messages = _audit_messages_against(foreign)
    assert code == 4 and any("not a checkpoint signed by this log's key" in m for m in messages), messages
    result = run("audit", "--against", tmp_path / "missing.txt")
    assert result.exit_code == 5 and result.stderr.count("\n") == 1


def _audit_messages_against(path: Path) -> tuple[int, list[str]]:
    code, envelope = run_json("audit", "--against", path)
    return code, [p["message"] for p in envelope["data"]["problems"]]


def test_attest_signs_the_layers_an_older_artforge_left_unsigned(home, art, tmp_path, monkeypatch) -> None:
    with monkeypatch.context() as patch:  # registrations as an older artforge signed them: no layers digest
        patch.setattr(artforge.usecases.register, "layers_digest", lambda row: None)
        ids = [run("register", art(s), "--license", "CC0-1.0", "-q").stdout.strip() for s in (1, 2, 3)]
    image = Image.open(art(2))
    crop = tmp_path / "crop.jpg"
    image.crop((0, 0, int(image.width * 0.85), image.height)).save(crop, quality=85)
    code, envelope = run_json("verify", crop)
    assert code == 3 and any("run 'artforge attest'" in n for n in envelope["data"]["notes"])
    audit = run_json("audit")[1]["data"]
    assert audit["ok"] and any("3 work(s) registered before match layers were signed" in n for n in audit["notes"])
    # A legacy row swapped before the owner attests must not be laundered by the attestation.
    with sqlite3.connect(home.settings.registry_path) as db:
        thumbs = dict(db.execute("SELECT work_id, thumbnail FROM match_layers").fetchall())
        db.execute("UPDATE match_layers SET thumbnail = ? WHERE work_id = ?", [thumbs[ids[0]], ids[2]])
    code, attested = run_json("attest")
    data = attested["data"]
    assert code == 14 and len(data["layers_attested"]) == 2 and ids[2] not in data["layers_attested"]
    assert any(r.startswith(ids[2][:12]) and "PDQ" in r for r in data["refused"]), data
    code, envelope = run_json("verify", crop)
    assert code == 0 and envelope["data"]["match"]["work_id"] == ids[1]
    history = run_json("history", ids[1])[1]["data"]["history"]
    assert [h["type"] for h in history] == ["registration", "attestation"]
    assert run("audit").exit_code == 0


def test_key_names_are_signed_by_their_keys(home, studio) -> None:
    shown = _show(studio["b"])[1]
    assert shown["owner"] == {"key_id": shown["owner"]["key_id"], "name": "bob", "name_signed": True}
    assert shown["creator"]["name"] == "default" and shown["creator"]["name_signed"]
    assert _show(studio["b"])[1]["licence"]["signed_by"] == shown["creator"]["key_id"]



def test_a_deployment_is_logged_as_a_signed_event_once(home, monkeypatch) -> None:
    from artforge.chain import events, store

    monkeypatch.setattr(events, "utc_now", lambda: "2026-12-06T00:00:00Z")  # the same event, twice
    deployment = store.Deployment(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "local", "0x" + "11" * 20,
                                  "0x" + "22" * 32, 1, "33" * 32, "2026-12-06T00:00:00Z")
    for _ in range(2):  # a reset dev chain gives the same address and transaction again
        with home.registry() as registry, registry.transaction():
            store.record_deployment(registry, deployment)
    with home.registry() as registry:
        [event] = events.chain_events(registry.db, events.DEPLOYMENT_TYPE)
    assert event["deployment"]["network"] == "local"
    assert run("audit").exit_code == 0
    _edit(home, "UPDATE chain_deployments SET network = 'rpc'")
    code, messages = _audit_messages()
    assert code == 4 and any("differs from its deployment event" in m for m in messages), messages
