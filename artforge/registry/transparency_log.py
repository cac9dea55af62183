"""The registry's transparency log: an RFC 9162 Merkle log over every signed record, with signed checkpoints.

Every record the registry stores (registration, grant, transfer; and each mint, as a record signed by the
log key) is appended as a leaf in the same transaction: leaf bytes are the canonical (RFC 8785) JSON of
``{"payload": ..., "signature": ...}``.  The hashes of the perfect subtrees are stored as the log grows
(``log_nodes``), so roots and proofs cost O(log² n) lookups.  When a transaction that appended leaves
commits, a checkpoint for the new size is signed by the log key in the C2SP signed-note format and stored
with it (``log_checkpoints``): either both land or neither does.

This module works on the database handle, so :mod:`artforge.registry.database` can call it without an import cycle.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import sqlite_utils

from artforge.errors import InvalidRecord, NotFound, UsageError
from artforge.provenance.keys import Signer, key_id_for
from artforge.provenance.merkle import (ProofError, completed_nodes, consistency_proof, inclusion_proof, leaf_hash, range_hash,
                     verify_consistency, verify_inclusion)
from artforge.provenance.records import CLAIM_TYPES, RECORD_TYPES, SignedRecord, canonical_bytes, utc_now
from artforge.provenance.notes import Checkpoint, NoteError, open_note, sign_note, verifier_key

ORIGIN_PREFIX = "artforge.local/log/"
CLAIM_KIND = "claim"  # the leaf kind of a signed claim (artforge.registry.claims): a key's name, a custom licence


def leaf_kind(record: SignedRecord) -> str:
    """The kind a signed record is logged as: ``record`` for the records of a work's chain, ``claim`` for a
    claim, and an event's own type (``deployment``, ``mint``) for what the log key signs."""
    if record.record_type in CLAIM_TYPES:
        return CLAIM_KIND
    return "record" if record.record_type in RECORD_TYPES else record.record_type


def log_keys(db: sqlite_utils.Database) -> dict[str, bytes]:
    """Every recorded log key: key id -> public key."""
    return {key_id: bytes.fromhex(public) for key_id, public in db.execute("SELECT key_id, public_key FROM log_keys")}


def signed_by_log_key(record: SignedRecord, keys: dict[str, bytes]) -> bool:
    """Whether ``record`` is signed, validly, by one of the recorded log keys ``keys``."""
    public = keys.get(record.signer_key_id)
    return public is not None and record.payload["signer"].get("public_key") == public.hex() and _signed(record)


def leaves(db: sqlite_utils.Database, kind: str, work_id: str | None = None, *,
           unreadable: bool = False) -> list[tuple[int, SignedRecord | None]]:
    """The leaves of one kind (of one work when given), oldest first, as (index, record); a leaf whose bytes
    are not a signed record is left out, or given as (index, None) with ``unreadable``."""
    query, args = "SELECT idx, leaf FROM log_leaves WHERE kind = ?", [kind]
    if work_id is not None:
        query, args = query + " AND work_id = ?", args + [work_id]
    found: list[tuple[int, SignedRecord | None]] = []
    for index, leaf in db.execute(query + " ORDER BY idx", args):
        try:
            data = json.loads(bytes(leaf))
            found.append((index, SignedRecord(data["payload"], data["signature"])))
        except (ValueError, KeyError, TypeError, AttributeError, InvalidRecord):
            if unreadable:
                found.append((index, None))
    return found


def signed_events(db: sqlite_utils.Database, kind: str, work_id: str | None = None) -> list[dict]:
    """The payloads of the leaves of ``kind`` (of one work when given) whose signature by a recorded log key
    verifies, oldest first."""
    keys = log_keys(db)
    found = []
    for _index, record in leaves(db, kind, work_id):
        try:
            if signed_by_log_key(record, keys):
                found.append(record.payload)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # an unreadable event is audit's to name
    return found


def leaf_index(db: sqlite_utils.Database, record_id: str) -> int | None:
    """The index of the leaf that logs ``record_id``, if it is logged."""
    row = db.execute("SELECT idx FROM log_leaves WHERE record_id = ?", [record_id]).fetchone()
    return None if row is None else row[0]


def ids_with_prefix(db: sqlite_utils.Database, prefix: str, limit: int = 2) -> list[tuple[str, str]]:
    """(record id, work id) of up to ``limit`` leaves whose record id starts with ``prefix`` (lower-case hex)."""
    # A prefix search on a unique index: ids are lower-case hex, so [prefix, prefix + "g") is the range.
    return db.execute("SELECT record_id, work_id FROM log_leaves WHERE record_id >= ? AND record_id < ? LIMIT ?",
                      [prefix, prefix + "g", limit]).fetchall()


def record_leaf(record: SignedRecord) -> bytes:
    """The leaf bytes of a signed record: canonical JSON of its payload and signature."""
    return canonical_bytes({"payload": record.payload, "signature": record.signature})


def origin_for(public_key: bytes) -> str:
    """The log's name (checkpoint origin and note key name), from its key: stable for the registry's life."""
    return ORIGIN_PREFIX + key_id_for(public_key)[:16]


def size(db: sqlite_utils.Database) -> int:
    """Number of leaves (the highest index + 1: O(1) on the rowid, where COUNT(*) reads every row)."""
    return db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves").fetchone()[0]


class _Nodes:
    """Perfect-subtree hashes read from ``log_nodes`` (memoised for one proof or root)."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.cache: dict[tuple[int, int], bytes] = {}

    def perfect(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self.cache:
            row = self.db.execute("SELECT hash FROM log_nodes WHERE level = ? AND idx = ?", key).fetchone()
            if row is None:
                raise NotFound(f"log node ({level}, {index}) is missing")
            self.cache[key] = bytes(row[0])
        return self.cache[key]


def append(db: sqlite_utils.Database, kind: str, record: SignedRecord, work_id: str) -> int:
    """Append a record as the next leaf (inside the caller's transaction); returns its index."""
    leaf = record_leaf(record)
    digest = leaf_hash(leaf)
    index = size(db)
    db["log_leaves"].insert({"idx": index, "kind": kind, "record_id": record.record_id, "work_id": work_id,
                             "leaf": leaf, "leaf_hash": digest, "created_at": utc_now()})
    nodes = _Nodes(db)
    db["log_nodes"].insert_all(
        ({"level": level, "idx": idx, "hash": value} for level, idx, value in completed_nodes(index, digest, nodes.perfect)))
    return index


def root(db: sqlite_utils.Database, tree_size: int | None = None) -> bytes:
    n = size(db) if tree_size is None else tree_size
    return range_hash(_Nodes(db).perfect, 0, n)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as stored: the note, and the key that signed it."""

    size: int
    root: bytes
    note: str
    key_id: str
    created_at: str

    def to_dict(self) -> dict:
        return {"size": self.size, "root": base64.b64encode(self.root).decode(), "note": self.note,
                "key_id": self.key_id, "created_at": self.created_at}


def remember_log_key(db: sqlite_utils.Database, signer: Signer) -> str:
    """Record the log key's public half (once); returns the log's origin."""
    origin = origin_for(signer.public_key)
    db["log_keys"].insert({"key_id": signer.key_id, "origin": origin, "public_key": signer.public_key.hex(),
                           "created_at": utc_now()}, ignore=True)
    return origin


def write_checkpoint(db: sqlite_utils.Database, signer: Signer) -> SignedCheckpoint:
    """Sign and store a checkpoint of the log as it is now (inside the caller's transaction)."""
    origin = remember_log_key(db, signer)
    n = size(db)
    checkpoint = Checkpoint(origin, n, root(db, n))
    note = sign_note(checkpoint.text(), origin, signer.public_key, signer.sign)
    stored = SignedCheckpoint(n, checkpoint.root, note, signer.key_id, utc_now())
    db["log_checkpoints"].insert({"size": n, "root": checkpoint.root, "note": note, "key_id": signer.key_id,
                                  "created_at": stored.created_at}, replace=True)
    return stored


def latest_checkpoint(db: sqlite_utils.Database) -> SignedCheckpoint | None:
    rows = list(db["log_checkpoints"].rows_where(order_by="size DESC", limit=1))
    if not rows:
        return None
    row = rows[0]
    return SignedCheckpoint(row["size"], bytes(row["root"]), row["note"], row["key_id"], row["created_at"])


def checkpoints(db: sqlite_utils.Database) -> list[SignedCheckpoint]:
    return [SignedCheckpoint(r["size"], bytes(r["root"]), r["note"], r["key_id"], r["created_at"])
            for r in db["log_checkpoints"].rows_where(order_by="size")]


def log_key(db: sqlite_utils.Database, key_id: str) -> tuple[str, bytes] | None:
    """(origin, public key) of a recorded log key."""
    row = db.execute("SELECT origin, public_key FROM log_keys WHERE key_id = ?", [key_id]).fetchone()
    return (row[0], bytes.fromhex(row[1])) if row else None


@dataclass(frozen=True)
class InclusionProof:
    """Proof that a record is leaf ``index`` of the tree of ``tree_size`` leaves named by ``checkpoint``."""

    record_id: str
    index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    checkpoint: SignedCheckpoint
    log_public_key: bytes

    def to_dict(self) -> dict:
        return {"record_id": self.record_id, "leaf_index": self.index, "tree_size": self.tree_size,
                "leaf_hash": self.leaf_hash.hex(), "path": [p.hex() for p in self.path],
                "checkpoint": self.checkpoint.note, "log_public_key": self.log_public_key.hex(),
                "log_verifier_key": verifier_key(origin_for(self.log_public_key), self.log_public_key)}


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree of ``old_size`` leaves is a prefix of the tree of ``new_size``."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: list[bytes]

    def to_dict(self) -> dict:
        return {"old_size": self.old_size, "new_size": self.new_size, "old_root": self.old_root.hex(),
                "new_root": self.new_root.hex(), "path": [p.hex() for p in self.path]}


def _verified_checkpoint(db: sqlite_utils.Database, stored: SignedCheckpoint) -> tuple[Checkpoint, bytes]:
    key = log_key(db, stored.key_id)
    if key is None:
        raise NotFound(f"the key of the checkpoint at size {stored.size} is not recorded")
    origin, public = key
    return Checkpoint.parse(open_note(stored.note, origin, public)), public


def prove_inclusion(db: sqlite_utils.Database, record_id: str) -> InclusionProof:
    """An inclusion proof of a logged record, claim or event against the newest checkpoint, checked before it
    is returned."""
    row = db.execute("SELECT idx, leaf_hash FROM log_leaves WHERE record_id = ?", [record_id]).fetchone()
    if row is None:
        raise NotFound(f"record {record_id[:12]} is not in the log")
    stored = latest_checkpoint(db)
    if stored is None or stored.size <= row[0]:
        raise NotFound(f"no checkpoint covers record {record_id[:12]} yet: run 'artforge log checkpoint'")
    checkpoint, public = _verified_checkpoint(db, stored)
    path = inclusion_proof(_Nodes(db).perfect, row[0], checkpoint.size)
    verify_inclusion(row[0], checkpoint.size, bytes(row[1]), path, checkpoint.root)
    return InclusionProof(record_id, row[0], checkpoint.size, bytes(row[1]), path, stored, public)


def prove_consistency(db: sqlite_utils.Database, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """A consistency proof between two tree sizes (the newer defaults to the newest checkpoint's)."""
    stored = latest_checkpoint(db)
    newest = stored.size if stored else 0
    new = newest if new_size is None else new_size
    if not 0 <= old_size <= new <= size(db):
        raise UsageError(f"sizes must satisfy 0 <= OLD <= NEW <= {size(db)} (the log's size)")
    nodes = _Nodes(db)
    old_root, new_root = range_hash(nodes.perfect, 0, old_size), range_hash(nodes.perfect, 0, new)
    path = consistency_proof(nodes.perfect, old_size, new)
    verify_consistency(old_size, new, old_root, new_root, path)
    return ConsistencyProof(old_size, new, old_root, new_root, path)


def audit(db: sqlite_utils.Database, expected_key: bytes | None = None) -> tuple[list[str], list[str]]:
    """Check the whole log; returns (problems, notes).  Each problem names what was changed and where.

    Leaves must be contiguous, hash to their stored hashes, hold exactly the stored records' bytes in the
    order the records were stored; the stored nodes must be those the leaves give; every checkpoint must
    be signed by a recorded log key (``expected_key``, the home's, when given) over the root the leaves
    give at its size, which also makes every checkpoint consistent with every later one.
    """
    from artforge.provenance.merkle import MemoryTree

    problems: list[str] = []
    rows = db.execute("SELECT idx, kind, record_id, leaf, leaf_hash, work_id FROM log_leaves ORDER BY idx").fetchall()
    tree = MemoryTree()
    for position, (index, kind, record_id, leaf, stored_hash, work_id) in enumerate(rows):
        if index != position:
            problems.append(f"log leaf {position} is missing (the next leaf is {index}): a row was deleted")
            break
        if leaf_hash(bytes(leaf)) != bytes(stored_hash):
            problems.append(f"log leaf {index} (record {str(record_id)[:12]}): its bytes do not hash to its stored hash")
        elif _leaf_columns(bytes(leaf)) != (kind, record_id, work_id):
            problems.append(f"log leaf {index}: its kind, record or work column disagrees with its bytes")
        tree.append(bytes(stored_hash))
    rows = [row[:5] for row in rows]
    for kind, table in LOGGED_TABLES:
        problems += _audit_logged_table(db, rows, kind, table)
    for level, index, value in db.execute("SELECT level, idx, hash FROM log_nodes ORDER BY level, idx"):
        if tree.nodes.get((level, index)) != bytes(value):
            problems.append(f"log node ({level}, {index}) does not match the leaves")
    notes: list[str] = []
    signed = checkpoints(db)
    for stored in signed:
        key = log_key(db, stored.key_id)
        where = f"checkpoint at size {stored.size}"
        if key is None:
            problems.append(f"{where}: signed by key {str(stored.key_id)[:12]}, which the registry does not record")
            continue
        origin, public = key
        if expected_key is not None and public != expected_key:
            problems.append(f"{where}: signed by key {str(stored.key_id)[:12]}, not this home's log key")
        try:
            checkpoint = Checkpoint.parse(open_note(stored.note, origin, public))
        except NoteError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if checkpoint.size != stored.size:
            problems.append(f"{where}: the signed note says size {checkpoint.size}, not what the row says")
        if checkpoint.root != bytes(stored.root):
            problems.append(f"{where}: the row's root is not the root the signed note states")
        if checkpoint.size > tree.size:
            problems.append(f"{where}: the log has only {tree.size} leaves")
        elif tree.root(checkpoint.size) != checkpoint.root:
            problems.append(f"{where}: its root is not the log's root at that size (history rewritten)")
    newest = signed[-1].size if signed else 0
    if newest < tree.size:
        notes.append(f"the newest checkpoint covers {newest} of {tree.size} log leaves: run 'artforge log checkpoint'")
    return problems, notes


LOGGED_TABLES = (("record", "records"), (CLAIM_KIND, "claims"))  # (leaf kind, table of the signed rows it logs)


def _audit_logged_table(db: sqlite_utils.Database, rows: list, kind: str, table: str) -> list[str]:
    """Every row of ``table`` is a leaf of ``kind`` with the same bytes, in the order stored, and back."""
    problems = []
    stored_rows = db.execute(f"SELECT id, payload, signature FROM {table} ORDER BY rowid").fetchall()
    logged = {row[2]: row for row in rows if row[1] == kind}
    for record_id, payload, signature in stored_rows:
        row = logged.get(record_id)
        if row is None:
            problems.append(f"{kind} {str(record_id)[:12]} is not in the log")
            continue
        try:
            expected = record_leaf(SignedRecord(json.loads(payload), signature))
        except (ValueError, InvalidRecord):
            continue  # an unreadable payload is reported by the check of its table
        if bytes(row[3]) != expected:
            problems.append(f"log leaf {row[0]} ({kind} {str(record_id)[:12]}): its bytes differ from the stored {kind}")
    stored_ids = {r[0] for r in stored_rows}
    for record_id, row in logged.items():
        if record_id not in stored_ids:
            problems.append(f"log leaf {row[0]}: {kind} {str(record_id)[:12]} is no longer in the registry (deleted)")
    stored_order = [r[0] for r in stored_rows if r[0] in logged]
    logged_order = [row[2] for row in rows if row[1] == kind and row[2] in stored_ids]
    for position, (stored, in_log) in enumerate(zip(stored_order, logged_order)):
        if stored != in_log:
            problems.append(f"log leaves are out of order from {kind} {in_log[:12]} on (position {position})")
            break
    return problems


def _leaf_columns(leaf: bytes) -> tuple[str, str, str] | None:
    """(kind, record id, work id) as a leaf's own bytes give them, as ``append`` stores them beside it."""
    try:
        data = json.loads(leaf)
        record = SignedRecord(data["payload"], data["signature"])
        kind = leaf_kind(record)
        work_id = record.payload.get("work_id") or (record.record_id if record.record_type == "registration" else "")
        return kind, record.record_id, work_id
    except (ValueError, KeyError, TypeError, AttributeError, InvalidRecord):
        return None


def _signed(record: SignedRecord) -> bool:
    from artforge.provenance.keys import verify_signature

    return verify_signature(bytes.fromhex(record.payload["signer"]["public_key"]), bytes.fromhex(record.signature),
                            record.canonical)


def check_against(db: sqlite_utils.Database, note: str, expected_key: bytes | None) -> list[str]:
    """Whether today's log extends a checkpoint saved elsewhere (``note``, a signed checkpoint), proved with
    an RFC 9162 consistency proof from the saved size to the newest checkpoint; empty when it does.

    The saved note must be signed by the home's log key: one signed by another key says nothing of this
    log (and a home whose log key was replaced fails here, as it should).
    """
    if expected_key is None:
        return ["this home has no log key to check a saved checkpoint with"]
    try:
        saved = Checkpoint.parse(open_note(note, origin_for(expected_key), expected_key))
    except NoteError as exc:
        return [f"not a checkpoint signed by this log's key ({exc})"]
    newest = latest_checkpoint(db)
    if newest is None or newest.key_id != key_id_for(expected_key):
        return ["the registry holds no checkpoint signed by this home's log key"]
    try:
        current, _ = _verified_checkpoint(db, newest)
    except (NoteError, NotFound) as exc:
        return [f"the registry's newest checkpoint does not verify ({exc})"]
    if saved.size > current.size:
        return [f"the log was cut: the saved checkpoint covers {saved.size} leaves, the log now {current.size}"]
    try:
        path = consistency_proof(_Nodes(db).perfect, saved.size, current.size)
        verify_consistency(saved.size, current.size, saved.root, current.root, path)
    except (ProofError, NotFound):
        return [f"the log does not extend the saved checkpoint at size {saved.size}: its history was rewritten "
                f"or forked (no consistency proof from size {saved.size} to {current.size})"]
    return []
