"""Signed records: canonical bytes, ids, signatures, chains and their failure modes."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from artforge.errors import InvalidRecord
from artforge.provenance.keys import Signer
from artforge.provenance.records import (
    ProvenanceRecord,
    SignedRecord,
    WorkInfo,
    canonical_bytes,
    check_chain,
    check_signature,
    grant_payload,
    sign_payload,
    transfer_payload,
)


@pytest.fixture
def alice() -> Signer:
    return Signer.from_private_key(Ed25519PrivateKey.generate(), "alice")


@pytest.fixture
def bob() -> Signer:
    return Signer.from_private_key(Ed25519PrivateKey.generate(), "bob")


def registration(signer: Signer, title: str = "Dawn") -> SignedRecord:
    work = WorkInfo(title=title, file_sha256="a" * 64, pixel_sha256="b" * 64, width=4, height=3,
                    fingerprints={"phash64": "0" * 16})
    record = ProvenanceRecord(work=work, licence_id="CC-BY-4.0", licence_terms={"commercial": True})
    return sign_payload(record.payload(), signer)


def test_canonical_bytes_are_rfc8785() -> None:
    assert canonical_bytes({"b": 1, "a": [True, None, "é\n"]}) == '{"a":[true,null,"é\\n"],"b":1}'.encode()


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": 2**60}, {"é": 1}, {"x": b"bytes"}])
def test_values_outside_the_domain_are_refused(bad: dict) -> None:
    with pytest.raises(InvalidRecord):
        canonical_bytes(bad)


def test_signed_registration_verifies_and_round_trips(alice: Signer) -> None:
    record = registration(alice)
    assert check_signature(record) == []
    assert record.payload["signer"]["key_id"] == alice.key_id
    again = SignedRecord.from_json(__import__("json").dumps(record.to_dict()))
    assert again.record_id == record.record_id and check_signature(again) == []


def test_any_change_breaks_the_signature(alice: Signer) -> None:
    record = registration(alice)
    tampered = copy.deepcopy(record.payload)
    tampered["work"]["title"] = "Dusk"
    assert "signature does not verify" in check_signature(SignedRecord(tampered, record.signature))
    forged_signer = copy.deepcopy(record.payload)
    forged_signer["signer"]["key_id"] = "0" * 32
    assert any("key_id" in p for p in check_signature(SignedRecord(forged_signer, record.signature)))


def test_stated_record_id_must_match(alice: Signer) -> None:
    data = registration(alice).to_dict()
    data["record_id"] = "f" * 64
    with pytest.raises(InvalidRecord, match="record_id"):
        SignedRecord.from_dict(data)


def test_chain_of_grant_and_transfer(alice: Signer, bob: Signer) -> None:
    first = registration(alice)
    grant = sign_payload(grant_payload(first.record_id, first.record_id, "Acme", "posters", "2030-01-01"), alice)
    transfer = sign_payload(transfer_payload(first.record_id, grant.record_id, bob.public_key), alice)
    after = sign_payload(grant_payload(first.record_id, transfer.record_id, "Zed", "web", None), bob)
    assert check_chain([first, grant, transfer, after]) == []


def test_chain_failures_are_named(alice: Signer, bob: Signer) -> None:
    first = registration(alice)
    grant = sign_payload(grant_payload(first.record_id, first.record_id, "Acme", "posters", None), alice)
    by_stranger = sign_payload(grant_payload(first.record_id, grant.record_id, "Eve", "all", None), bob)
    assert any("not the owner" in p for p in check_chain([first, grant, by_stranger]))
    assert any("prev does not point" in p for p in check_chain([first, by_stranger, grant]))
    assert "chain does not start with a registration" in check_chain([grant])
    other = registration(alice, "Other")
    wrong_work = sign_payload(grant_payload(other.record_id, first.record_id, "Acme", "x", None), alice)
    assert any("names another work" in p for p in check_chain([first, wrong_work]))


def test_lone_surrogates_are_refused_not_crashed() -> None:
    with pytest.raises(InvalidRecord, match="lone surrogate"):
        canonical_bytes({"title": "bad \ud800"})


def test_malformed_records_are_reported_not_raised(alice: Signer) -> None:
    first = registration(alice)
    broken_signer = SignedRecord({**first.payload, "signer": "x"}, first.signature)
    assert "signer is missing or not an object" in check_signature(broken_signer)
    assert check_chain([broken_signer])  # reported, no exception
    bad_transfer = sign_payload({**transfer_payload(first.record_id, first.record_id, alice.public_key),
                                 "transfer": "nobody"}, alice)
    assert any("recipient is malformed" in p for p in check_chain([first, bad_transfer]))
    upper = SignedRecord(first.payload, first.signature.upper())
    assert any("lower-case hex" in p for p in check_signature(upper))


def test_registration_must_not_have_a_prev(alice: Signer) -> None:
    work = WorkInfo(title="x", file_sha256="a" * 64, pixel_sha256="b" * 64, width=1, height=1, fingerprints={})
    record = ProvenanceRecord(work=work, licence_id="CC0-1.0", licence_terms={}, prev="c" * 64)
    assert "the registration record has a prev" in check_chain([sign_payload(record.payload(), alice)])
