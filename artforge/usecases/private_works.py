"""Private works: seal a work's title, licence and thumbnail at registration; open them for those who may.

The public record of a private work carries everything matching needs (fingerprints, the digest of its match
layers) and the owner's key, but an empty title, the placeholder licence ``LicenseRef-Private`` and a commitment
to the sealed details (:func:`artforge.provenance.records.private_commitment`).  Two data keys per work:

* ``details`` (title and licence), wrapped for the owner, the registry's admins and any reader named at
  registration or shared with later;
* ``thumbnail`` (the matcher's stored thumbnail, sealed inside the layers row whose digest the record signs),
  wrapped for those and also for every key with the verifier role, so a verify service can confirm a match
  without being able to read what the work is called or how it is licensed.

The wrapped data keys are signed facts too: those made at registration are in the registration record,
later ones (``artforge share``, a transfer) in logged ``key-share`` claims, so a deleted or edited one fails
``audit`` like any record.  A wrapped key that is not the work's opens nothing (AES-GCM refuses it).

A :class:`Keyring` holds what this home can open with; nothing here shows sealed details unless asked to
(the HTTP service never asks: its callers are not the home's key holders).  See docs/private-works.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from artforge.errors import SealError, SigningKeyError, UsageError
from artforge.matching import layer_store
from artforge.provenance.keys import Signer
from artforge.provenance.records import canonical_bytes, private_commitment, sign_payload
from artforge.provenance.sealing import (
    SEAL_SCHEME,
    KeyOpener,
    WrappedKey,
    is_sealed,
    new_data_key,
    open_part,
    part_context,
    seal_part,
    unwrap_data_key,
    wrap_data_key,
)
from artforge.registry import claims, sealed_store
from artforge.registry.database import Registry
from artforge.registry.licence_catalogue import Licence
from artforge.usecases import access
from artforge.usecases.facts import signed_facts
from artforge.usecases.home import Home

__all__ = ["Keyring", "PrivateDetails", "SealedRegistration", "ShareResult", "open_details", "open_thumbnail",
           "seal_registration", "share_private_work", "wrapped_keys"]

# Roles whose keys get each part's data key at registration (the owner and named readers always do).
PART_ROLES = {"details": frozenset({"admin"}), "thumbnail": frozenset({"admin", "verifier"})}


@dataclass(frozen=True)
class PrivateDetails:
    """A private work's sealed title and licence, as a key of this home opened them."""

    title: str
    licence_id: str
    licence_terms: dict
    opened_with: str  # the key id whose wrapped data key opened them

    def to_dict(self) -> dict:
        return {"title": self.title, "licence": self.licence_id, "licence_terms": self.licence_terms,
                "opened_with": self.opened_with}


@dataclass
class Keyring:
    """The keys of a home that may open private works, loaded only when a part is sealed for one of them.

    An encrypted key is loaded (its passphrase asked) only for a part wrapped for it; a key that cannot be
    loaded, or a signer without an opener (a callback signer), opens nothing.
    """

    home: Home | None
    _openers: dict[str, KeyOpener | None] = field(default_factory=dict)
    _names: dict[str, str] | None = None  # key id -> name of the home's keys, listed once

    def opener(self, key_id: str) -> KeyOpener | None:
        if key_id not in self._openers:
            self._openers[key_id] = self._load(key_id)
        return self._openers[key_id]

    def _load(self, key_id: str) -> KeyOpener | None:
        home = self.home
        if home is None:
            return None
        if home.identity is not None and home.identity.key_id == key_id:
            return home.identity.open_wrapped
        if self._names is None:
            self._names = {info.key_id: info.name for info in home.keystore.list()}
        name = self._names.get(key_id)
        if name is None:
            return None
        try:
            return home.signer(name).open_wrapped
        except SigningKeyError:  # locked without a passphrase at hand, or unreadable: it opens nothing
            return None

    def load_all(self) -> None:
        """Load every key of the home now (a batch does this before its worker processes fork, so none of
        them asks for a passphrase on its own)."""
        if self.home is not None:
            for info in self.home.keystore.list():
                self.opener(info.key_id)

    def open(self, entries: list[WrappedKey], blob: bytes, context: bytes) -> tuple[bytes, str] | None:
        """``(plaintext, key id)`` of a sealed part opened through one of ``entries`` with a key of this home."""
        opened = _open_with(self, entries, blob, context)
        return None if opened is None else (opened[1], opened[2])


def _open_with(keyring: Keyring, entries: list[WrappedKey], blob: bytes, context: bytes) -> tuple[bytes, bytes, str] | None:
    """``(data key, plaintext, key id)`` from the first entry a key of ``keyring`` opens, checked on the part."""
    for entry in entries:
        opener = keyring.opener(entry.key_id)
        if opener is None:
            continue
        try:
            data_key = unwrap_data_key(entry, opener, context)
            return data_key, open_part(data_key, blob, context), entry.key_id
        except SealError:
            continue  # a changed entry or part: try another reader's
    return None


def _details_bytes(title: str, licence: Licence) -> bytes:
    return canonical_bytes({"title": title, "licence": {"id": licence.id, "terms": licence.terms.to_dict()}})


def _readers(registry: Registry, part: str, owner: Signer, named: dict[str, bytes]) -> dict[str, bytes]:
    """Key id -> public key of everyone who gets ``part``: the owner, the named readers, the roles' holders."""
    readers = {owner.key_id: owner.public_key, **named}
    state = claims.role_state(registry.db)
    for key_id, role in state.roles.items():
        public = registry.public_key_of(key_id) if state.enabled and role in PART_ROLES[part] else None
        if public is not None:
            readers.setdefault(key_id, public)
    return readers


@dataclass(frozen=True)
class SealedRegistration:
    """What registering one private work stores: the record's ``private`` member, the sealed details, the
    sealed thumbnail."""

    commitment: dict  # the registration's ``private`` member: scheme, details_sha256, readers
    details: bytes
    thumbnail: bytes


def seal_registration(registry: Registry, owner: Signer, pixel_sha256: str, title: str, licence: Licence,
                      thumbnail: bytes, named: dict[str, bytes]) -> SealedRegistration:
    """Seal a work's title and licence, and its matcher thumbnail, each under a data key of its own wrapped
    for its readers (``named``: key id -> public key of readers asked for by name)."""
    readers: dict[str, list[dict]] = {}
    sealed: dict[str, bytes] = {}
    for part, plaintext in (("details", _details_bytes(title, licence)), ("thumbnail", bytes(thumbnail))):
        data_key, context = new_data_key(), part_context(pixel_sha256, part)
        sealed[part] = seal_part(data_key, plaintext, context)
        readers[part] = [wrap_data_key(data_key, key_id, public, context).to_dict()
                         for key_id, public in sorted(_readers(registry, part, owner, named).items())]
    commitment = {"scheme": SEAL_SCHEME, "details_sha256": hashlib.sha256(sealed["details"]).hexdigest(),
                  "readers": readers}
    return SealedRegistration(commitment, sealed["details"], sealed["thumbnail"])


def wrapped_keys(registry: Registry, work_id: str, registration: dict, part: str) -> list[WrappedKey]:
    """Every wrapped data key of one part: the registration's, then the key-share claims' (signed, logged)."""
    private = private_commitment(registration) or {}
    entries = [WrappedKey(e["key_id"], bytes.fromhex(e["wrapped"])) for e in private.get("readers", {}).get(part, [])]
    for claim in claims.key_shares(registry.db, work_id):
        body = claim.payload["key-share"]
        if body["part"] == part:
            entries.append(WrappedKey(body["key_id"], bytes.fromhex(body["wrapped"])))
    return entries


def named_readers(home: Home, registry: Registry, keys: list[str]) -> dict[str, bytes]:
    """Key id -> public key of readers named on the command line (a key name, a key id, a public key)."""
    return dict(access.known_key(home, registry, key) for key in keys)


def open_details(registry: Registry, keyring: Keyring, work_id: str, registration: dict) -> PrivateDetails | None:
    """The sealed title and licence of a private work, when a key of ``keyring`` opens them and they are the
    ones its signed registration commits to; None otherwise (a public work, or nothing here opens it)."""
    commitment = private_commitment(registration)
    details = sealed_store.sealed_details(registry, work_id) if commitment else None
    if details is None or hashlib.sha256(details).hexdigest() != commitment.get("details_sha256"):
        return None  # gone or changed: audit and the work's status say so
    context = part_context(registration["work"]["pixel_sha256"], "details")
    opened = keyring.open(wrapped_keys(registry, work_id, registration, "details"), details, context)
    if opened is None:
        return None
    try:
        data = json.loads(opened[0])
        return PrivateDetails(str(data["title"]), str(data["licence"]["id"]), dict(data["licence"]["terms"]), opened[1])
    except (ValueError, KeyError, TypeError):
        return None


def open_thumbnail(registry: Registry, keyring: Keyring, row: dict, registration: dict | None = None) -> bytes | None:
    """A layers row's thumbnail in plain bytes: as stored for a public work, opened for a private one (None
    when no key of ``keyring`` opens it).  ``registration``: the work's registration payload where the caller
    has it verified already (else it is read)."""
    thumbnail = row.get("thumbnail")
    if not is_sealed(thumbnail):
        return thumbnail
    if registration is None:
        records = registry.records(row["work_id"])
        if not records:
            return None
        registration = records[0].payload
    context = part_context(str(registration.get("work", {}).get("pixel_sha256")), "thumbnail")
    opened = keyring.open(wrapped_keys(registry, row["work_id"], registration, "thumbnail"), bytes(thumbnail), context)
    return None if opened is None else opened[0]


def thumbnail_unsealer(registry: Registry, keyring: Keyring, unopened: list[str],
                       registration_of: Callable[[str], dict | None]) -> Callable[[dict], bytes | None]:
    """For the matcher: opens a sealed thumbnail, noting in ``unopened`` each work whose thumbnail stays shut;
    ``registration_of`` gives a work's verified registration (verify's :class:`SignedEvidence` has it)."""
    def unseal(row: dict) -> bytes | None:
        thumbnail = open_thumbnail(registry, keyring, row, registration_of(row["work_id"]))
        if thumbnail is None and row["work_id"] not in unopened:
            unopened.append(row["work_id"])
        return thumbnail
    return unseal


@dataclass(frozen=True)
class ShareResult:
    """Who can now open which parts of a private work."""

    work_id: str
    reader_key_id: str
    parts: list[str]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def share_sealed(registry: Registry, keyring: Keyring, signer: Signer, work_id: str, key_id: str, public: bytes,
                 parts: tuple[str, ...]) -> list[str]:
    """Wrap ``parts`` of a private work's data keys for one more reader, each in a key-share claim ``signer``
    signs (inside the caller's transaction)."""
    registration = registry.records(work_id)[0].payload
    pixel_sha256 = registration["work"]["pixel_sha256"]
    blobs = {"details": sealed_store.sealed_details(registry, work_id) or b"",
             "thumbnail": bytes((layer_store.match_layers_of(registry, work_id) or {}).get("thumbnail") or b"")}
    for part in parts:
        context = part_context(pixel_sha256, part)
        opened = _open_with(keyring, wrapped_keys(registry, work_id, registration, part), blobs[part], context)
        if opened is None:
            raise SealError(f"no key of this home opens the {part} of work {work_id[:12]}")
        wrapped = wrap_data_key(opened[0], key_id, public, context)
        registry.add_claim(sign_payload(claims.key_share_payload(work_id, part, key_id, wrapped.wrapped), signer))
    return list(parts)


def share_private_work(home: Home, reference: str, key: str, details: bool = True,
                       key_name: str | None = None) -> ShareResult:
    """Let another key open a private work: its thumbnail (for verifying), and with ``details`` its title and
    licence.  The owner or an admin does it, with a key of this home that already opens them."""
    parts = ("details", "thumbnail") if details else ("thumbnail",)
    signer = home.signer(key_name)
    with home.registry() as registry, registry.transaction():
        facts = signed_facts(registry, reference)
        work_id = facts.work.id
        if facts.private is None:
            raise UsageError(f"work {work_id[:12]} is not a private work")
        if signer.key_id != facts.work.owner_key_id:  # the owner shares its own; anyone else needs the role
            access.require(registry, signer.key_id, "share-private", work_id)
        key_id, public = access.known_key(home, registry, key)
        shared = share_sealed(registry, Keyring(home), signer, work_id, key_id, public, parts)
    return ShareResult(work_id, key_id, shared)
