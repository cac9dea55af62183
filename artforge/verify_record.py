#!/usr/bin/env python3
"""Verify artforge signed records offline, with only the standard library and ``cryptography``.

This is the reference verifier for the record format ``artforge.record/1`` (docs/record-format.md).  It
does not import artforge: anyone holding exported records and this file can check them.

Usage::

    python -m artforge.verify_record FILE [--public-key HEX] [--chain | --no-chain]   # or: artforge-verify-record
    python verify_record.py FILE ...     # this file copied anywhere: it imports nothing of artforge

FILE (``-`` for stdin) holds one record ``{"record_id", "payload", "signature"}``, a JSON list of records,
or the envelope printed by ``artforge history WORK --json`` (its ``data.records`` are checked).

For every record it rebuilds the canonical bytes, checks the stated ``record_id`` (the SHA-256 of those
bytes), the signer's key id (the first 16 bytes of SHA-256 of the public key) and the Ed25519 signature.
``--public-key HEX`` also requires the registration to be signed by that key.  ``--chain`` (the default
when several records are given) checks that they form one work's chain: a registration first, each later
record pointing at its predecessor with ``prev``, naming the work, and signed by the owner of the day.

Payloads outside the value domain of the format (floats, integers beyond +-(2**53 - 1), non-ASCII object
keys, unpaired surrogates, duplicate keys) are refused, not guessed at: within that domain RFC 8785 (JCS)
output is exactly ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded
as UTF-8, which is what this script computes.

Prints one line per record, ``OK ...`` or ``FAIL ...: reasons``.  Exit status: 0 when every record (and the
chain) verifies, 1 when anything does not, 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# Version 2 adds the attestation record type (docs/record-format.md section 9); each type needs a version
# that has it.
SCHEMA_TYPES = {"artforge.record/1": ("registration", "grant", "transfer"),
                "artforge.record/2": ("registration", "grant", "transfer", "attestation")}
RECORD_TYPES = ("registration", "grant", "transfer", "attestation")
MAX_SAFE_INTEGER = 2**53 - 1
RECORD_MEMBERS = {"record_id", "payload", "signature"}
HEX64 = re.compile(r"[0-9a-f]{64}")
HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")
HEX128 = re.compile(r"[0-9a-f]{128}")

EXIT_OK, EXIT_FAIL, EXIT_UNREADABLE = 0, 1, 2


class OutOfDomain(Exception):
    """A payload value the format does not allow."""


# --- Reading JSON without losing what the format forbids -----------------------------------------------


class _BigNumber(str):
    """A JSON integer literal too long to be a safe integer (kept as text: never converted)."""


class _DuplicateKeys(dict):
    """A JSON object that named a key twice (which value is meant is ambiguous)."""

    duplicate = ""


def _parse_int(text: str) -> int | _BigNumber:
    # A safe integer has at most 16 digits; longer literals are refused later without calling int() on
    # them (which would also trip Python's limit on integer string conversion).
    return int(text) if len(text.lstrip("-")) <= 16 else _BigNumber(text)


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            marked = _DuplicateKeys(result)
            marked.duplicate = key
            marked.update(pairs)
            return marked
        result[key] = value
    return result


def load_json(text: str) -> Any:
    """Parse JSON, marking (not silently resolving) duplicate keys and over-long integers.

    Floats, NaN and Infinity parse as Python floats and are refused by :func:`check_domain`.
    """
    return json.loads(text, parse_int=_parse_int, object_pairs_hook=_object_pairs)


# --- Canonical bytes, ids, keys --------------------------------------------------------------------------


def check_domain(value: Any, where: str = "payload") -> None:
    """Raise :class:`OutOfDomain` unless ``value`` is in the record value domain."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, _BigNumber):
        raise OutOfDomain(f"{where}: integer outside +-(2**53 - 1)")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise OutOfDomain(f"{where}: string with an unpaired surrogate (not UTF-8)") from None
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise OutOfDomain(f"{where}: integer outside +-(2**53 - 1)")
        return
    if isinstance(value, float):
        raise OutOfDomain(f"{where}: number with a fraction or exponent (floats are not allowed)")
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_domain(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        if isinstance(value, _DuplicateKeys):
            raise OutOfDomain(f"{where}: duplicate key {value.duplicate!r}")
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise OutOfDomain(f"{where}: object key {key!r} is not ASCII")
            check_domain(item, f"{where}.{key}")
        return
    raise OutOfDomain(f"{where}: {type(value).__name__} values are not allowed")


def canonical_bytes(payload: Any) -> bytes:
    """RFC 8785 canonical form of an in-domain value (what is hashed and signed)."""
    try:
        check_domain(payload)
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except RecursionError:  # nested past Python's recursion limit: refused, not a crash
        raise OutOfDomain("payload: nested too deeply to check") from None


def record_id_of(canonical: bytes) -> str:
    """A record's id: lower-case hex SHA-256 of its canonical bytes."""
    return hashlib.sha256(canonical).hexdigest()


def key_id_for(public_key: bytes) -> str:
    """Key id: hex of the first 16 bytes of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- One record -------------------------------------------------------------------------------------------


class Checked:
    """What was learnt about one record, and what is wrong with it."""

    def __init__(self, index: int):
        self.index = index
        self.problems: list[str] = []
        self.record_id = ""  # computed from the payload, when it could be
        self.stated_id = ""
        self.type = "?"
        self.signer_key_id = ""
        self.signer_public_key = ""
        self.payload: dict = {}

    @property
    def label(self) -> str:
        shown = self.record_id or self.stated_id or "?"
        return f"record {self.index} {self.type} {shown}"


def _is_hex(pattern: re.Pattern, value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _member(obj: Any, name: str, kind: type | tuple, problems: list[str], where: str) -> Any:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        problems.append(f"{where}.{name} is missing or not {names}".replace("NoneType", "null"))
        return None
    return value


def _check_fields(payload: dict, problems: list[str]) -> None:
    """Members every record of its type must have, with their JSON types."""
    _member(payload, "created_at", str, problems, "payload")
    kind = payload.get("type")
    if kind == "registration":
        work = _member(payload, "work", dict, problems, "payload")
        if work is not None:
            _member(work, "title", str, problems, "payload.work")
            for name in ("file_sha256", "pixel_sha256"):
                if not _is_hex(HEX64, work.get(name)):
                    problems.append(f"payload.work.{name} is not 64 lower-case hex characters")
            _member(work, "width", int, problems, "payload.work")
            _member(work, "height", int, problems, "payload.work")
            _member(work, "fingerprints", dict, problems, "payload.work")
            mark = _member(work, "watermark", dict, problems, "payload.work") if "watermark" in work else None
            if mark is not None:
                _member(mark, "scheme", str, problems, "payload.work.watermark")
                if not _is_hex(HEX16, mark.get("id")):
                    problems.append("payload.work.watermark.id is not 16 lower-case hex characters")
        _member(payload, "origin", dict, problems, "payload")
        parents = _member(payload, "parents", list, problems, "payload")
        if parents is not None and not all(_is_hex(HEX64, p) for p in parents):
            problems.append("payload.parents must hold record ids (64 lower-case hex characters)")
        licence = _member(payload, "licence", dict, problems, "payload")
        if licence is not None:
            _member(licence, "id", str, problems, "payload.licence")
            _member(licence, "terms", dict, problems, "payload.licence")
        if payload.get("prev", "missing") is not None:
            problems.append("payload.prev of a registration must be null")
        if "work_id" in payload:
            problems.append("a registration has no work_id (its own id is the work id)")
        private = _member(payload, "private", dict, problems, "payload") if "private" in payload else None
        if private is not None and (payload.get("schema") != "artforge.record/2" or private.get("scheme") != "artforge-seal/1"
                                    or not _is_hex(HEX64, private.get("details_sha256"))
                                    or (licence or {}).get("id") != "LicenseRef-Private"):
            problems.append("payload.private: a private work needs schema 2, scheme artforge-seal/1, a details_sha256 "
                            "and the licence LicenseRef-Private")
        return
    if not _is_hex(HEX64, payload.get("work_id")):
        problems.append("payload.work_id is not a record id (64 lower-case hex characters)")
    if not _is_hex(HEX64, payload.get("prev")):
        problems.append("payload.prev is not a record id (64 lower-case hex characters)")
    if kind == "grant":
        grant = _member(payload, "grant", dict, problems, "payload")
        if grant is not None:
            _member(grant, "to", str, problems, "payload.grant")
            _member(grant, "terms", str, problems, "payload.grant")
            _member(grant, "until", (str, type(None)), problems, "payload.grant")
    elif kind == "transfer":
        transfer = _member(payload, "transfer", dict, problems, "payload")
        to = _member(transfer, "to", dict, problems, "payload.transfer") if transfer is not None else None
        if to is not None:
            public_hex, key_id = to.get("public_key"), to.get("key_id")
            if not _is_hex(HEX64, public_hex):
                problems.append("payload.transfer.to.public_key is not 64 lower-case hex characters")
            elif key_id != key_id_for(bytes.fromhex(public_hex)):
                problems.append("payload.transfer.to.key_id does not match its public key")
    elif kind == "attestation":
        layers = _member(payload, "match_layers", dict, problems, "payload")
        if layers is not None:
            _member(layers, "version", int, problems, "payload.match_layers")
            if not _is_hex(HEX64, layers.get("sha256")):
                problems.append("payload.match_layers.sha256 is not 64 lower-case hex characters")


def check_record(index: int, record: Any) -> Checked:
    """Check one record on its own: shape, value domain, id, key id, signature."""
    checked = Checked(index)
    problems = checked.problems
    if isinstance(record, _DuplicateKeys):
        problems.append(f"the record names {record.duplicate!r} twice")
        return checked
    if not isinstance(record, dict):
        problems.append("not a record object")
        return checked
    extra = sorted(set(record) - RECORD_MEMBERS)
    if extra:
        problems.append(f"unexpected members {extra} (not covered by the signature)")
    stated = record.get("record_id")
    if stated is not None and not isinstance(stated, str):
        problems.append("record_id is not a string")
        stated = None
    checked.stated_id = stated or ""
    payload = record.get("payload")
    if not isinstance(payload, dict):
        problems.append("payload is missing or not an object")
        return checked
    checked.payload = payload
    checked.type = payload.get("type") if isinstance(payload.get("type"), str) else "?"
    try:
        canonical = canonical_bytes(payload)
    except OutOfDomain as exc:
        problems.append(f"payload outside the record value domain ({exc})")
        return checked
    checked.record_id = record_id_of(canonical)
    if stated is not None and stated != checked.record_id:
        problems.append("record_id does not match the payload")
    schema = payload.get("schema")
    if not isinstance(schema, str) or schema not in SCHEMA_TYPES:
        problems.append(f"unknown schema {schema!r} (this verifier knows {', '.join(SCHEMA_TYPES)})")
    elif payload.get("type") in RECORD_TYPES and payload.get("type") not in SCHEMA_TYPES[schema]:
        problems.append(f"a {payload.get('type')} record needs a later schema than {schema}")
    if payload.get("type") not in RECORD_TYPES:
        problems.append(f"unknown record type {payload.get('type')!r}")
    else:
        _check_fields(payload, problems)
    signer = payload.get("signer")
    if not isinstance(signer, dict):
        problems.append("payload.signer is missing or not an object")
        return checked
    public_hex, key_id = signer.get("public_key"), signer.get("key_id")
    if not _is_hex(HEX64, public_hex):
        problems.append("payload.signer.public_key is not 64 lower-case hex characters")
        return checked
    public_key = bytes.fromhex(public_hex)
    checked.signer_public_key = public_hex
    checked.signer_key_id = key_id if isinstance(key_id, str) else ""
    if key_id != key_id_for(public_key):
        problems.append("payload.signer.key_id does not match its public key")
    signature = record.get("signature")
    if not _is_hex(HEX128, signature):
        problems.append("signature is not 128 lower-case hex characters (64 bytes)")
    elif not verify_ed25519(public_key, bytes.fromhex(signature), canonical):
        problems.append("signature does not verify")
    return checked


# --- A chain ----------------------------------------------------------------------------------------------


def check_chain(records: list[Checked]) -> None:
    """Add chain problems to the records they concern (records are in chain order)."""
    first = records[0]
    if first.type != "registration":
        first.problems.append("the chain does not start with a registration")
    work_id = first.record_id
    owner = first.signer_key_id
    previous = first
    for record in records[1:]:
        payload = record.payload
        if record.type == "registration":
            record.problems.append("a second registration in one chain")
        else:
            if not previous.record_id or payload.get("prev") != previous.record_id:
                record.problems.append(f"prev does not point at record {previous.index}")
            if not work_id or payload.get("work_id") != work_id:
                record.problems.append("work_id does not name the work registered by record 0")
        if record.signer_key_id != owner:
            shown = record.signer_key_id or "?"
            record.problems.append(f"signed by {shown}, not by the owner at this point ({owner or '?'})")
        if record.type == "transfer":
            transfer = payload.get("transfer")
            to = transfer.get("to") if isinstance(transfer, dict) else None
            new_owner = to.get("key_id") if isinstance(to, dict) else None
            owner = new_owner if isinstance(new_owner, str) else ""
        previous = record


def printable(text: str) -> str:
    """``text`` as one line any UTF-8 output can hold: control characters (a newline in a record's type would
    start a line of its own, say a forged ``OK``) and lone surrogates (from "\\udxxx" escapes) escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def check_public_key(records: list[Checked], expected_hex: str) -> None:
    registrations = [r for r in records if r.type == "registration"]
    if not registrations:
        for record in records:
            record.problems.append("no registration record to check --public-key against")
    for record in registrations:
        if record.signer_public_key != expected_hex:
            record.problems.append("the registration is not signed by the --public-key given")


# --- Command line -----------------------------------------------------------------------------------------


def records_from(document: Any) -> list:
    """The records in a parsed input: one record, a list, or an ``artforge ... --json`` envelope."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if "payload" in document:
            return [document]
        if "data" in document:
            data = document["data"]
            if isinstance(data, _DuplicateKeys):
                raise ValueError(f"the envelope's data names {data.duplicate!r} twice")
            if isinstance(data, dict) and isinstance(data.get("records"), list):
                return data["records"]
            raise ValueError("the envelope has no data.records (use 'artforge history WORK --json')")
    raise ValueError("expected a record, a list of records or an 'artforge history --json' envelope")


def parse_public_key(text: str) -> str:
    candidate = text.strip().lower()
    if not HEX64.fullmatch(candidate):
        raise argparse.ArgumentTypeError("a public key is 64 hex characters (raw 32-byte Ed25519)")
    return candidate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify artforge signed records (artforge.record/1) with only the standard library "
                    "and 'cryptography'.")
    parser.add_argument("file", metavar="FILE", help="record JSON, list of records or 'artforge history "
                                                     "--json' output; '-' reads stdin")
    parser.add_argument("--public-key", type=parse_public_key, metavar="HEX",
                        help="require the registration to be signed by this raw Ed25519 public key")
    parser.add_argument("--chain", action=argparse.BooleanOptionalAction, default=None,
                        help="check the records form one work's chain (default: on for several records)")
    args = parser.parse_args(argv)

    try:
        if args.file == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                raw = handle.read()
        document = load_json(raw.decode("utf-8"))
        if isinstance(document, _DuplicateKeys) and "payload" not in document:
            raise ValueError(f"the input names {document.duplicate!r} twice")
        items = records_from(document)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_UNREADABLE
    except UnicodeDecodeError:
        print("error: input is not UTF-8", file=sys.stderr)
        return EXIT_UNREADABLE
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        print(f"error: unreadable input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except RecursionError:
        print("error: unreadable input: nested too deeply", file=sys.stderr)
        return EXIT_UNREADABLE
    if not items:
        print("error: the input holds no records", file=sys.stderr)
        return EXIT_UNREADABLE

    checked = [check_record(index, item) for index, item in enumerate(items)]
    chain = args.chain if args.chain is not None else len(checked) > 1
    if chain:
        check_chain(checked)
    if args.public_key is not None:
        check_public_key(checked, args.public_key)

    for record in checked:
        if record.problems:
            print(printable(f"FAIL {record.label}: " + "; ".join(record.problems)))
        else:
            print(printable(f"OK   {record.label} signed by {record.signer_key_id}"))
    return EXIT_FAIL if any(record.problems for record in checked) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
