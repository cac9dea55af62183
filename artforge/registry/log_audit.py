"""Auditing the transparency log: its leaves, nodes and checkpoints against each other and the signed rows.

``audit_log`` proves the stored log is one append-only history: every leaf hashes to its stored hash and
holds exactly a stored record's or claim's bytes in the order they were stored; the stored nodes are those
the leaves give; every checkpoint is signed by a recorded log key over the root at its size.
``check_against`` proves today's log extends a checkpoint saved elsewhere.
"""

from __future__ import annotations

import json

from artforge.errors import InvalidRecord, NotFound
from artforge.provenance.keys import key_id_for
from artforge.provenance.merkle import MemoryTree, ProofError, consistency_proof, leaf_hash, verify_consistency
from artforge.provenance.notes import Checkpoint, NoteError, open_note
from artforge.provenance.records import SignedRecord
from artforge.registry.backends import Database
from artforge.registry.transparency_log import (
    CLAIM_KIND,
    Nodes,
    checkpoints,
    latest_checkpoint,
    leaf_kind,
    log_key,
    origin_for,
    record_leaf,
    verified_checkpoint,
)


def audit_log(db: Database, expected_key: bytes | None = None) -> tuple[list[str], list[str]]:
    """Check the whole log; returns (problems, notes).  Each problem names what was changed and where.

    Leaves must be contiguous, hash to their stored hashes, hold exactly the stored records' bytes in the
    order the records were stored; the stored nodes must be those the leaves give; every checkpoint must
    be signed by a recorded log key (``expected_key``, the home's, when given) over the root the leaves
    give at its size, which also makes every checkpoint consistent with every later one.
    """
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


def _audit_logged_table(db: Database, rows: list, kind: str, table: str) -> list[str]:
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


def check_against(db: Database, note: str, expected_key: bytes | None) -> list[str]:
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
        current, _ = verified_checkpoint(db, newest)
    except (NoteError, NotFound) as exc:
        return [f"the registry's newest checkpoint does not verify ({exc})"]
    if saved.size > current.size:
        return [f"the log was cut: the saved checkpoint covers {saved.size} leaves, the log now {current.size}"]
    try:
        path = consistency_proof(Nodes(db).perfect, saved.size, current.size)
        verify_consistency(saved.size, current.size, saved.root, current.root, path)
    except (ProofError, NotFound):
        return [f"the log does not extend the saved checkpoint at size {saved.size}: its history was rewritten "
                f"or forked (no consistency proof from size {saved.size} to {current.size})"]
    return []
