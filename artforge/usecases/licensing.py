"""Licence operations: custom licences, signed grants, copyright transfers.

Grants and transfers are signed records appended to the work's chain; only the current owner's key may
sign them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from artforge.errors import BadInput, NotOwner, SigningKeyError, UsageError
from artforge.fsutil import read_regular_file
from artforge.provenance.keys import Signer, key_id_for, parse_public_key
from artforge.provenance.records import grant_payload, sign_payload, transfer_payload, utc_now
from artforge.registry import sealed_store
from artforge.registry.claims import licence_payload
from artforge.registry.database import Registry
from artforge.registry.licence_catalogue import TDM_VALUES, Licence, LicenceTerms, check_custom_id
from artforge.registry.rows import WorkRow
from artforge.textutil import clean_text
from artforge.usecases import access
from artforge.usecases.facts import signed_facts
from artforge.usecases.home import Home
from artforge.usecases.private_works import Keyring, share_sealed

MAX_TEXT_BYTES = 1_000_000
MAX_FIELD_LENGTH = 2_000

# LicenceTerms and TDM_VALUES are what a caller builds a custom licence from.
__all__ = ["TDM_VALUES", "Licence", "LicenceTerms", "RecordResult", "add_custom_licence", "get_licence", "grant_licence",
           "list_licences", "resolve_recipient", "signed_work", "transfer_work"]


@dataclass(frozen=True)
class RecordResult:
    """A record appended to a work's chain."""

    work_id: str
    record_id: str
    record_type: str
    detail: dict

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def add_custom_licence(home: Home, licence_id: str, name: str, terms: LicenceTerms, url: str = "",
                       text_file: Path | None = None, key_name: str | None = None) -> Licence:
    """Register a ``LicenseRef-`` licence with its terms and (optionally) its full text, defined by a claim
    that ``key_name`` (default: the home's default key) signs."""
    check_custom_id(licence_id)
    text = ""
    if text_file is not None:
        raw = read_regular_file(text_file, MAX_TEXT_BYTES, "a licence text")  # not a FIFO or /dev/zero
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{text_file}: licence text is not UTF-8") from None
    # The url and the constraint are free text like the name: one printable line (they reach terminals,
    # and the constraint is signed into every registration under the licence).
    url = _clean(url, "url") if url.strip() else ""
    constraint = terms.constraint_info
    terms = replace(terms, constraint_info=_clean(constraint, "constraint") if constraint.strip() else "")
    licence = Licence(id=licence_id, name=_clean(name or licence_id, "name"), url=url, text=text,
                      builtin=False, terms=terms)
    signer = home.signer(key_name)
    claim = sign_payload(licence_payload(licence), signer)
    with home.registry() as registry, registry.transaction():
        access.require(registry, signer.key_id, "define-licence", licence.id)
        _name_signer(home, registry, signer)
        registry.add_licence(licence, claim)
    return replace(licence, signed_by=signer.key_id)


def list_licences(home: Home) -> list[Licence]:
    with home.registry() as registry:
        return registry.licences()


def get_licence(home: Home, licence_id: str) -> Licence:
    with home.registry() as registry:
        return registry.licence(licence_id)


def _clean(value: str, what: str) -> str:
    return clean_text(value, what, MAX_FIELD_LENGTH)


def _owner_signer(home: Home, work: WorkRow, key_name: str | None) -> Signer:
    if key_name is None:  # default to the local key that owns the work
        info = home.keystore.find_by_key_id(work.owner_key_id)
        if info is None:
            raise NotOwner(f"work {work.id[:12]} is owned by key {work.owner_key_id[:12]}, which is not in this home")
        key_name = info.name
    return _check_owner(home.signer(key_name), work)


def signed_work(registry: Registry, work_ref: str) -> WorkRow:
    """A work as its verified records state it (owner, head); see :func:`artforge.usecases.facts.signed_facts`."""
    return signed_facts(registry, work_ref).work


def _name_signer(home: Home, registry: Registry, signer: Signer) -> None:
    """The first time a key signs in this registry, it also signs its name (its key file's name here)."""
    registry.remember_identity(signer.key_id, signer.public_key.hex(), utc_now())
    info = home.keystore.find_by_key_id(signer.key_id)
    registry.name_identity(signer, info.name if info else None)


def _name_local_recipient(home: Home, registry: Registry, key_name: str) -> None:
    """A recipient whose key is in this home signs its name too, when it opens without another passphrase."""
    try:
        _name_signer(home, registry, home.signer(key_name))
    except SigningKeyError:
        pass  # locked by a passphrase of its own: it names itself the first time it signs


def _check_owner(signer: Signer, work: WorkRow) -> Signer:
    if signer.key_id != work.owner_key_id:
        raise NotOwner(f"key {signer.name!r} does not own work {work.id[:12]} (owner: {work.owner_key_id[:12]})")
    return signer


def grant_licence(home: Home, work_ref: str, grantee: str, terms: str, until: str | None = None,
                  key_name: str | None = None) -> RecordResult:
    """Sign and record a licence grant by the work's owner."""
    grantee = _clean(grantee, "grantee")
    terms = _clean(terms, "terms")
    if until is not None:
        try:
            until = date.fromisoformat(until).isoformat()
        except ValueError:
            raise UsageError(f"`until` {until!r} is not a date (YYYY-MM-DD)") from None
    with home.registry() as registry:
        signer = _owner_signer(home, signed_work(registry, work_ref), key_name)
        with registry.transaction():
            work = signed_work(registry, work_ref)  # re-read under the write lock: the head may have moved
            _check_owner(signer, work)
            access.require(registry, signer.key_id, "license", work.id)
            record = sign_payload(grant_payload(work.id, work.head_record_id, grantee, terms, until), signer)
            _name_signer(home, registry, signer)
            registry.append_record(work.id, record)
            registry.add_grant(record)
    return RecordResult(work.id, record.record_id, "grant", {"to": grantee, "terms": terms, "until": until})


def resolve_recipient(home: Home, recipient: str) -> tuple[bytes, str | None]:
    """A transfer recipient: a key name in this home, or a raw public key in hex."""
    store = home.keystore
    try:
        if store.exists(recipient):
            info = store.info(recipient)
            return bytes.fromhex(info.public_key), info.name
    except UsageError:
        pass  # not a valid key name: try it as a public key
    return parse_public_key(recipient), None


def transfer_work(home: Home, work_ref: str, recipient: str, key_name: str | None = None) -> RecordResult:
    """Sign and record a transfer of copyright from the current owner to ``recipient``."""
    to_public, to_name = resolve_recipient(home, recipient)
    to_key_id = key_id_for(to_public)
    with home.registry() as registry:
        signer = _owner_signer(home, signed_work(registry, work_ref), key_name)
        if to_key_id == signer.key_id:
            raise UsageError("the recipient already owns this work")
        with registry.transaction():
            work = signed_work(registry, work_ref)
            _check_owner(signer, work)
            access.require(registry, signer.key_id, "transfer", work.id)
            record = sign_payload(transfer_payload(work.id, work.head_record_id, to_public), signer)
            registry.remember_identity(to_key_id, to_public.hex(), utc_now())
            _name_signer(home, registry, signer)
            if to_name is not None:
                _name_local_recipient(home, registry, to_name)
            registry.append_record(work.id, record)
            registry.add_transfer(record, from_key_id=signer.key_id)
            if sealed_store.sealed_details(registry, work.id) is not None:  # the new owner must open what it owns
                share_sealed(registry, Keyring(home), signer, work.id, to_key_id, to_public, ("details", "thumbnail"))
    return RecordResult(work.id, record.record_id, "transfer",
                        {"from": signer.key_id, "to": to_key_id, "to_name": to_name})
