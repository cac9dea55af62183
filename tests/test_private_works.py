"""Private works: title, licence and thumbnail sealed, still found, opened only by their readers; both backends."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from cli_helpers import create_keys, run, run_json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from service_helpers import GUARD, jpeg_bytes

from artforge.errors import SealError
from artforge.provenance import sealing
from artforge.provenance.keys import Signer
from artforge.provenance.records import PRIVATE_LICENCE_ID, check_chain, sign_payload
from artforge.registry import claims, licence_catalogue
from artforge.registry.database import Registry
from artforge.usecases.home import Home
from artforge.usecases.private_works import Keyring
from artforge.usecases.show import work_details

REGISTRY_BACKENDS = ("sqlite", "postgresql")  # every test with a home runs on both (conftest.py)
TITLE = "Moonlit Harbour, study 3"


def _register_private(image, key: str = "default", *extra: str) -> str:
    result = run("register", image, "--license", "CC-BY-NC-4.0", "--title", TITLE, "--private", "--key", key,
                 "-q", *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def _crop(art_path, tmp_path, name: str = "disputed.jpg"):
    path = tmp_path / name
    path.write_bytes(jpeg_bytes(art_path, crop=14))
    return path


def _forget(home: Home, name: str) -> None:
    """This home no longer holds the private key ``name`` (as on another person's machine)."""
    (home.settings.home / "keys" / f"{name}.key").unlink()


def test_seals_open_only_for_their_reader_and_context() -> None:
    alice, mallory = (Signer.from_private_key(Ed25519PrivateKey.generate()) for _ in range(2))
    data_key, context = sealing.new_data_key(), sealing.part_context("ab" * 32, "details")
    wrapped = sealing.wrap_data_key(data_key, alice.key_id, alice.public_key, context)
    assert sealing.unwrap_data_key(wrapped, alice.open_wrapped, context) == data_key  # X25519 from Ed25519 agrees
    with pytest.raises(SealError):
        sealing.unwrap_data_key(wrapped, mallory.open_wrapped, context)
    with pytest.raises(SealError):  # another work's (or part's) context
        sealing.unwrap_data_key(wrapped, alice.open_wrapped, sealing.part_context("cd" * 32, "details"))
    sealed = sealing.seal_part(data_key, b"title and licence", context)
    assert sealing.is_sealed(sealed) and sealing.open_part(data_key, sealed, context) == b"title and licence"
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealError):
        sealing.open_part(data_key, flipped, context)
    with pytest.raises(SealError):
        sealing.open_part(data_key, sealed, sealing.part_context("ab" * 32, "thumbnail"))
    assert licence_catalogue.PRIVATE_LICENCE_ID == PRIVATE_LICENCE_ID  # the two spellings of one id


def test_a_private_registration_must_keep_its_public_face_restrictive(home, art) -> None:
    work_id = _register_private(art(12))
    code, history = run_json("history", work_id)
    payload = history["data"]["records"][0]["payload"]
    signer = home.signer()
    assert not check_chain([sign_payload({k: v for k, v in payload.items() if k != "signer"}, signer)])
    for name, change, problem in (
            ("licence", {"id": "CC0-1.0", "terms": payload["licence"]["terms"]}, "public licence must be"),
            ("schema", "artforge.record/1", "needs schema"),
            ("private", {**payload["private"], "readers": {"details": [{"key_id": "00", "wrapped": "zz"}]}},
             "wrapped keys are malformed")):
        forged = sign_payload({**{k: v for k, v in payload.items() if k != "signer"}, name: change}, signer)
        assert any(problem in p for p in check_chain([forged])), (name, check_chain([forged]))


def test_a_private_work_is_sealed_yet_found_and_only_its_readers_open_it(home, art, tmp_path, registry_backend) -> None:
    create_keys("alice")
    work_id = _register_private(art(5), "alice")
    code, history = run_json("history", work_id)
    registration = history["data"]["records"][0]["payload"]
    assert code == 0 and registration["work"]["title"] == "" and registration["licence"]["id"] == PRIVATE_LICENCE_ID
    assert set(registration["private"]) == {"scheme", "details_sha256", "readers"}
    assert TITLE not in json.dumps(history) and "CC-BY-NC-4.0" not in json.dumps(history)
    if registry_backend == "sqlite":  # at rest: the title is nowhere in the file (nor in its WAL)
        for stored in home.settings.home.glob("registry.db*"):
            assert TITLE.encode() not in stored.read_bytes()

    code, shown = run_json("show", work_id)  # alice's key is in this home
    assert code == 0 and shown["data"]["private"] and shown["data"]["sealed"]["title"] == TITLE
    assert shown["data"]["sealed"]["licence"] == "CC-BY-NC-4.0" and shown["data"]["licence"]["id"] == PRIVATE_LICENCE_ID
    disputed = _crop(art(5), tmp_path)
    code, found = run_json("verify", disputed)
    assert code == 0 and found["data"]["verdict"] == "modified-copy" and found["data"]["match"]["work_id"] == work_id
    assert any("matches a private registered work" in note and found["data"]["work"]["owner"]["key_id"] in note
               for note in found["data"]["notes"])
    assert run_json("audit")[1]["data"]["ok"]
    page = tmp_path / "report.html"  # the HTML report draws the opened thumbnail beside the disputed copy
    assert run("verify", disputed, "--report", page).exit_code == 0
    assert f"{TITLE} (sealed)" in page.read_text() and "data:image/png;base64" in page.read_text()

    _forget(home, "alice")  # a home without alice's key: the record's facts, nothing sealed
    code, shown = run_json("show", work_id)
    assert code == 0 and shown["data"]["private"] and "sealed" not in shown["data"] and TITLE not in json.dumps(shown)
    assert "(private work)" in run("show", work_id).stdout
    code, found = run_json("verify", disputed)
    assert code == 3 and found["data"]["verdict"] == "no-match"
    assert any("private work(s) were proposed but not compared" in note for note in found["data"]["notes"])


def test_verifiers_get_the_thumbnail_and_shares_and_transfers_are_signed_claims(home, art, tmp_path) -> None:
    ids = create_keys("alice", "bob", "carol", "dave")
    assert run("role", "set", "default", "admin").exit_code == 0
    assert run("role", "set", "alice", "owner").exit_code == 0
    assert run("role", "set", "bob", "verifier").exit_code == 0
    work_id = _register_private(art(6), "alice")
    readers = run_json("history", work_id)[1]["data"]["records"][0]["payload"]["private"]["readers"]
    assert {e["key_id"] for e in readers["details"]} == {ids["alice"], home.signer().key_id}  # owner and admin
    assert {e["key_id"] for e in readers["thumbnail"]} == {ids["alice"], home.signer().key_id, ids["bob"]}

    refused = run("share", work_id, "--to", "carol", "--key", "bob")  # a verifier shares nothing
    assert refused.exit_code == 9
    assert run("share", work_id, "--to", "carol", "--key", "alice").exit_code == 0
    assert run("transfer", work_id, "--to", "dave", "--key", "alice").exit_code == 0
    with home.registry() as registry:
        shares = claims.key_shares(registry.db, work_id)  # each one signed, logged, checked by audit
    assert sorted(c.payload["key-share"]["key_id"] for c in shares) == sorted(
        [ids["carol"], ids["carol"], ids["dave"], ids["dave"]])
    assert run_json("audit")[1]["data"]["ok"]

    for name in ("default", "alice", "carol", "dave"):  # now only bob's key is here: the verify service's
        _forget(home, name)
    code, found = run_json("verify", _crop(art(6), tmp_path))
    assert code == 0 and found["data"]["verdict"] == "modified-copy" and found["data"]["match"]["work_id"] == work_id
    assert "sealed" not in found["data"]["work"] and TITLE not in json.dumps(found)  # bob may compare, not read


def test_a_registry_copy_keeps_private_works_sealed_and_openable(home, art, tmp_path) -> None:
    work_id = _register_private(art(13))
    create_keys("carol")
    assert run("share", work_id, "--to", "carol").exit_code == 0
    target = tmp_path / "copy.db"  # from this backend's registry into an SQLite file
    code, copied = run_json("registry", "copy", home.settings.registry_location, target)
    assert code == 0 and copied["data"]["ok"] and copied["data"]["rows"]["sealed_works"] == 1, copied
    with Registry.open(target) as registry:
        details = work_details(registry, work_id, Keyring(home))
    assert details.status == "valid" and details.sealed is not None and details.sealed.title == TITLE


def test_changed_sealed_details_are_caught_and_never_shown(home, art) -> None:
    work_id = _register_private(art(7))
    with home.registry() as registry, registry.transaction():
        registry.db.execute("UPDATE sealed_works SET details = ? WHERE work_id = ?", [b"AFSEAL1\n" + b"\0" * 40, work_id])
    code, shown = run_json("show", work_id)
    assert code == 14 and shown["data"]["status"] == "registry-tampered" and "sealed" not in shown["data"]
    audit = run("audit")
    assert audit.exit_code != 0 and "the sealed details differ from what the registration commits to" in audit.stdout


def test_bad_private_requests_are_one_line_and_change_nothing(home, art, tmp_path) -> None:
    cases = [
        (["register", art(8), "--license", PRIVATE_LICENCE_ID], "register it privately"),
        (["register", art(8), "--license", "CC0-1.0", "--reader", "default"], "private works only"),
        (["register", art(8), "--license", "CC0-1.0", "--private", "--watermark", "--out", tmp_path / "m"],
         "--private goes without"),
        (["register", art(8), "--license", "CC0-1.0", "--private", "--reader", "no-such-key"], "public key"),
    ]
    for args, reason in cases:
        result = run(*args)
        assert result.exit_code != 0 and result.stderr.count("\n") == 1 and reason in result.stderr, result.stderr
    public = run("register", art(9), "--license", "CC0-1.0", "-q").stdout.strip()
    refused = run("share", public, "--to", "default")
    assert refused.exit_code == 2 and "not a private work" in refused.stderr
    assert run_json("list")[1]["data"] and len(run_json("list")[1]["data"]) == 1  # only the public work


@pytest.mark.sqlite_only
def test_the_standalone_verifier_accepts_a_private_record(home, art, tmp_path) -> None:
    work_id = _register_private(art(10))
    records = tmp_path / "records.json"
    records.write_text(run("history", work_id, "--json").stdout)
    checked = subprocess.run([sys.executable, "-m", "artforge.verify_record", str(records)], capture_output=True,
                             text=True, timeout=GUARD)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_the_service_compares_private_works_but_never_shows_their_sealed_details(home, art, server) -> None:
    work_id = _register_private(art(11))
    shown = httpx.get(f"{server}/works/{work_id}", timeout=GUARD).json()
    assert shown["data"]["private"] and "sealed" not in shown["data"] and TITLE not in json.dumps(shown)
    answer = httpx.post(server + "/verify", content=jpeg_bytes(art(11), crop=10), timeout=GUARD).json()
    assert answer["data"]["verdict"] == "modified-copy" and answer["data"]["match"]["work_id"] == work_id
    assert TITLE not in json.dumps(answer) and "CC-BY-NC-4.0" not in json.dumps(answer)
