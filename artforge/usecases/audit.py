"""``artforge audit``: re-verify every signature, chain and claim, and check every other row against them.

The signed records and claims are the truth; every other table is either derived from them and checked
here, or a label shown as one:

* each record's id from its stored bytes, each chain (signatures, ``prev`` links, that only the owner of the
  day signed), and the record table's own columns against the payloads;
* ``works``, ``fingerprints``, ``grants``, ``transfers``, ``match_layers`` and ``watermarks`` row by row against what the
  chains say (:func:`artforge.usecases.facts.row_problems`), and no row that indexes nothing signed;
* ``claims`` (signed names and custom licences), and ``identities`` and ``licences`` against them and
  against the catalogue of built-in licences that ships in the package;
* the transparency log (:func:`artforge.registry.log_audit.audit_log`): every record and claim logged, in
  order, byte for byte, every checkpoint signed over the root the leaves give; every minted token's row as
  its mint event says (:func:`artforge.chain.events.audit_chain_events`); and, with ``against``, that the
  log extends checkpoints saved elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from artforge.chain import events
from artforge.errors import BadInput, InvalidRecord
from artforge.fsutil import read_regular_file
from artforge.matching import layer_store, mark_store
from artforge.provenance.keys import key_id_for
from artforge.provenance.records import SignedRecord, canonical_bytes, check_chain
from artforge.registry import claims, log_audit
from artforge.registry import transparency_log as translog
from artforge.registry.database import Registry
from artforge.registry.licence_catalogue import BUILTIN_LICENCES
from artforge.registry.migrations import licence_row
from artforge.usecases.facts import derive_facts, row_problems
from artforge.usecases.home import Home

MAX_CHECKPOINT_BYTES = 64 * 1024


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

    def add(self, where: str, messages: Sequence[str]) -> None:
        self.problems.extend(AuditProblem(where, message) for message in messages)

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
        short = str(row["id"])[:12]
        if row["seq"] != expected_seq:
            problems.append(f"record {short}: sequence number {row['seq']}, expected {expected_seq}")
        payload, row_problems_found = _stored_payload(row, f"record {short}")
        problems += row_problems_found
        if payload is None:
            continue
        record = SignedRecord(payload=payload, signature=row["signature"])
        if (row["prev_id"], row["type"], row["signer_key_id"], row["created_at"]) != (
                record.prev, record.record_type, record.signer_key_id, payload.get("created_at")):
            problems.append(f"record {short}: index columns disagree with the signed payload")
        records.append(record)
    return records, problems


def _stored_payload(row: dict, where: str) -> tuple[dict | None, list[str]]:
    """A stored payload, checked to hash to the row's id and to be canonical."""
    stored = (row["payload"] or "").encode()
    problems = []
    if hashlib.sha256(stored).hexdigest() != row["id"]:
        problems.append(f"{where}: stored bytes do not hash to its id")
    try:
        payload = json.loads(stored)
        if not isinstance(payload, dict) or canonical_bytes(payload) != stored:
            return None, problems + [f"{where}: stored bytes are not canonical"]
    except (ValueError, InvalidRecord) as exc:
        return None, problems + [f"{where}: unreadable payload ({exc})"]
    return payload, problems


def _audit_works(registry: Registry, report: AuditReport) -> None:
    rows_by_work: dict[str, list[dict]] = {}
    for row in registry.record_rows():
        rows_by_work.setdefault(row["work_id"], []).append(row)
    work_ids = set(registry.column_values("works", "id"))
    for work_id in sorted(work_ids - rows_by_work.keys()):
        report.add(work_id, ["work has no records"])
    signed: dict[str, set[str]] = {"grants": set(), "transfers": set()}
    unsigned_layers = 0
    for work_id, rows in rows_by_work.items():
        report.works_checked += 1
        report.records_checked += len(rows)
        records, problems = _check_stored_rows(rows)
        if work_id not in work_ids:
            problems.append("records belong to a work that is not in the works table")
        if records:
            problems += check_chain(records)
        if records and not problems:
            if records[0].record_id != work_id:
                problems.append("work id is not the id of its registration record")
            try:
                facts = derive_facts(records)
            except (KeyError, TypeError, AttributeError):
                problems.append("the registration record lacks a member the registry needs")
            else:
                problems += row_problems(registry, facts)
                signed["grants"] |= {g.record_id for g in facts.grants}
                signed["transfers"] |= {t["record_id"] for t in facts.transfers}
                unsigned_layers += facts.layers is None
        report.add(work_id, problems)
    reported = _ids_of_broken(rows_by_work, report)
    for table in ("grants", "transfers"):
        for record_id in registry.column_values(table, "record_id"):
            if record_id not in signed[table] and record_id not in reported:
                report.add(table, [f"{table} row {str(record_id)[:12]} indexes no signed {table[:-1]} record"])
    orphans = {"fingerprints": registry.column_values("fingerprints", "work_id"),
               "match_layers": layer_store.layer_work_ids(registry),
               "watermarks": mark_store.marked_work_ids(registry)}
    for table, stored_ids in orphans.items():
        for work_id in stored_ids:
            if work_id not in rows_by_work:
                report.add(table, [f"{table} row of {str(work_id)[:12]}, a work with no records"])
    if unsigned_layers:
        report.notes.append(f"{unsigned_layers} work(s) registered before match layers were signed: 'verify' does "
                            "not use their layers as evidence until 'artforge attest' signs them")


def _ids_of_broken(rows_by_work: dict[str, list[dict]], report: AuditReport) -> set[str]:
    # Rows of a work whose chain already failed are reported with it, not again as orphans.
    failed = {p.work_id for p in report.problems}
    return {row["id"] for work_id, rows in rows_by_work.items() if work_id in failed for row in rows}


def _audit_claims(registry: Registry, report: AuditReport) -> None:
    db = registry.db
    for row in claims.claim_rows(db):
        where = f"claim {str(row['id'])[:12]}"
        payload, problems = _stored_payload(row, where)
        if payload is not None:
            record = SignedRecord(payload, row["signature"])
            problems += [f"{where}: {p}" for p in claims.check_claim(record)]
            if (row["type"], row["subject"], row["signer_key_id"], row["created_at"]) != (
                    record.record_type, claims.subject_of(record), record.signer_key_id, payload.get("created_at")):
                problems.append(f"{where}: index columns disagree with the signed claim")
        report.add("claims", problems)
    report.add("claims", [f"role claim {claim_id[:12]} gives nothing: {why}"
                          for claim_id, why in claims.role_state(db).problems])
    labels = 0
    for row in registry.stored_rows("identities"):
        where = f"identity {str(row['key_id'])[:12]}"
        problems = []
        try:
            if key_id_for(bytes.fromhex(row["public_key"])) != row["key_id"]:
                problems.append(f"{where}: its key id is not that of its public key")
        except (ValueError, TypeError):
            problems.append(f"{where}: its public key is not hex")
        signed = claims.identity_name(db, row["key_id"])
        if signed is not None and row["name"] != signed.name:
            problems.append(f"{where}: its name is not the one the key signed")
        labels += signed is None and bool(row["name"])
        report.add("identities", problems)
    if labels:
        report.notes.append(f"{labels} key name(s) stored before names were signed are shown as unsigned labels "
                            "('artforge attest' has this home's keys sign theirs)")
    _audit_licences(registry, report)


def _audit_licences(registry: Registry, report: AuditReport) -> None:
    db = registry.db
    stored = {row["id"]: row for row in registry.stored_rows("licences")}
    for licence_id, licence in BUILTIN_LICENCES.items():
        if stored.pop(licence_id, None) != licence_row(licence):
            report.add("licences", [f"licence {licence_id}: its row differs from the built-in catalogue"])
    for licence_id in claims.claimed_licence_ids(db):
        if licence_id not in stored and claims.signed_licence(db, licence_id) is not None:
            report.add("licences", [f"licence {licence_id}: a claim signs it, but the licences table has no row of it"])
    unsigned = []
    for licence_id, row in stored.items():
        signed = claims.signed_licence(db, licence_id, row.get("text") or "")
        if signed is None:
            if row.get("builtin"):
                report.add("licences", [f"licence {licence_id}: marked built-in, but the catalogue has no such licence"])
            unsigned.append(str(licence_id))
        elif row != {**licence_row(signed), "text": row.get("text")} or signed.text != (row.get("text") or ""):
            report.add("licences", [f"licence {licence_id}: its row differs from the claim that defines it"])
        elif not claims.licence_text_signed(db, licence_id, row.get("text") or ""):  # erased: reads as no text
            report.add("licences", [f"licence {licence_id}: its text is not the one its claim signs"])
    if unsigned:
        report.notes.append(f"{len(unsigned)} custom licence(s) defined before licences were signed are unsigned "
                            f"labels: {', '.join(sorted(unsigned))} ('artforge attest' signs them)")


def read_checkpoint_file(path: Path) -> str:
    """A saved checkpoint (signed note) from a file, for ``audit --against``."""
    raw = read_regular_file(path, MAX_CHECKPOINT_BYTES, "a saved checkpoint")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a checkpoint (not UTF-8 text)") from None


def audit_registry(home: Home, against: Sequence[Path] = ()) -> AuditReport:
    """Verify every record, claim and chain, every row against them, and the log (and that it extends each
    checkpoint file in ``against``); report each failure, never stop at the first."""
    saved = [(path, read_checkpoint_file(path)) for path in against]  # bad files fail before any work
    with home.registry() as registry:
        return audit_open_registry(registry, home.expected_log_key(), saved)


def audit_open_registry(registry: Registry, log_key: bytes | None = None,
                        saved: Sequence[tuple[Path, str]] = ()) -> AuditReport:
    """The audit of an open registry (``log_key``: the key its checkpoints must be signed by, when known)."""
    report = AuditReport()
    checks: list[tuple[str, Callable[[], None]]] = [
        ("works", lambda: _audit_works(registry, report)),
        ("claims", lambda: _audit_claims(registry, report)),
        ("log", lambda: _audit_log(registry, report, log_key, list(saved))),
    ]
    for where, check in checks:
        try:
            check()
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # A value no artforge writes (a NULL where a key or hash belongs): edited by hand.
            report.add(where, [f"a row holds a value artforge never writes ({type(exc).__name__}): "
                               "the registry was edited"])
    return report


def _audit_log(registry: Registry, report: AuditReport, log_key: bytes | None,
               saved: list[tuple[Path, str]]) -> None:
    log_problems, log_notes = log_audit.audit_log(registry.db, log_key)
    report.notes = log_notes + report.notes
    report.log_size = translog.size(registry.db)
    report.add("log", log_problems + events.audit_chain_events(registry))
    for path, note in saved:
        report.add("log", [f"{path}: {p}" for p in log_audit.check_against(registry.db, note, log_key)])
