"""The registry's transparency log: an RFC 9162 Merkle log over every signed record, with signed checkpoints.

Every record the registry stores (registration, grant, transfer, attestation; claims; and each chain
event, as a record signed by the log key) is appended as a leaf in the same transaction: leaf bytes are the
canonical (RFC 8785) JSON of ``{"payload": ..., "signature": ...}``.  The hashes of the perfect subtrees are
stored as the log grows (``log_nodes``), so roots and proofs cost O(log² n) lookups.  When a transaction that appended leaves
commits, a checkpoint for the new size is signed by the log key in the C2SP signed-note format and stored
with it (``log_checkpoints``): either both land or neither does.

This module works on the database handle, so :mod:`artforge.registry.database` can call it without an import
cycle; :mod:`artforge.registry.log_audit` checks what it wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from artforge.errors import InvalidRecord, NotFound, UsageError
from artforge.provenance.keys import Signer, key_id_for
from artforge.provenance.merkle import (
    completed_nodes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    range_hash,
    verify_consistency,
    verify_inclusion,
)
from artforge.provenance.notes import Checkpoint, open_note, sign_note, verifier_key
from artforge.provenance.records import CLAIM_TYPES, RECORD_TYPES, SignedRecord, canonical_bytes, utc_now
from artforge.registry.backends import Database

ORIGIN_PREFIX = "artforge.local/log/"
CLAIM_KIND = "claim"  # the leaf kind of a signed claim (artforge.registry.claims): a key's name, a custom licence


def leaf_kind(record: SignedRecord) -> str:
    """The kind a signed record is logged as: ``record`` for the records of a work's chain, ``claim`` for a
    claim, and an event's own type (``deployment``, ``mint``) for what the log key signs."""
    if record.record_type in CLAIM_TYPES:
        return CLAIM_KIND
    return "record" if record.record_type in RECORD_TYPES else record.record_type


def log_keys(db: Database) -> dict[str, bytes]:
    """Every recorded log key: key id -> public key."""
    return {key_id: bytes.fromhex(public) for key_id, public in db.execute("SELECT key_id, public_key FROM log_keys")}


def signed_by_log_key(record: SignedRecord, keys: dict[str, bytes]) -> bool:
    """Whether ``record`` is signed, validly, by one of the recorded log keys ``keys``."""
    public = keys.get(record.signer_key_id)
    return public is not None and record.payload["signer"].get("public_key") == public.hex() and _signed(record)


def leaves(db: Database, kind: str, work_id: str | None = None, *,
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


def signed_events(db: Database, kind: str, work_id: str | None = None) -> list[dict]:
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


def leaf_index(db: Database, record_id: str) -> int | None:
    """The index of the leaf that logs ``record_id``, if it is logged."""
    row = db.execute("SELECT idx FROM log_leaves WHERE record_id = ?", [record_id]).fetchone()
    return None if row is None else row[0]


def ids_with_prefix(db: Database, prefix: str, limit: int = 2) -> list[tuple[str, str]]:
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


def size(db: Database) -> int:
    """Number of leaves (the highest index + 1: O(1) on the rowid, where COUNT(*) reads every row)."""
    return db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves").fetchone()[0]


class Nodes:
    """Perfect-subtree hashes read from ``log_nodes`` (memoised for one proof or root)."""

    def __init__(self, db: Database):
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


def append(db: Database, record: SignedRecord, work_id: str) -> int:
    """Append a record as the next leaf (inside the caller's transaction); returns its index.  Its kind column
    is :func:`leaf_kind` of the record: every signed record takes this one path into the log."""
    kind = leaf_kind(record)
    leaf = record_leaf(record)
    digest = leaf_hash(leaf)
    index = size(db)
    db["log_leaves"].insert({"idx": index, "kind": kind, "record_id": record.record_id, "work_id": work_id,
                             "leaf": leaf, "leaf_hash": digest, "created_at": utc_now()})
    nodes = Nodes(db)
    db["log_nodes"].insert_all(
        {"level": level, "idx": idx, "hash": value}
        for level, idx, value in completed_nodes(index, digest, nodes.perfect))
    return index


def root(db: Database, tree_size: int | None = None) -> bytes:
    n = size(db) if tree_size is None else tree_size
    return range_hash(Nodes(db).perfect, 0, n)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as stored: the note, and the key that signed it."""

    size: int
    root: bytes
    note: str
    key_id: str
    created_at: str

    def to_dict(self) -> dict:
        # Hex like every other hash artforge prints; the note keeps base64, as the C2SP checkpoint format says.
        return {"size": self.size, "root": self.root.hex(), "note": self.note,
                "key_id": self.key_id, "created_at": self.created_at}


def remember_log_key(db: Database, signer: Signer) -> str:
    """Record the log key's public half (once); returns the log's origin."""
    origin = origin_for(signer.public_key)
    db["log_keys"].insert({"key_id": signer.key_id, "origin": origin, "public_key": signer.public_key.hex(),
                           "created_at": utc_now()}, ignore=True)
    return origin


def write_checkpoint(db: Database, signer: Signer) -> SignedCheckpoint:
    """Sign and store a checkpoint of the log as it is now (inside the caller's transaction)."""
    origin = remember_log_key(db, signer)
    n = size(db)
    checkpoint = Checkpoint(origin, n, root(db, n))
    note = sign_note(checkpoint.text(), origin, signer.public_key, signer.sign)
    stored = SignedCheckpoint(n, checkpoint.root, note, signer.key_id, utc_now())
    db["log_checkpoints"].insert({"size": n, "root": checkpoint.root, "note": note, "key_id": signer.key_id,
                                  "created_at": stored.created_at}, replace=True)
    return stored


def latest_checkpoint(db: Database) -> SignedCheckpoint | None:
    rows = list(db["log_checkpoints"].rows_where(order_by="size DESC", limit=1))
    if not rows:
        return None
    row = rows[0]
    return SignedCheckpoint(row["size"], bytes(row["root"]), row["note"], row["key_id"], row["created_at"])


def checkpoints(db: Database) -> list[SignedCheckpoint]:
    return [SignedCheckpoint(r["size"], bytes(r["root"]), r["note"], r["key_id"], r["created_at"])
            for r in db["log_checkpoints"].rows_where(order_by="size")]


def log_keeper(db: Database) -> str | None:
    """The id of the key that signs this log's checkpoints: the signer of the newest one, else the first log key
    recorded; None for a log no key has signed yet (the first home to write becomes its keeper)."""
    row = db.execute("SELECT key_id FROM log_checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    if row is None:
        row = db.execute("SELECT key_id FROM log_keys ORDER BY rowid LIMIT 1").fetchone()
    return row[0] if row else None


def log_key(db: Database, key_id: str) -> tuple[str, bytes] | None:
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


def verified_checkpoint(db: Database, stored: SignedCheckpoint) -> tuple[Checkpoint, bytes]:
    key = log_key(db, stored.key_id)
    if key is None:
        raise NotFound(f"the key of the checkpoint at size {stored.size} is not recorded")
    origin, public = key
    return Checkpoint.parse(open_note(stored.note, origin, public)), public


def prove_inclusion(db: Database, record_id: str) -> InclusionProof:
    """An inclusion proof of a logged record, claim or event against the newest checkpoint, checked before it
    is returned."""
    row = db.execute("SELECT idx, leaf_hash FROM log_leaves WHERE record_id = ?", [record_id]).fetchone()
    if row is None:
        raise NotFound(f"record {record_id[:12]} is not in the log")
    stored = latest_checkpoint(db)
    if stored is None or stored.size <= row[0]:
        raise NotFound(f"no checkpoint covers record {record_id[:12]} yet: run 'artforge log checkpoint'")
    checkpoint, public = verified_checkpoint(db, stored)
    path = inclusion_proof(Nodes(db).perfect, row[0], checkpoint.size)
    verify_inclusion(row[0], checkpoint.size, bytes(row[1]), path, checkpoint.root)
    return InclusionProof(record_id, row[0], checkpoint.size, bytes(row[1]), path, stored, public)


def prove_consistency(db: Database, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """A consistency proof between two tree sizes (the newer defaults to the newest checkpoint's)."""
    stored = latest_checkpoint(db)
    newest = stored.size if stored else 0
    new = newest if new_size is None else new_size
    if not 0 <= old_size <= new <= size(db):
        raise UsageError(f"sizes must satisfy 0 <= OLD <= NEW <= {size(db)} (the log's size)")
    nodes = Nodes(db)
    old_root, new_root = range_hash(nodes.perfect, 0, old_size), range_hash(nodes.perfect, 0, new)
    path = consistency_proof(nodes.perfect, old_size, new)
    verify_consistency(old_size, new, old_root, new_root, path)
    return ConsistencyProof(old_size, new, old_root, new_root, path)


def _signed(record: SignedRecord) -> bool:
    from artforge.provenance.keys import verify_signature

    return verify_signature(bytes.fromhex(record.payload["signer"]["public_key"]), bytes.fromhex(record.signature),
                            record.canonical)
