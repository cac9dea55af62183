"""A work's facts as its signed chain states them, and where the registry's rows disagree with them.

The records are the truth; ``works``, ``fingerprints``, ``grants``, ``transfers`` and ``match_layers`` are
indexes over them, there so that look-ups are fast.  ``show`` and ``verify`` present what :func:`derive_facts`
reads from the verified chain, never a row, and report a work whose rows disagree (:func:`row_problems`) as
"registry tampered"; ``audit`` runs the same comparison over every work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from artforge.errors import InvalidRecord, NotFound, RegistryTampered
from artforge.matching import layer_store, mark_store
from artforge.matching.digest import layers_digest
from artforge.provenance.records import SignedRecord, check_chain, private_commitment, signed_layers_digest
from artforge.registry import sealed_store
from artforge.registry.database import Registry
from artforge.registry.rows import GrantRow, WorkRow


@dataclass(frozen=True)
class WorkFacts:
    """What a work's chain of records says about it."""

    work: WorkRow  # the works row the chain implies
    fingerprints: dict  # as signed at registration
    licence_terms: dict  # as signed at registration
    grants: list[GrantRow]  # every grant record, in chain order
    transfers: list[dict]  # the transfers rows the chain implies, in chain order
    layers: dict | None  # the signed {"version", "sha256"} of the match layers, or None (registered before it)
    watermark: dict | None = None  # the signed {"scheme", "id"} of the work's invisible mark, or None
    private: dict | None = None  # a private work's signed commitment to its sealed details, or None


def derive_facts(records: list[SignedRecord]) -> WorkFacts:
    """Read a work's facts from its chain (registration first).  ``KeyError``/``TypeError`` on a malformed
    chain: check it first (:func:`~artforge.provenance.records.check_chain`)."""
    registration = records[0].payload
    signed_work = registration["work"]
    work_id = records[0].record_id
    owner = records[0].signer_key_id
    grants: list[GrantRow] = []
    transfers: list[dict] = []
    for record in records[1:]:
        payload = record.payload
        if record.record_type == "grant":
            grant = payload["grant"]
            grants.append(GrantRow(record.record_id, work_id, grant["to"], grant["terms"], grant["until"],
                                   record.signer_key_id, payload["created_at"]))
        elif record.record_type == "transfer":
            to_key_id = payload["transfer"]["to"]["key_id"]
            transfers.append({"record_id": record.record_id, "work_id": work_id, "from_key_id": owner,
                              "to_key_id": to_key_id, "created_at": payload["created_at"]})
            owner = to_key_id
    work = WorkRow(
        id=work_id, title=signed_work["title"], pixel_sha256=signed_work["pixel_sha256"],
        file_sha256=signed_work["file_sha256"], width=signed_work["width"], height=signed_work["height"],
        creator_key_id=records[0].signer_key_id, owner_key_id=owner, licence_id=registration["licence"]["id"],
        origin=registration["origin"], parents=list(registration["parents"]), created_at=registration["created_at"],
        head_record_id=records[-1].record_id, record_count=len(records),
    )
    return WorkFacts(work, dict(signed_work["fingerprints"]), dict(registration["licence"]["terms"]), grants,
                     transfers, signed_layers_digest(records), signed_work.get("watermark"),
                     private_commitment(registration))


def signed_facts(registry: Registry, work_ref: str) -> WorkFacts:
    """A work's facts as its verified records state them, refusing one whose chain fails or whose rows
    disagree with it: nothing is appended to a chain, or shared from a work, that cannot be trusted."""
    work_id = registry.resolve_work_id(work_ref)
    records = registry.records(work_id)
    problems = check_chain(records)
    if problems:
        raise InvalidRecord(f"work {work_id[:12]}: its record chain does not verify ({'; '.join(problems)})")
    facts = derive_facts(records)
    disagreements = row_problems(registry, facts)
    if disagreements:
        raise RegistryTampered(f"work {work_id[:12]}: {'; '.join(disagreements)} (see 'artforge audit')")
    return facts


def row_problems(registry: Registry, facts: WorkFacts) -> list[str]:
    """Each way the registry's rows for this work differ from what its chain says (empty when they agree)."""
    work_id = facts.work.id
    problems = []
    try:
        stored = registry.work(work_id)
    except (NotFound, ValueError, TypeError):  # gone, or a row whose JSON columns no longer parse
        stored = None
    if stored != facts.work:
        changed = [] if stored is None else [name for name in stored.__dataclass_fields__
                                             if getattr(stored, name) != getattr(facts.work, name)]
        problems.append("the works row disagrees with the signed records"
                        + (f" ({', '.join(changed)})" if changed else " (missing or unreadable)"))
    fingerprint_rows = registry.stored_rows("fingerprints", work_id)
    if fingerprint_rows != [{"work_id": work_id, **facts.fingerprints}]:
        problems.append("the fingerprints row disagrees with the signed fingerprints")
    grant_rows = [GrantRow(**row) for row in registry.stored_rows("grants", work_id, order_by="record_id")]
    if sorted(grant_rows, key=lambda g: g.record_id) != sorted(facts.grants, key=lambda g: g.record_id):
        problems.append("the grants table disagrees with the signed grant records")
    if registry.stored_rows("transfers", work_id, order_by="record_id") != sorted(facts.transfers, key=lambda t: t["record_id"]):
        problems.append("the transfers table disagrees with the signed transfer records")
    problems += layer_problems(layer_store.match_layers_of(registry, work_id), facts)
    if mark_store.marks_of(registry, work_id) != ([facts.watermark] if facts.watermark else []):
        problems.append("the watermarks table disagrees with the signed watermark")
    return problems + sealed_problems(sealed_store.sealed_details(registry, work_id), facts)


def sealed_problems(sealed: bytes | None, facts: WorkFacts) -> list[str]:
    """Whether a private work's sealed details are the ones its registration commits to (and only a private
    work has them).  The thumbnail needs no check here: it is inside the signed match layers."""
    if facts.private is None:
        return [] if sealed is None else ["a public work has sealed details"]
    if sealed is None:
        return ["the sealed details of this private work are missing from the registry"]
    if hashlib.sha256(sealed).hexdigest() != facts.private.get("details_sha256"):
        return ["the sealed details differ from what the registration commits to"]
    return []


def layer_problems(row: dict | None, facts: WorkFacts) -> list[str]:
    """Whether a work's stored match layers are the ones its chain signs (nothing to say when none are signed)."""
    if facts.layers is None:
        return []
    if row is None:
        return ["the signed match layers are missing from the registry"]
    if layers_digest(row) != facts.layers:
        return ["the match layers differ from the signed digest"]
    return []

