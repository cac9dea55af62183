"""Reading works back: details, history, listings (``artforge show``, ``history``, ``list``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from artforge.chain.tokens import LiveReader, TokenState, recorded_tokens, with_live_state
from artforge.errors import UnknownLicence
from artforge.provenance.records import SignedRecord, check_chain
from artforge.registry.database import Registry
from artforge.registry.licence_catalogue import Licence, LicenceTerms
from artforge.registry.rows import GrantRow, WorkRow
from artforge.usecases.facts import WorkFacts, derive_facts, row_problems
from artforge.usecases.home import Home
from artforge.usecases.private_works import Keyring, PrivateDetails, open_details

VALID, SIGNATURE_INVALID, REGISTRY_TAMPERED = "valid", "signature-invalid", "registry-tampered"

__all__ = ["REGISTRY_TAMPERED", "SIGNATURE_INVALID", "VALID", "HistoryEntry", "Identity", "TokenState", "WorkDetails",
           "export_records", "generator_summary", "is_active", "list_works", "show_work", "with_token_owners", "work_details"]


@dataclass(frozen=True)
class Identity:
    """A public key, and the name it gave itself in a signed claim (or an older unsigned label)."""

    key_id: str
    name: str | None
    name_signed: bool = False  # False: ``name`` is a local label that no key signed (or there is none)

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
class ParentWork:
    """A work this one derives from, as its own signed records describe it."""

    work_id: str
    role: str  # "content" or "style" (a stylized work), or "parent"
    title: str | None  # None when the parent's chain does not verify (or it is not in this registry)
    owner: Identity | None
    status: str  # "valid", "signature-invalid" or "not-in-registry"

    def to_dict(self) -> dict:
        return {**self.__dict__, "owner": self.owner.to_dict() if self.owner else None}


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
    registry_problems: list[str] = field(default_factory=list)  # rows that disagree with the signed records
    lineage: list[ParentWork] = field(default_factory=list)  # the signed parents, with their roles
    private: bool = False  # its registration seals the title, licence and thumbnail (usecases/private_works.py)
    sealed: PrivateDetails | None = None  # the sealed title and licence, where a key of this home opened them

    @property
    def chain_valid(self) -> bool:
        return not self.chain_problems

    @property
    def status(self) -> str:
        """``valid``; ``signature-invalid`` (a record or the chain fails); ``registry-tampered`` (the records
        verify, but the registry's rows about the work say something else: what is shown is the records')."""
        if self.chain_problems:
            return SIGNATURE_INVALID
        return REGISTRY_TAMPERED if self.registry_problems else VALID

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "work": self.work.to_dict(),
            "licence": self.licence.to_dict(),
            "creator": self.creator.to_dict(),
            "owner": self.owner.to_dict(),
            "active_grants": [g.to_dict() for g in self.active_grants],
            "history": [h.to_dict() for h in self.history],
            "signature_valid": self.chain_valid,
            "chain_problems": self.chain_problems,
            "registry_problems": self.registry_problems,
            "tokens": [t.to_dict() for t in self.tokens],
            "derived_from": [p.to_dict() for p in self.lineage],
            "private": self.private,
            **({"sealed": self.sealed.to_dict()} if self.sealed else {}),
        }

    @property
    def display_title(self) -> str:
        """The title to show: the signed one, or a private work's sealed one (marked so) or ``(private work)``."""
        if not self.private:
            return self.work.title
        return f"{self.sealed.title} (sealed)" if self.sealed else "(private work)"

    @property
    def shown_terms(self) -> LicenceTerms:
        """The terms to show: a private work's sealed ones where opened, else the signed licence's."""
        return LicenceTerms.from_dict(self.sealed.licence_terms) if self.sealed else self.licence.terms

    def contact_line(self) -> str:
        """How to reach a private work's owner: the key's signed name (if any) and its key id."""
        name = f"{self.owner.name} " if self.owner.name and self.owner.name_signed else ""
        return f"matches a private registered work; its owner is contactable through key {name}({self.owner.key_id})"


def _identity(registry: Registry, key_id: str) -> Identity:
    signed = registry.identity_name(key_id)
    if signed is not None:
        return Identity(key_id, signed.name, True)
    row = registry.identity(key_id)  # a name stored before names were signed: a label, shown as one
    return Identity(key_id, row.get("name") if row else None, False)


def _summary(record: SignedRecord) -> str:
    payload = record.payload
    if record.record_type == "registration":
        origin = payload.get("origin") or {}
        made = generator_summary(origin) or stylize_summary(origin)
        return f"registered {payload['work']['title']!r} under {payload['licence']['id']}" + (f" ({made})" if made else "")
    if record.record_type == "grant":
        grant = payload["grant"]
        until = f" until {grant['until']}" if grant.get("until") else ""
        return f"granted {grant['to']!r}: {grant['terms']}{until}"
    if record.record_type == "transfer":
        return f"transferred to {payload['transfer']['to']['key_id'][:12]}"
    if record.record_type == "attestation":
        layers = payload["match_layers"]
        return f"attested match layers v{layers['version']} (sha256 {layers['sha256'][:12]})"
    return record.record_type


def generator_summary(origin: dict) -> str:
    """How a generated work was made, in words, from its signed origin ("" for any other origin)."""
    generator = origin.get("generator") if origin.get("type") == "generated" else None
    if not isinstance(generator, dict):
        return ""
    text = f"generated by {generator.get('family')} checkpoint {str(generator.get('checkpoint_sha256'))[:12]}, " \
           f"seed {generator.get('seed')}"
    if generator.get("prompt"):
        text += f", prompt {generator['prompt']!r}"
    parent = generator.get("parent")
    if isinstance(parent, dict):
        images = (generator.get("dataset") or {}).get("images")
        text += (f"; fine-tuned from {parent.get('family')} checkpoint {str(parent.get('checkpoint_sha256'))[:12]} "
                 f"({(parent.get('dataset') or {}).get('name')})" + (f" on {images} images" if images else ""))
    return text


def parent_roles(origin: dict, parents: list[str]) -> dict[str, str]:
    """Parent work id -> its role, from the signed origin (a stylized work names its content and style)."""
    roles = {parent: "parent" for parent in parents}
    if origin.get("type") == "stylized":
        for role in ("content", "style"):
            part = origin.get(role)
            if isinstance(part, dict) and part.get("work_id") in roles:
                roles[part["work_id"]] = role
    return roles


def _lineage(registry: Registry, work: WorkRow, identity) -> list[ParentWork]:
    lineage = []
    for parent_id, role in parent_roles(work.origin, work.parents).items():
        records = registry.records(parent_id)
        if not records:
            lineage.append(ParentWork(parent_id, role, None, None, "not-in-registry"))
            continue
        facts = _facts(records, check_chain(records))
        if facts is None:
            lineage.append(ParentWork(parent_id, role, None, None, SIGNATURE_INVALID))
        else:
            lineage.append(ParentWork(parent_id, role, facts.work.title, identity(facts.work.owner_key_id), VALID))
    return lineage


def stylize_summary(origin: dict) -> str:
    """How a stylized work was made, in words ("" for any other origin)."""
    if origin.get("type") != "stylized":
        return ""
    content, style = origin.get("content") or {}, origin.get("style") or {}
    return (f"stylized ({origin.get('method')}) from content work {str(content.get('work_id'))[:12]} "
            f"in the style of work {str(style.get('work_id'))[:12]}")


def is_active(grant: GrantRow, today: str | None = None) -> bool:
    """A grant is active until the end of its ``until`` day (UTC); open-ended grants always are."""
    today = today or datetime.now(UTC).date().isoformat()
    return grant.until is None or grant.until >= today


def _licence(registry: Registry, licence_id: str, signed_terms: dict | None) -> Licence:
    """The licence's name and text from the catalogue or its signed claim, with the terms the registration
    signed (what the work was offered under), which win over the licence's current ones."""
    try:
        licence = registry.licence(licence_id)
    except UnknownLicence:
        licence = Licence(id=licence_id, name="(licence not in this registry)", terms=LicenceTerms(
            commercial=False, derivatives=False, share_alike=False, attribution=True))
    return replace(licence, terms=LicenceTerms.from_dict(signed_terms)) if signed_terms else licence


def _facts(records: list[SignedRecord], chain_problems: list[str]) -> WorkFacts | None:
    """The chain's facts; None (and a chain problem) when it fails or its registration lacks a member."""
    if chain_problems:
        return None
    try:
        return derive_facts(records)
    except (KeyError, TypeError, AttributeError):  # signed, but not what a registration must hold
        chain_problems.append("the registration record lacks a member artforge needs")
        return None


def work_details(registry: Registry, work_id: str, keyring: Keyring | None = None) -> WorkDetails:
    """Details of a work from an open registry (shared by ``show`` and ``verify``).

    What is shown comes from the work's verified records; the registry's rows only serve when the chain does
    not verify (the status then says so), and any disagreement between them makes the status
    ``registry-tampered``.  A private work's sealed title and licence are opened only with a ``keyring`` that
    holds a key they are wrapped for, and only when they are what its signed registration commits to.
    """
    records = registry.records(work_id)
    chain_problems = check_chain(records)
    facts = _facts(records, chain_problems)
    if facts is None:
        work = registry.work(work_id)
        grants, terms, problems = registry.grants(work_id), None, []
    else:
        work, grants, terms = facts.work, facts.grants, facts.licence_terms
        problems = row_problems(registry, facts)
    private = facts is not None and facts.private is not None
    tokens = recorded_tokens(registry, work.id)
    problems += [problem for token in tokens for problem in token.problems]
    known: dict[str, Identity] = {}

    def identity(key_id: str) -> Identity:  # each key's name claim is verified once per work
        if key_id not in known:
            known[key_id] = _identity(registry, key_id)
        return known[key_id]

    history = [
        HistoryEntry(seq, r.record_id, r.record_type, r.payload.get("created_at", ""),
                     identity(r.signer_key_id), _summary(r))
        for seq, r in enumerate(records)
    ]
    return WorkDetails(
        work=work,
        licence=_licence(registry, work.licence_id, terms),
        creator=identity(work.creator_key_id),
        owner=identity(work.owner_key_id),
        active_grants=[g for g in grants if is_active(g)],
        history=history,
        records=records,
        chain_problems=chain_problems,
        tokens=tokens,
        registry_problems=problems,
        lineage=_lineage(registry, work, identity),
        private=private,
        sealed=open_details(registry, keyring, work.id, records[0].payload) if private and keyring and facts else None,
    )


def with_token_owners(details: WorkDetails, reader: LiveReader) -> WorkDetails:
    """``details`` with each token's current owner and royalty, where its chain answers."""
    if not details.tokens:
        return details
    return replace(details, tokens=with_live_state(details.tokens, reader))


def show_work(home: Home, reference: str, rpc_url: str | None = None, open_private: bool = True) -> WorkDetails:
    """Details of the work named by an id or id prefix; tokens are read from their chains when reachable.
    A private work's sealed details are opened with this home's keys unless ``open_private`` is False (the
    HTTP service: its callers are not the home's key holders)."""
    with home.registry() as registry:
        keyring = Keyring(home) if open_private else None
        details = work_details(registry, registry.resolve_work_id(reference), keyring)
    return with_token_owners(details, LiveReader(home.settings.home, rpc_url))


def list_works(home: Home, limit: int | None = None, offset: int = 0) -> list[WorkRow]:
    """Registered works, oldest first."""
    with home.registry() as registry:
        return registry.works(limit=limit, offset=offset)


def export_records(home: Home, reference: str) -> list[dict]:
    """A work's signed records in portable form (for offline verification)."""
    with home.registry() as registry:
        return [r.to_dict() for r in registry.records(registry.resolve_work_id(reference))]
