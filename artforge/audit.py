"""``artforge audit``: re-verify every signature and every chain, and cross-check the index tables.

The signed records are the truth.  Audit recomputes each record's id from its stored bytes, checks each
chain (signatures, ``prev`` links, that only the owner of the day signed), and checks that the ``works``,
``fingerprints``, ``grants`` and ``transfers`` tables say what the records say, and checks the
transparency log (:func:`artforge.translog.audit`): every record logged, in order, byte for byte, and
every checkpoint signed over the root the leaves give.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from . import translog
from .config import LOG_KEY_NAME
from .home import Home
from .provenance import SignedRecord, canonical_bytes, check_chain
from .errors import InvalidRecord
from .registry import Registry


@dataclass(frozen=True)
class AuditProblem:
    """One thing that does not verify."""

    work_id: str
    message: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class AuditReport:
    """The outcome of an audit."""

    works_checked: int = 0
    records_checked: int = 0
    log_size: int = 0
    problems: list[AuditProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "works_checked": self.works_checked,
            "records_checked": self.records_checked,
            "log_size": self.log_size,
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
        }


def _check_stored_rows(rows: list[dict]) -> tuple[list[SignedRecord], list[str]]:
    problems: list[str] = []
    records: list[SignedRecord] = []
    for expected_seq, row in enumerate(rows):
        short = row["id"][:12]
        if row["seq"] != expected_seq:
            problems.append(f"record {short}: sequence number {row['seq']}, expected {expected_seq}")
        stored = row["payload"].encode()
        if hashlib.sha256(stored).hexdigest() != row["id"]:
            problems.append(f"record {short}: stored bytes do not hash to its id")
        try:
            payload = json.loads(stored)
            if canonical_bytes(payload) != stored:
                problems.append(f"record {short}: stored bytes are not canonical")
        except (ValueError, InvalidRecord) as exc:
            problems.append(f"record {short}: unreadable payload ({exc})")
            continue
        if payload.get("prev") != row["prev_id"] or payload.get("type") != row["type"]:
            problems.append(f"record {short}: index columns disagree with the signed payload")
        records.append(SignedRecord(payload=payload, signature=row["signature"]))
    return records, problems


def _check_index(registry: Registry, work_id: str, records: list[SignedRecord]) -> list[str]:
    work = registry.work(work_id)
    registration = records[0].payload
    problems = []
    if work.head_record_id != records[-1].record_id or work.record_count != len(records):
        problems.append("works row does not point at the last record")
    if work.creator_key_id != records[0].signer_key_id:
        problems.append("works row names another creator than the registration record")
    owner = records[0].signer_key_id
    for record in records[1:]:
        if record.record_type == "transfer":
            owner = record.payload["transfer"]["to"]["key_id"]
    if work.owner_key_id != owner:
        problems.append("works row names another owner than the chain of transfers")
    signed_work = registration.get("work", {})
    if work.pixel_sha256 != signed_work.get("pixel_sha256") or work.licence_id != registration.get("licence", {}).get("id"):
        problems.append("works row disagrees with the registration record (pixels or licence)")
    stored_fp = registry.fingerprint(work_id).to_dict()
    if stored_fp != {**stored_fp, **signed_work.get("fingerprints", {})}:
        problems.append("fingerprints row disagrees with the signed fingerprints")
    grant_ids = {g.record_id for g in registry.grants(work_id)}
    signed_grants = {r.record_id for r in records if r.record_type == "grant"}
    if grant_ids != signed_grants:
        problems.append("grants table disagrees with the signed grant records")
    return problems


def audit_registry(home: Home) -> AuditReport:
    """Verify every record and chain in the registry; report each failure, never stop at the first."""
    report = AuditReport()
    with home.registry() as registry:
        rows_by_work: dict[str, list[dict]] = {}
        for row in registry.record_rows():
            rows_by_work.setdefault(row["work_id"], []).append(row)
        work_ids = {w.id for w in registry.works()}
        for work_id in sorted(work_ids - rows_by_work.keys()):
            report.problems.append(AuditProblem(work_id, "work has no records"))
        for work_id, rows in rows_by_work.items():
            report.works_checked += 1
            report.records_checked += len(rows)
            records, problems = _check_stored_rows(rows)
            if work_id not in work_ids:
                problems.append("records belong to a work that is not in the works table")
            elif records and not problems:
                problems += check_chain(records)
                if records[0].record_id != work_id:
                    problems.append("work id is not the id of its registration record")
                problems += _check_index(registry, work_id, records)
            elif records:
                problems += check_chain(records)
            report.problems.extend(AuditProblem(work_id, message) for message in problems)
        log_problems, report.notes = translog.audit(registry.db, _home_log_key(home))
        report.log_size = translog.size(registry.db)
        report.problems.extend(AuditProblem("log", message) for message in log_problems)
    return report


def _home_log_key(home: Home) -> bytes | None:
    store = home.log_keystore
    return bytes.fromhex(store.info(LOG_KEY_NAME).public_key) if store.exists(LOG_KEY_NAME) else None
