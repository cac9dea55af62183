#!/usr/bin/env python3
"""Verify an artforge evidence bundle offline, with only the standard library and ``cryptography``.

``artforge export WORK --bundle out.json`` writes a bundle: a work's signed records, its signers' public
keys, each record's inclusion proof in the registry's transparency log, and the log's checkpoint (a C2SP
signed note) with the log's public key.  Apart from its sibling ``verify_record`` this module imports
nothing of artforge (copy the two files anywhere).  It checks:

1. every record as ``verify_record.py`` does (canonical bytes, id, key id, Ed25519 signature) and that
   they form one work's chain (registration first, ``prev`` links, signed by the owner of the day);
2. the checkpoint: a signed note whose signature by the log key verifies (key name = the log's origin,
   key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]), holding origin, tree size and root hash;
3. each record's leaf (``SHA-256(0x00 || canonical {"payload", "signature"})``) and inclusion path lead to
   that root, by the algorithm of RFC 9162 section 2.1.3.2 (written out below, not imported);
4. the work head, a note signed by the log key naming the work, its last record, its number of records
   and the tree size: the bundle holds all of the work's records up to that size, none left out;
5. the members written for readers (``public_keys``, ``log.verifier_key``, ``log.tree_size``) say what the
   verified evidence says, so a reader of the file is not shown a claim that was never checked.

``--log-key HEX`` pins the log's public key: without it, the key inside the bundle is trusted, which only
shows the bundle is self-consistent.  Prints ``OK ...`` / ``FAIL ...`` lines; exit 0 when everything
verifies, 1 when anything does not, 2 when the input cannot be read.

Usage::

    python -m artforge.verify_bundle BUNDLE.json [--log-key HEX]     # or: artforge-verify-bundle
    python verify_bundle.py BUNDLE.json    # this file copied anywhere, verify_record.py beside it
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

try:  # installed: python -m artforge.verify_bundle, or the artforge-verify-bundle command
    from artforge import verify_record as record_checks
except ImportError:  # this file copied on its own, with verify_record.py beside it
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import verify_record as record_checks  # type: ignore[no-redef]

EXIT_FAIL, EXIT_OK, EXIT_UNREADABLE = record_checks.EXIT_FAIL, record_checks.EXIT_OK, record_checks.EXIT_UNREADABLE
OutOfDomain, canonical_bytes, load_json = record_checks.OutOfDomain, record_checks.canonical_bytes, record_checks.load_json
check_chain, check_record, printable = record_checks.check_chain, record_checks.check_record, record_checks.printable

BUNDLE_FORMAT = "artforge.bundle/1"


class BundleError(Exception):
    """The bundle does not verify."""


# --- RFC 9162 section 2.1.3.2, inclusion proof verification -------------------------------------------


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf_hash: bytes, path: list[bytes], root: bytes) -> None:
    if not 0 <= index < size:
        raise BundleError(f"leaf index {index} is outside the tree of {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise BundleError("inclusion path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise BundleError("inclusion path is too short")
    if r != root:
        raise BundleError("inclusion path does not lead to the checkpoint's root")


# --- C2SP signed note and tlog checkpoint ----------------------------------------------------------------


def open_note(note: str, origin: str, public_key: bytes) -> str:
    """The text of a note signed by ``public_key`` under the name ``origin`` (C2SP signed-note)."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise BundleError("not a signed note")
    text += "\n"
    try:
        origin_bytes, message = origin.encode(), text.encode()
    except UnicodeEncodeError:  # a lone surrogate (a "\udxxx" escape in the file) has no UTF-8 form
        raise BundleError("the note or the log's origin is not valid Unicode") from None
    key_id = hashlib.sha256(origin_bytes + b"\n\x01" + public_key).digest()[:4]
    verified = False
    for line in signatures.split("\n"):
        if not line.startswith("\u2014 ") or line.count(" ") != 2:
            continue
        name, blob = line[2:].split(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            raise BundleError("a note signature is not base64") from None
        if name != origin or raw[:4] != key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], message)
        except InvalidSignature:
            raise BundleError("a note's signature by the log key does not verify") from None
        verified = True
    if not verified:
        raise BundleError("the note is not signed by the log key")
    return text


def open_checkpoint(note: str, origin: str, public_key: bytes) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint signed by the log key."""
    lines = open_note(note, origin, public_key).split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise BundleError("the checkpoint text is not origin, size, root")
    root = base64.b64decode(lines[2], validate=True)
    if lines[0] != origin or len(root) != 32:
        raise BundleError("the checkpoint names another log, or its root is not 32 bytes")
    return lines[0], int(lines[1]), root


# --- The bundle ------------------------------------------------------------------------------------------


def _hex_bytes(value: Any, length: int, what: str) -> bytes:
    # One spelling only, as for records: lower-case hex (bytes.fromhex would also take upper case and spaces).
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]*", value) or len(value) % 2:
        raise BundleError(f"{what} is not lower-case hex")
    raw = bytes.fromhex(value)
    if len(raw) != length:
        raise BundleError(f"{what} is not {length} bytes")
    return raw


def verify_bundle(bundle: Any, pinned_log_key: bytes | None = None) -> list[str]:
    """Check a parsed bundle; returns the OK lines, raises :class:`BundleError` at the first failure."""
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"not an artforge bundle ({BUNDLE_FORMAT})")
    log, items = bundle.get("log"), bundle.get("records")
    if not isinstance(log, dict) or not isinstance(items, list) or not items:
        raise BundleError("the bundle has no log section or no records")
    public = _hex_bytes(log.get("public_key"), 32, "log public key")
    if pinned_log_key is not None and public != pinned_log_key:
        raise BundleError("the bundle's log key is not the pinned one")
    origin = log.get("origin")
    if not isinstance(origin, str) or not isinstance(log.get("checkpoint"), str):
        raise BundleError("the log section lacks its origin or checkpoint")
    _, size, root = open_checkpoint(log["checkpoint"], origin, public)
    lines = [f"OK checkpoint {origin} size {size}, signed by the log key"]

    # The record members as verify_record.py knows them; the proof members are checked here.
    checked = [check_record(index, {k: v for k, v in item.items() if k not in ("leaf_index", "inclusion_path")}
                            if isinstance(item, dict) else item) for index, item in enumerate(items)]
    check_chain(checked)
    for item, record in zip(items, checked):
        if record.problems:
            raise BundleError(f"{record.label}: {'; '.join(record.problems)}")
        index, path = item.get("leaf_index"), item.get("inclusion_path")
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(path, list):
            raise BundleError(f"{record.label}: no leaf index or inclusion path")
        leaf = canonical_bytes({"payload": item["payload"], "signature": item["signature"]})
        verify_inclusion(index, size, hashlib.sha256(b"\x00" + leaf).digest(),
                         [_hex_bytes(p, 32, "path step") for p in path], root)
        lines.append(f"OK {record.label}: signature valid, leaf {index} of {size} in the log")
    if checked[0].record_id != bundle.get("work_id"):
        raise BundleError("the work id is not the id of its registration record")
    if not isinstance(log.get("work_head"), str):
        raise BundleError("the bundle has no work head")
    head = open_note(log["work_head"], origin, public)
    expected = (f"{origin}\nwork {bundle['work_id']}\nhead {checked[-1].record_id}\nrecords {len(checked)}\n"
                f"size {size}\n")
    if head != expected:
        raise BundleError("the records are not the work's whole history at this size (the log's work head differs)")
    lines.append(f"OK work head: {len(checked)} records, the last {checked[-1].record_id[:12]}, at size {size}")
    _check_summary(bundle, log, origin, public, size, checked)
    return lines


def _check_summary(bundle: dict, log: dict, origin: str, public: bytes, size: int, checked: list) -> None:
    """The unsigned members that repeat what the signed ones say must agree with them."""
    tree_size = log.get("tree_size")
    if not isinstance(tree_size, int) or isinstance(tree_size, bool) or tree_size != size:
        raise BundleError("the log section's tree_size is not the checkpoint's size")
    key_id = hashlib.sha256(origin.encode() + b"\n\x01" + public).digest()[:4]
    verifier_key = f"{origin}+{key_id.hex()}+{base64.b64encode(bytes([1]) + public).decode()}"  # C2SP vkey
    if log.get("verifier_key") != verifier_key:
        raise BundleError("the log section's verifier_key is not the log key's")
    if bundle.get("public_keys") != {record.signer_key_id: record.signer_public_key for record in checked}:
        raise BundleError("the bundle's public_keys are not the keys that signed its records")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an artforge evidence bundle offline.")
    parser.add_argument("bundle", metavar="BUNDLE", help="the file from 'artforge export --bundle'; '-' for stdin")
    parser.add_argument("--log-key", metavar="HEX", help="require this raw Ed25519 log public key (64 hex)")
    args = parser.parse_args(argv)
    try:
        raw = sys.stdin.buffer.read() if args.bundle == "-" else Path(args.bundle).read_bytes()
        bundle = load_json(raw.decode("utf-8"))
        pinned = bytes.fromhex(args.log_key) if args.log_key else None
        if pinned is not None and len(pinned) != 32:
            raise ValueError("--log-key must be 64 hex digits")
    except OSError as exc:
        print(f"error: cannot read {args.bundle}: {exc.strerror}", file=sys.stderr)
        return EXIT_UNREADABLE
    except (UnicodeDecodeError, ValueError) as exc:
        print(f"error: unreadable input: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except RecursionError:
        print("error: unreadable input: nested too deeply", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        for line in verify_bundle(bundle, pinned):
            print(printable(line))
    except (BundleError, OutOfDomain) as exc:
        print(printable(f"FAIL {exc}"))  # the message may quote a string holding a lone surrogate
        return EXIT_FAIL
    print("OK the bundle verifies")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
