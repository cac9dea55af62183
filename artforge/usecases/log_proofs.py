"""``artforge log`` and ``artforge export --bundle``: checkpoints, proofs, and self-contained evidence.

A bundle is everything a third party needs to check a work's history offline with only ``cryptography``
and ``hashlib`` (``python -m artforge.verify_bundle``): the signed records, their signers' public keys, each
record's inclusion proof, and the log's signed checkpoint and public key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from artforge.fsutil import write_output
from artforge.provenance.notes import sign_note, verifier_key
from artforge.registry import transparency_log as translog
from artforge.registry.transparency_log import ConsistencyProof, InclusionProof, SignedCheckpoint
from artforge.usecases.home import Home

BUNDLE_FORMAT = "artforge.bundle/1"


@dataclass(frozen=True)
class WorkHead:
    """A work's history at one tree size: how many records, and the last one's id."""

    origin: str
    work_id: str
    head: str
    records: int
    tree_size: int

    def text(self) -> str:
        return (f"{self.origin}\nwork {self.work_id}\nhead {self.head}\nrecords {self.records}\n"
                f"size {self.tree_size}\n")


@dataclass(frozen=True)
class LogState:
    """The newest checkpoint and how to verify it."""

    checkpoint: SignedCheckpoint
    log_size: int
    origin: str
    public_key: bytes
    signed_now: bool

    def to_dict(self) -> dict:
        return {**self.checkpoint.to_dict(), "log_size": self.log_size, "origin": self.origin,
                "public_key": self.public_key.hex(), "verifier_key": verifier_key(self.origin, self.public_key),
                "signed_now": self.signed_now}


def log_checkpoint(home: Home, out: Path | None = None) -> LogState:
    """The newest checkpoint; one is signed first if the log has grown past it (or has none).  With ``out``,
    the signed note is also written there (write-then-rename), to be kept outside the home."""
    with home.registry() as registry:
        db = registry.db
        latest = translog.latest_checkpoint(db)
        signed_now = latest is None or latest.size < translog.size(db)
        if signed_now:
            signer = home.log_signer()
            with registry.transaction():
                latest = translog.write_checkpoint(db, signer)
        origin, public = translog.log_key(db, latest.key_id)
        state = LogState(latest, translog.size(db), origin, public, signed_now)
    if out is not None:
        write_output(out, latest.note.encode())
    return state


def prove_record(home: Home, reference: str) -> InclusionProof:
    """``artforge log prove RECORD``."""
    with home.registry() as registry:
        return translog.prove_inclusion(registry.db, registry.resolve_record(reference, logged=True))


def prove_consistency(home: Home, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """``artforge log consistency OLD [NEW]``."""
    with home.registry() as registry:
        return translog.prove_consistency(registry.db, old_size, new_size)


@dataclass(frozen=True)
class BundleResult:
    """Where a bundle was written and what it holds."""

    path: str  # "-" when the bundle went to the caller, not to a file
    work_id: str
    records: int
    tree_size: int
    text: str = field(default="", repr=False)  # the bundle as written: JSON, indented, one final newline

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "text"}


def build_bundle(home: Home, reference: str) -> dict:
    """The bundle of a work: records, keys, inclusion proofs against one checkpoint (signed first if the
    log has grown past the newest)."""
    log_checkpoint(home)
    with home.registry() as registry, registry.transaction():  # one snapshot: every proof, one checkpoint
        work = registry.resolve_work(reference)
        records = registry.records(work.id)
        proofs = [translog.prove_inclusion(registry.db, record.record_id) for record in records]
    checkpoint, public = proofs[-1].checkpoint, proofs[-1].log_public_key
    origin = translog.origin_for(public)
    # The log key also attests how many records the work has at this size, and which is the last: a bundle
    # with a record left out (say, the transfer to a new owner) then fails, though each record in it is valid.
    head = WorkHead(origin, work.id, records[-1].record_id, len(records), checkpoint.size)
    signer = home.log_signer()
    return {
        "format": BUNDLE_FORMAT,
        "work_id": work.id,
        "records": [{**record.to_dict(), "leaf_index": proof.index, "inclusion_path": [p.hex() for p in proof.path]}
                    for record, proof in zip(records, proofs)],
        "public_keys": {r.signer_key_id: r.payload["signer"]["public_key"] for r in records},
        "log": {"origin": origin, "public_key": public.hex(), "verifier_key": verifier_key(origin, public),
                "tree_size": checkpoint.size, "checkpoint": checkpoint.note,
                "work_head": sign_note(head.text(), origin, signer.public_key, signer.sign)},
    }


def export_bundle(home: Home, reference: str, out: Path | None) -> BundleResult:
    """``artforge export WORK --bundle out.json`` (written by write-then-rename); with ``out=None`` nothing is
    written and the caller gets the bundle's text (``--bundle -``: stdout)."""
    bundle = build_bundle(home, reference)
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if out is not None:
        write_output(out, text.encode())
    return BundleResult("-" if out is None else str(out), bundle["work_id"], len(bundle["records"]),
                        bundle["log"]["tree_size"], text)
