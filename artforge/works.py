"""Reading works back: details, history, listings (``artforge show``, ``history``, ``list``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .home import Home
from .chain.tokens import LiveReader, TokenState, recorded_tokens, with_live_state
from .licences import Licence
from .provenance import SignedRecord, check_chain
from .registry import GrantRow, Registry, WorkRow


@dataclass(frozen=True)
class Identity:
    """A public key as the registry knows it."""

    key_id: str
    name: str | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class HistoryEntry:
    """One record of a work's chain, summarised."""

    seq: int
    record_id: str
    type: str
    created_at: str
    signer: Identity
    summary: str

    def to_dict(self) -> dict:
        return {**self.__dict__, "signer": self.signer.to_dict()}


@dataclass(frozen=True)
class WorkDetails:
    """Everything the registry says about one work, with its chain checked."""

    work: WorkRow
    licence: Licence
    creator: Identity
    owner: Identity
    active_grants: list[GrantRow]
    history: list[HistoryEntry]
    records: list[SignedRecord]
    chain_problems: list[str]
    tokens: list[TokenState] = field(default_factory=list)  # on-chain tokens of the work (artforge mint)

    @property
    def chain_valid(self) -> bool:
        return not self.chain_problems

    def to_dict(self) -> dict:
        return {
            "work": self.work.to_dict(),
            "licence": self.licence.to_dict(),
            "creator": self.creator.to_dict(),
            "owner": self.owner.to_dict(),
            "active_grants": [g.to_dict() for g in self.active_grants],
            "history": [h.to_dict() for h in self.history],
            "signature_valid": self.chain_valid,
            "chain_problems": self.chain_problems,
            "tokens": [t.to_dict() for t in self.tokens],
        }


def _identity(registry: Registry, key_id: str) -> Identity:
    row = registry.identity(key_id)
    return Identity(key_id=key_id, name=row.get("name") if row else None)


def _summary(record: SignedRecord) -> str:
    payload = record.payload
    if record.record_type == "registration":
        return f"registered {payload['work']['title']!r} under {payload['licence']['id']}"
    if record.record_type == "grant":
        grant = payload["grant"]
        until = f" until {grant['until']}" if grant.get("until") else ""
        return f"granted {grant['to']!r}: {grant['terms']}{until}"
    if record.record_type == "transfer":
        return f"transferred to {payload['transfer']['to']['key_id'][:12]}"
    return record.record_type


def is_active(grant: GrantRow, today: str | None = None) -> bool:
    """A grant is active until the end of its ``until`` day (UTC); open-ended grants always are."""
    today = today or datetime.now(UTC).date().isoformat()
    return grant.until is None or grant.until >= today


def work_details(registry: Registry, work: WorkRow) -> WorkDetails:
    """Details of a work from an open registry (shared by ``show`` and ``verify``)."""
    records = registry.records(work.id)
    history = [
        HistoryEntry(seq, r.record_id, r.record_type, r.payload.get("created_at", ""),
                     _identity(registry, r.signer_key_id), _summary(r))
        for seq, r in enumerate(records)
    ]
    return WorkDetails(
        work=work,
        licence=registry.licence(work.licence_id),
        creator=_identity(registry, work.creator_key_id),
        owner=_identity(registry, work.owner_key_id),
        active_grants=[g for g in registry.grants(work.id) if is_active(g)],
        history=history,
        records=records,
        chain_problems=check_chain(records),
        tokens=recorded_tokens(registry, work.id),
    )


def with_token_owners(details: WorkDetails, reader: LiveReader) -> WorkDetails:
    """``details`` with each token's current owner and royalty, where its chain answers."""
    if not details.tokens:
        return details
    return replace(details, tokens=with_live_state(details.tokens, reader))


def show_work(home: Home, reference: str, rpc_url: str | None = None) -> WorkDetails:
    """Details of the work named by an id or id prefix; tokens are read from their chains when reachable."""
    with home.registry() as registry:
        details = work_details(registry, registry.resolve_work(reference))
    return with_token_owners(details, LiveReader(home.settings.home, rpc_url))


def list_works(home: Home, limit: int | None = None, offset: int = 0) -> list[WorkRow]:
    """Registered works, oldest first."""
    with home.registry() as registry:
        return registry.works(limit=limit, offset=offset)


def export_records(home: Home, reference: str) -> list[dict]:
    """A work's signed records in portable form (for offline verification)."""
    with home.registry() as registry:
        return [r.to_dict() for r in registry.records(registry.resolve_work(reference).id)]
