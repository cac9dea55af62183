"""Signed provenance records: canonical bytes, Ed25519 signatures, content-addressed ids.

Every fact artforge asserts about a work is a record: the *registration* (a :class:`ProvenanceRecord`),
each licence *grant* and each copyright *transfer*.  A record's payload is a JSON object; its canonical
bytes are the RFC 8785 (JCS) serialisation; its id is the SHA-256 of those bytes; the signature is
Ed25519 over those bytes by the key named in ``signer``.  Records of one work form a hash chain through
``prev``.  The format is specified in ``docs/record-format.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import rfc8785

from artforge.errors import InvalidRecord
from artforge.provenance.keys import Signer, key_id_for, verify_signature
from artforge.provenance.sealing import SEAL_SCHEME as PRIVATE_SCHEME
from artforge.provenance.sealing import readers_well_formed

RECORD_SCHEMA = "artforge.record/1"
RECORD_SCHEMA_V2 = "artforge.record/2"  # version 1 and three new types (docs/record-format.md section 9)
RECORD_TYPES = ("registration", "grant", "transfer", "attestation")  # the records of a work's chain
CLAIM_TYPES = ("identity", "licence", "role", "api-token", "key-share")  # signed records outside any work's chain
# The types each schema version may carry: a version-1 verifier rejects the new types rather than guess.
SCHEMA_TYPES = {RECORD_SCHEMA: ("registration", "grant", "transfer"), RECORD_SCHEMA_V2: RECORD_TYPES + CLAIM_TYPES}
MAX_SAFE_INTEGER = 2**53 - 1
PRIVATE_LICENCE_ID = "LicenseRef-Private"  # the registry's placeholder licence of a private work
LOWER_HEX = re.compile(r"[0-9a-f]+")


def utc_now() -> str:
    """Current UTC time, ISO 8601 with a ``Z`` and whole seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _check_value(value: Any, where: str) -> None:
    # Restrict payloads to a float-free JSON subset: then RFC 8785 output equals Python's
    # json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), which lets a verifier with
    # only the standard library rebuild the bytes (see artforge/verify_record.py).
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRecord(f"{where}: string is not valid Unicode (lone surrogate)") from None
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidRecord(f"{where}: integer outside the IEEE-754 safe range")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise InvalidRecord(f"{where}: object keys must be ASCII strings")
            # A key may hold any ASCII, newlines and escapes included: quoted, the message stays one line.
            _check_value(item, f"{where}.{key}" if key.isidentifier() else f"{where}[{key!r}]")
        return
    raise InvalidRecord(f"{where}: {type(value).__name__} values are not allowed in records")


def canonical_bytes(payload: dict) -> bytes:
    """RFC 8785 canonical JSON of a record payload (floats and non-ASCII keys refused)."""
    try:
        _check_value(payload, "payload")
        return rfc8785.dumps(payload)
    except RecursionError:  # nested past Python's recursion limit (no real record is)
        raise InvalidRecord("payload is nested too deeply") from None


def record_id_of(payload: dict) -> str:
    """A record's id: hex SHA-256 of its canonical bytes."""
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()


@dataclass(frozen=True)
class SignedRecord:
    """A payload and its signature; the id and bytes are derived, never stored separately."""

    payload: dict
    signature: str  # hex, 64 bytes

    # Cached: canonicalisation is pure Python and a record is read many times while it is stored.
    # (cached_property writes to the instance __dict__, which a frozen dataclass allows.)
    @cached_property
    def canonical(self) -> bytes:
        return canonical_bytes(self.payload)

    @cached_property
    def record_id(self) -> str:
        return hashlib.sha256(self.canonical).hexdigest()

    @property
    def record_type(self) -> str:
        return self.payload.get("type", "")

    @property
    def signer_key_id(self) -> str:
        signer = self.payload.get("signer")
        return str(signer.get("key_id", "")) if isinstance(signer, dict) else ""

    @property
    def prev(self) -> str | None:
        return self.payload.get("prev")

    def to_dict(self) -> dict:
        """The portable form: ``{"record_id", "payload", "signature"}``."""
        return {"record_id": self.record_id, "payload": self.payload, "signature": self.signature}

    @classmethod
    def from_dict(cls, data: dict) -> "SignedRecord":
        """Parse the portable form; the stated ``record_id``, if any, must match the payload."""
        # Only a JSON object is a payload (dict() would also accept a list of pairs: another spelling of the
        # same signed bytes), and only a string is a signature.
        payload = data.get("payload") if isinstance(data, dict) else None
        signature = data.get("signature") if isinstance(data, dict) else None
        if not isinstance(payload, dict) or not isinstance(signature, str):
            raise InvalidRecord("a record needs 'payload' (object) and 'signature' (hex)")
        record = cls(payload=dict(payload), signature=signature)
        stated = data.get("record_id")
        if stated is not None and stated != record.record_id:
            raise InvalidRecord("record_id does not match the payload")
        return record

    @classmethod
    def from_json(cls, text: str) -> "SignedRecord":
        """Parse a record's JSON text, refusing duplicate keys (docs/record-format.md section 6)."""
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise InvalidRecord(f"record is not JSON ({exc.msg})") from None
        except ValueError as exc:  # an integer literal past Python's digit limit, or a duplicate key
            raise InvalidRecord(f"record is not usable JSON ({str(exc).splitlines()[0]})") from None
        except RecursionError:
            raise InvalidRecord("record is nested too deeply") from None
        return cls.from_dict(data)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    # json.loads keeps the last of two equal keys; a verifier must not guess which one was signed.
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def sign_payload(payload: dict, signer: Signer) -> SignedRecord:
    """Stamp the signer into the payload and sign its canonical bytes."""
    stamped = dict(payload)
    stamped["signer"] = {"key_id": signer.key_id, "public_key": signer.public_key.hex()}
    signature = signer.sign(canonical_bytes(stamped))
    return SignedRecord(payload=stamped, signature=signature.hex())


def check_signature(record: SignedRecord, types: tuple[str, ...] = RECORD_TYPES) -> list[str]:
    """Problems with a record's own integrity (schema, type among ``types``, key id, signature); empty when
    it verifies."""
    payload = record.payload
    problems = []
    schema = payload.get("schema")
    known = isinstance(schema, str) and schema in SCHEMA_TYPES  # a payload's schema may be any JSON value
    if not known:
        problems.append(f"unknown schema {schema!r}")
    if payload.get("type") not in types:
        problems.append(f"unknown record type {payload.get('type')!r}")
    elif known and payload.get("type") not in SCHEMA_TYPES[schema]:
        problems.append(f"a {payload.get('type')} record needs schema {RECORD_SCHEMA_V2}")
    signer = payload.get("signer")
    if not isinstance(signer, dict):
        return problems + ["signer is missing or not an object"]
    public_hex, signature_hex = signer.get("public_key"), record.signature
    # One spelling only: lower-case hex of the exact length, so a record has exactly one valid form.
    if not (isinstance(public_hex, str) and LOWER_HEX.fullmatch(public_hex) and len(public_hex) == 64):
        return problems + ["signer public key is not 64 lower-case hex characters"]
    if not (isinstance(signature_hex, str) and LOWER_HEX.fullmatch(signature_hex) and len(signature_hex) == 128):
        return problems + ["signature is not 128 lower-case hex characters"]
    public_key, signature = bytes.fromhex(public_hex), bytes.fromhex(signature_hex)
    if signer.get("key_id") != key_id_for(public_key):
        problems.append("signer key_id does not match its public key")
    try:
        message = record.canonical
    except InvalidRecord as exc:
        return problems + [str(exc)]
    if not verify_signature(public_key, signature, message):
        problems.append("signature does not verify")
    return problems


@dataclass(frozen=True)
class WorkInfo:
    """The work a registration record is about."""

    title: str
    file_sha256: str
    pixel_sha256: str
    width: int
    height: int
    fingerprints: dict
    match_layers: dict | None = None  # {"version", "sha256"} of the matcher's layers (layers_digest)
    watermark: dict | None = None  # {"scheme", "id"} of the invisible mark these pixels carry (matching/watermark.py)

    def to_dict(self) -> dict:
        info = {
            "title": self.title,
            "file_sha256": self.file_sha256,
            "pixel_sha256": self.pixel_sha256,
            "width": self.width,
            "height": self.height,
            "fingerprints": self.fingerprints,
        }
        if self.match_layers is not None:
            info["match_layers"] = self.match_layers
        if self.watermark is not None:
            info["watermark"] = self.watermark
        return info


@dataclass(frozen=True)
class ProvenanceRecord:
    """The registration of a work: who made it, when, how, under which licence."""

    work: WorkInfo
    licence_id: str
    licence_terms: dict
    origin: dict = field(default_factory=lambda: {"type": "registered"})
    parents: tuple[str, ...] = ()
    created_at: str = field(default_factory=utc_now)
    prev: str | None = None
    # A private work: {"scheme", "details_sha256", "readers"}: the commitment to its sealed title and licence and
    # its data keys wrapped for each reader (provenance/sealing.py); the record's own title is then empty and its
    # licence the private placeholder.
    private: dict | None = None

    def payload(self) -> dict:
        """The unsigned payload (the signer is stamped in by :func:`sign_payload`)."""
        payload = {
            "schema": RECORD_SCHEMA if self.private is None else RECORD_SCHEMA_V2,
            "type": "registration",
            "created_at": self.created_at,
            "work": self.work.to_dict(),
            "origin": self.origin,
            "parents": list(self.parents),
            "licence": {"id": self.licence_id, "terms": self.licence_terms},
            "prev": self.prev,
        }
        if self.private is not None:
            payload["private"] = self.private
        return payload


def private_commitment(payload: dict) -> dict | None:
    """A registration's ``private`` member (``{"scheme", "details_sha256", "readers"}``), or None for a public work."""
    found = payload.get("private")
    return found if isinstance(found, dict) else None


def private_problems(payload: dict) -> list[str]:
    """What is wrong with a registration's ``private`` member (docs/record-format.md section 2.2)."""
    if "private" not in payload:
        return []
    private = payload["private"]
    if payload.get("schema") != RECORD_SCHEMA_V2:
        return [f"a private registration needs schema {RECORD_SCHEMA_V2}"]
    if not (isinstance(private, dict) and set(private) == {"scheme", "details_sha256", "readers"}
            and private["scheme"] == PRIVATE_SCHEME and isinstance(private["details_sha256"], str)
            and len(private["details_sha256"]) == 64 and LOWER_HEX.fullmatch(private["details_sha256"])):
        return ["the private member is malformed"]
    if not readers_well_formed(private["readers"]):
        return ["the private member's wrapped keys are malformed"]
    licence = payload.get("licence")
    if not isinstance(licence, dict) or licence.get("id") != PRIVATE_LICENCE_ID:
        return [f"a private registration's public licence must be {PRIVATE_LICENCE_ID}"]
    return []


def grant_payload(work_id: str, prev: str, grantee: str, terms: str, until: str | None) -> dict:
    """Unsigned payload of a licence grant to ``grantee`` (free text) until a date (or open-ended)."""
    return {
        "schema": RECORD_SCHEMA,
        "type": "grant",
        "created_at": utc_now(),
        "work_id": work_id,
        "prev": prev,
        "grant": {"to": grantee, "terms": terms, "until": until},
    }


def transfer_payload(work_id: str, prev: str, to_public_key: bytes) -> dict:
    """Unsigned payload of a copyright transfer to the holder of ``to_public_key``."""
    return {
        "schema": RECORD_SCHEMA,
        "type": "transfer",
        "created_at": utc_now(),
        "work_id": work_id,
        "prev": prev,
        "transfer": {"to": {"key_id": key_id_for(to_public_key), "public_key": to_public_key.hex()}},
    }


def attestation_payload(work_id: str, prev: str, match_layers: dict) -> dict:
    """Unsigned payload of the owner's attestation of a work's match layers (``{"version", "sha256"}``), for
    works registered before the registration record carried their digest."""
    return {
        "schema": RECORD_SCHEMA_V2,
        "type": "attestation",
        "created_at": utc_now(),
        "work_id": work_id,
        "prev": prev,
        "match_layers": match_layers,
    }


def is_layers_digest(value: Any) -> bool:
    """``{"version": int, "sha256": 64 lower-case hex}``, as registrations and attestations sign it."""
    return (isinstance(value, dict) and set(value) == {"version", "sha256"} and isinstance(value["version"], int)
            and isinstance(value["sha256"], str) and len(value["sha256"]) == 64
            and LOWER_HEX.fullmatch(value["sha256"]) is not None)


def signed_layers_digest(records: list[SignedRecord]) -> dict | None:
    """The newest ``{"version", "sha256"}`` of a work's match layers that its chain signs, or None."""
    found = None
    for record in records:
        if record.record_type == "registration":
            work = record.payload.get("work")
            found = work.get("match_layers") if isinstance(work, dict) else None
        elif record.record_type == "attestation":
            found = record.payload.get("match_layers")
    return found if isinstance(found, dict) else None


def check_chain(records: list[SignedRecord]) -> list[str]:
    """Problems with one work's record chain, in order: signatures, links, and who may sign.

    The first record must be the registration; every later record must point at its predecessor with
    ``prev``, name the work, and be signed by the owner at that point (the creator, until a transfer).
    """
    problems: list[str] = []
    if not records:
        return ["no records"]
    first = records[0]
    if first.record_type != "registration":
        problems.append("chain does not start with a registration")
    elif first.prev is not None:
        problems.append("the registration record has a prev")
    problems += [f"record 0 ({first.record_id[:12]}): {p}" for p in private_problems(first.payload)]
    work_id = first.record_id
    owner = first.signer_key_id
    previous_id = first.record_id
    for index, record in enumerate(records):
        short = record.record_id[:12]
        for problem in check_signature(record):
            problems.append(f"record {index} ({short}): {problem}")
        if index == 0:
            continue
        if record.prev != previous_id:
            problems.append(f"record {index} ({short}): prev does not point at record {index - 1}")
        if record.payload.get("work_id") != work_id:
            problems.append(f"record {index} ({short}): names another work")
        if record.signer_key_id != owner:
            problems.append(f"record {index} ({short}): signed by {record.signer_key_id[:12]}, not the owner")
        if record.record_type == "registration":
            problems.append(f"record {index} ({short}): a second registration in one chain")
        if record.record_type == "attestation" and not is_layers_digest(record.payload.get("match_layers")):
            problems.append(f"record {index} ({short}): the attestation holds no valid match-layers digest")
        if record.record_type == "transfer":
            transfer = record.payload.get("transfer")
            recipient = transfer.get("to") if isinstance(transfer, dict) else None
            public_hex = recipient.get("public_key") if isinstance(recipient, dict) else None
            if not (isinstance(public_hex, str) and LOWER_HEX.fullmatch(public_hex) and len(public_hex) == 64):
                problems.append(f"record {index} ({short}): transfer recipient is malformed")
                owner = ""
            else:
                owner = recipient.get("key_id", "")
                if key_id_for(bytes.fromhex(public_hex)) != owner:
                    problems.append(f"record {index} ({short}): recipient key_id does not match its public key")
        previous_id = record.record_id
    return problems
