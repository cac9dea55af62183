"""artforge/verify_record.py: the standalone verifier of docs/record-format.md, run against real records.

A real chain (registration, grant, transfer, grant by the new owner) is made once with the library; the
verifier runs as a subprocess, as a third party would run it.  Tampering, chain breaks, records that are
properly signed but break the chain rules, and payloads outside the value domain must all fail.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from artforge.config import Settings
from artforge.errors import InvalidRecord
from artforge.provenance.records import canonical_bytes, grant_payload, sign_payload
from artforge.usecases.home import Home, init_home
from artforge.usecases.licensing import grant_licence, transfer_work
from artforge.usecases.register import register_images
from artforge.usecases.show import export_records

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "artforge" / "verify_record.py"  # run from its file, as a copy of it would be
TITLE = "Café au lait — étude №1"


def _load_script():
    spec = importlib.util.spec_from_file_location("verify_record_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = _load_script()


def _draw(path: Path) -> Path:
    y, x = np.mgrid[0:64, 0:96]
    pixels = np.stack([x * 2, y * 3, (x + y) % 256], axis=-1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 8, 50, 48), fill=(240, 200, 40))
    draw.rectangle((55, 20, 90, 60), fill=(200, 40, 60))
    image.save(path)
    return path


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Registration by 'default', a grant, a transfer to 'bob', a grant by bob; exported once."""
    root = tmp_path_factory.mktemp("verify-example")
    home = Home(settings=Settings(home=root / "home"))
    init_home(home)
    bob = home.keystore.create("bob")
    alice = home.keystore.info("default")
    [work] = register_images(home, [_draw(root / "work.png")], licence_id="CC-BY-NC-4.0", title=TITLE,
                             workers=1)
    grant_licence(home, work.work_id, "Acme Prints Ltd", "posters, up to 500 copies", until="2027-12-31")
    transfer_work(home, work.work_id, "bob")
    grant_licence(home, work.work_id, "Zoë's Gallery", "exhibition only", key_name="bob")
    return SimpleNamespace(home=home, root=root, work_id=work.work_id, alice=alice, bob=bob,
                           records=export_records(home, work.work_id))


def run_verifier(chain: SimpleNamespace, document=None, *args: str, stdin: bytes | None = None,
                 raw: bytes | None = None) -> subprocess.CompletedProcess:
    """Run the script on ``document`` (written to a file as UTF-8 JSON) or on ``raw`` bytes."""
    env = {**os.environ, "ARTFORGE_HOME": str(chain.root / "home")}
    if stdin is not None:
        target = "-"
    else:
        path = chain.root / f"input-{os.urandom(4).hex()}.json"
        path.write_bytes(raw if raw is not None else json.dumps(document, ensure_ascii=False).encode())
        target = str(path)
    return subprocess.run([sys.executable, str(SCRIPT), target, *args], input=stdin, capture_output=True,
                          env=env, timeout=600)


def lines(result: subprocess.CompletedProcess) -> list[str]:
    return result.stdout.decode().splitlines()


def assert_fails(result: subprocess.CompletedProcess, index: int, reason: str) -> None:
    assert result.returncode == 1, result.stdout.decode() + result.stderr.decode()
    failing = [line for line in lines(result) if line.startswith(f"FAIL record {index} ")]
    assert failing, lines(result)
    assert reason in failing[0], failing[0]


def signed_by(payload: dict, private_key: Ed25519PrivateKey) -> dict:
    """A record signed outside artforge (json.dumps bytes), so that out-of-domain payloads can be made."""
    public = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    payload = {**payload, "signer": {"key_id": hashlib.sha256(public).digest()[:16].hex(),
                                     "public_key": public.hex()}}
    message = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {"record_id": hashlib.sha256(message).hexdigest(), "payload": payload,
            "signature": private_key.sign(message).hex()}


# --- Genuine records verify ------------------------------------------------------------------------------


def test_exported_chain_verifies(chain):
    assert [r["payload"]["type"] for r in chain.records] == ["registration", "grant", "transfer", "grant"]
    result = run_verifier(chain, chain.records)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    out = lines(result)
    assert len(out) == 4 and all(line.startswith("OK ") for line in out)
    assert chain.work_id in out[0] and chain.alice.key_id in out[0] and chain.bob.key_id in out[3]


def test_ids_match_artforge(chain):
    for record in chain.records:
        canonical = verifier.canonical_bytes(record["payload"])
        assert canonical == canonical_bytes(record["payload"])
        assert verifier.record_id_of(canonical) == record["record_id"]
    assert chain.records[0]["record_id"] == chain.work_id


def test_history_envelope_on_stdin(chain):
    env = {**os.environ, "ARTFORGE_HOME": str(chain.root / "home")}
    history = subprocess.run([sys.executable, "-m", "artforge", "history", chain.work_id, "--json"],
                             capture_output=True, env=env, timeout=600)
    assert history.returncode == 0, history.stderr.decode()
    assert json.loads(history.stdout)["data"]["records"] == chain.records
    result = run_verifier(chain, None, "--public-key", chain.alice.public_key, stdin=history.stdout)
    assert result.returncode == 0, result.stdout.decode()
    assert len(lines(result)) == 4


def test_single_record_verifies_alone(chain):
    result = run_verifier(chain, chain.records[3])
    assert result.returncode == 0, result.stdout.decode()
    assert lines(result) == [f"OK   record 0 grant {chain.records[3]['record_id']} signed by {chain.bob.key_id}"]


def test_public_key_must_sign_the_registration(chain):
    assert run_verifier(chain, chain.records, "--public-key", chain.alice.public_key.upper()).returncode == 0
    wrong = run_verifier(chain, chain.records, "--public-key", chain.bob.public_key)
    assert_fails(wrong, 0, "not signed by the --public-key")
    grant_only = run_verifier(chain, chain.records[1], "--public-key", chain.alice.public_key)
    assert_fails(grant_only, 0, "no registration record")


def test_worked_example_in_the_spec_verifies():
    text = (ROOT / "docs" / "record-format.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    records = next(json.loads(block) for block in blocks if block.lstrip().startswith("[\n  {\n    \"record_id\""))
    checked = [verifier.check_record(index, record) for index, record in enumerate(records)]
    verifier.check_chain(checked)
    public_key = records[0]["payload"]["signer"]["public_key"]
    verifier.check_public_key(checked, public_key)
    assert [c.problems for c in checked] == [[]] * len(records)
    assert [r["payload"]["type"] for r in records] == ["registration", "grant", "transfer"]
    # The canonical bytes printed for the grant are the ones its id and signature are over.
    assert canonical_bytes(records[1]["payload"]).decode() in text
    assert records[0]["record_id"] in text and public_key in text


# --- Tampering -------------------------------------------------------------------------------------------


def _flip_last_char(text: str) -> str:
    return text[:-1] + chr(ord(text[-1]) ^ 1)


def _set(records, index, path, change):
    target = records[index]["payload"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = change(target[path[-1]])


def tamper_title(records):
    _set(records, 0, ("work", "title"), _flip_last_char)
    return 0, "record_id does not match"


def tamper_licence_unstated_id(records):
    _set(records, 0, ("licence", "id"), lambda _: "CC-BY-4.0")
    del records[0]["record_id"]  # no stated id to compare: the signature alone must catch it
    return 0, "signature does not verify"


def tamper_fingerprint(records):
    _set(records, 0, ("work", "fingerprints", "pdq"), _flip_last_char)
    return 0, "signature does not verify"


def tamper_grant_terms(records):
    _set(records, 1, ("grant", "terms"), lambda t: t.replace("500", "900"))
    return 1, "signature does not verify"


def tamper_swap_signatures(records):
    records[1]["signature"], records[3]["signature"] = records[3]["signature"], records[1]["signature"]
    return 1, "signature does not verify"


def tamper_reorder(records):
    records[1], records[2] = records[2], records[1]
    return 1, "prev does not point at record 0"


def tamper_prev(records):
    _set(records, 2, ("prev",), lambda _: records[0]["record_id"])
    return 2, "prev does not point at record 1"


def tamper_drop_record(records):
    del records[1]
    return 1, "prev does not point at record 0"


def tamper_transfer_recipient(records):
    _set(records, 2, ("transfer", "to", "key_id"), _flip_last_char)
    return 2, "key_id does not match its public key"


def tamper_signer(records):
    _set(records, 1, ("signer", "key_id"), _flip_last_char)
    return 1, "signer.key_id does not match its public key"


@pytest.mark.parametrize("tamper", [
    tamper_title, tamper_licence_unstated_id, tamper_fingerprint, tamper_grant_terms, tamper_swap_signatures,
    tamper_reorder, tamper_prev, tamper_drop_record, tamper_transfer_recipient, tamper_signer,
], ids=lambda f: f.__name__.removeprefix("tamper_"))
def test_tampering_fails(chain, tamper):
    records = copy.deepcopy(chain.records)
    index, reason = tamper(records)
    assert_fails(run_verifier(chain, records), index, reason)


# --- Properly signed records that break the chain rules ------------------------------------------------


def test_grant_by_non_owner_fails(chain):
    records = copy.deepcopy(chain.records)
    # Bob signs a grant before he owns the work (validly signed, but not by the owner of the day).
    early = sign_payload(grant_payload(chain.work_id, records[1]["record_id"], "Mallory", "everything", None),
                         chain.home.signer("bob")).to_dict()
    result = run_verifier(chain, records[:2] + [early])
    assert_fails(result, 2, "not by the owner")
    assert "signature" not in lines(result)[2]
    # After the transfer, the former owner may no longer sign.
    late = sign_payload(grant_payload(chain.work_id, records[3]["record_id"], "Mallory", "everything", None),
                        chain.home.signer("default")).to_dict()
    assert_fails(run_verifier(chain, records + [late]), 4, "not by the owner")


def test_signed_record_with_wrong_links_fails(chain):
    records = copy.deepcopy(chain.records)
    owner = chain.home.signer("bob")
    wrong_prev = sign_payload(grant_payload(chain.work_id, records[1]["record_id"], "X", "y", None), owner)
    assert_fails(run_verifier(chain, records + [wrong_prev.to_dict()]), 4, "prev does not point at record 3")
    other_work = sign_payload(grant_payload("ab" * 32, records[3]["record_id"], "X", "y", None), owner)
    assert_fails(run_verifier(chain, records + [other_work.to_dict()]), 4, "work_id does not name the work")
    # Without --chain a lone well-signed record is fine; with it, a chain must start with a registration.
    assert run_verifier(chain, other_work.to_dict()).returncode == 0
    assert_fails(run_verifier(chain, other_work.to_dict(), "--chain"), 0, "does not start with a registration")


# --- The value domain ------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, reason", [
    (lambda p: p["work"].__setitem__("width", 96.0), "floats are not allowed"),
    (lambda p: p["work"]["fingerprints"].__setitem__("score", 0.5), "floats are not allowed"),
    (lambda p: p["work"].__setitem__("height", 2**53), "integer outside"),
    (lambda p: p["work"].__setitem__("height", -(10**30)), "integer outside"),
    (lambda p: p["origin"].__setitem__("modèle", "x"), "not ASCII"),
], ids=["float", "nested-float", "big-int", "huge-negative-int", "non-ascii-key"])
def test_out_of_domain_payloads_are_refused(chain, change, reason):
    payload = copy.deepcopy(chain.records[0]["payload"])
    change(payload)
    record = signed_by(payload, Ed25519PrivateKey.generate())  # a valid signature over json.dumps bytes
    result = run_verifier(chain, record)
    assert_fails(result, 0, "outside the record value domain")
    assert reason in lines(result)[0]
    with pytest.raises(InvalidRecord):
        canonical_bytes(payload)


@pytest.mark.parametrize("replacement, reason", [
    ('"title": "A", "title": "B"', "duplicate key 'title'"),
    ('"title": "\\ud800"', "unpaired surrogate"),
    ('"title": NaN', "floats are not allowed"),
    ('"title": 1e3', "floats are not allowed"),
    ('"title": 123456789012345678901234567890', "integer outside"),
], ids=["duplicate-key", "lone-surrogate", "nan", "exponent", "long-integer"])
def test_out_of_domain_json_text_is_refused(chain, replacement, reason):
    text = json.dumps(chain.records[0], ensure_ascii=False)
    title = f'"title": {json.dumps(TITLE, ensure_ascii=False)}'
    assert title in text
    result = run_verifier(chain, raw=text.replace(title, replacement).encode())
    assert_fails(result, 0, reason)


@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe[]", b"[]", b'{"artforge": 1, "data": null}',
                                 b'"a string"'],
                         ids=["empty", "not-json", "not-utf8", "no-records", "envelope-without-records",
                              "string"])
def test_unreadable_input_exits_2(chain, raw):
    result = run_verifier(chain, raw=raw)
    assert result.returncode == 2, result.stdout.decode() + result.stderr.decode()
    assert result.stderr.decode().startswith("error:")


def test_script_needs_only_stdlib_and_cryptography():
    tree = ast.parse(SCRIPT.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


# --- RFC 8785 equals sorted, compact json.dumps on the restricted domain -----------------------------------

SAFE = 2**53 - 1
_text = st.text(st.one_of(
    st.characters(max_codepoint=0x1F),  # control characters
    st.sampled_from('"\\/\x7f\u2028\u2029\ufeff\U0001f600é€'),
    st.characters(exclude_categories=("Cs",)),  # any code point but unpaired surrogates
))
_keys = st.text(st.characters(max_codepoint=0x7F))
_scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | _text
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, database=None)
@given(json_values)
@example({"\x00": "\x00\x1f\x7f", "b": [SAFE, -SAFE, 0, True, None], "A": {"": "é\u2028😀"}})
def test_rfc8785_equals_sorted_compact_json_dumps(value):
    expected = rfc8785.dumps(value)
    assert json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == expected
    assert verifier.canonical_bytes(value) == expected
