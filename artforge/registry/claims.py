"""Signed claims about keys and licences: the facts that belong to no work's chain.

* An **identity** claim names a key (``{"key_id", "name"}``) and is signed by that key itself: a display
  name nobody else can give it.  The newest one counts.
* A **licence** claim defines a custom ``LicenseRef-`` licence (id, name, url, terms, SHA-256 of its text)
  and is signed by the key that added it.  Built-in licences need none: they ship in the package.
* A **role** claim gives a key a role on a shared registry (:mod:`artforge.registry.roles` says whose
  signatures count); an **api-token** claim binds a service token's SHA-256 to the key that issued it
  (:mod:`artforge.registry.service_tokens`); a **key-share** claim gives one more key a private work's data
  key (one sealed part's, wrapped for that key: :mod:`artforge.provenance.sealing`), signed by whoever shared
  it; a claim whose wrapped key is not the work's opens nothing, so only its being logged matters.

Claims live in the ``claims`` table (this module owns its SQL) and are appended to the transparency log like
records (leaf kind ``claim``), so a deleted or edited claim fails ``audit``.  The ``identities`` and
``licences`` tables are caches of them: readers take names and licences from the verified claims, and
``audit`` checks the caches against them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from artforge.errors import UsageError
from artforge.provenance.records import (
    CLAIM_TYPES,
    RECORD_SCHEMA_V2,
    SignedRecord,
    check_signature,
    utc_now,
)
from artforge.provenance.sealing import SEALED_PARTS, is_wrapped_key
from artforge.registry import roles, service_tokens
from artforge.registry import transparency_log as translog
from artforge.registry.backends import Database
from artforge.registry.licence_catalogue import BUILTIN_LICENCES, Licence, LicenceTerms


def identity_payload(key_id: str, name: str) -> dict:
    """Unsigned payload of an identity claim (to be signed by the key it names)."""
    return {"schema": RECORD_SCHEMA_V2, "type": "identity", "created_at": utc_now(),
            "identity": {"key_id": key_id, "name": name}}


def licence_payload(licence: Licence) -> dict:
    """Unsigned payload of a custom licence's definition."""
    return {"schema": RECORD_SCHEMA_V2, "type": "licence", "created_at": utc_now(),
            "licence": {"id": licence.id, "name": licence.name, "url": licence.url, "terms": licence.terms.to_dict(),
                        "text_sha256": text_sha256(licence.text)}}


def key_share_payload(work_id: str, part: str, key_id: str, wrapped: bytes) -> dict:
    """Unsigned payload of a key-share claim: one sealed part's data key of a private work, wrapped for ``key_id``."""
    return {"schema": RECORD_SCHEMA_V2, "type": "key-share", "created_at": utc_now(),
            "key-share": {"work_id": work_id, "part": part, "key_id": key_id, "wrapped": wrapped.hex()}}


def key_shares(db: Database, work_id: str) -> list[SignedRecord]:
    """The valid key-share claims of one work, in the order stored."""
    return _valid_claims(db, "key-share", work_id)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def subject_of(record: SignedRecord) -> str:
    """What a claim is about: the key id it names, or the licence id it defines."""
    body = record.payload.get(record.record_type)
    key = {"identity": "key_id", "role": "key_id", "api-token": "token_sha256", "key-share": "work_id"}.get(
        record.record_type, "id")
    return str(body.get(key, "")) if isinstance(body, dict) else ""


def check_claim(record: SignedRecord) -> list[str]:
    """Problems with a claim: its signature, its shape, and that an identity is signed by the key it names."""
    problems = check_signature(record, CLAIM_TYPES)
    body = record.payload.get(record.record_type)
    if not isinstance(body, dict):
        return problems + [f"the {record.record_type} claim has no {record.record_type!r} object"]
    if record.record_type == "identity":
        if body.get("key_id") != record.signer_key_id:
            problems.append("an identity claim signed by another key than the one it names")
        if not isinstance(body.get("name"), str) or not body.get("name"):
            problems.append("the identity claim has no name")
    elif record.record_type == "licence" and not _well_formed_licence(body):
        problems.append("the licence claim's definition is malformed")
    elif record.record_type == "role":
        problems += roles.role_body_problems(body)
    elif record.record_type == "api-token":
        problems += service_tokens.token_body_problems(record)
    elif record.record_type == "key-share" and not (
            isinstance(body.get("work_id"), str) and len(body["work_id"]) == 64 and body.get("part") in SEALED_PARTS
            and is_wrapped_key({"key_id": body.get("key_id"), "wrapped": body.get("wrapped")}) and len(body) == 4):
        problems.append("the key-share claim is malformed")
    return problems


def _well_formed_licence(body: dict) -> bool:
    if not (isinstance(body.get("id"), str) and isinstance(body.get("name"), str)
            and isinstance(body.get("terms"), dict)):
        return False
    try:
        LicenceTerms.from_dict(body["terms"])
    except (UsageError, TypeError):  # a term out of its domain, or one missing
        return False
    return True


def store_claim(db: Database, record: SignedRecord) -> None:
    """Store a claim and log it (inside the caller's transaction; the caller marks the log as grown)."""
    db["claims"].insert({
        "id": record.record_id, "type": record.record_type, "subject": subject_of(record),
        "signer_key_id": record.signer_key_id, "created_at": record.payload.get("created_at"),
        "payload": record.canonical.decode(), "signature": record.signature,
    })
    translog.append(db, record, "")


def claim_rows(db: Database) -> list[dict]:
    """Every stored claim row, in the order stored (for audit)."""
    return list(db["claims"].rows_where(order_by="rowid"))


def _valid_claims(db: Database, kind: str, subject: str | None) -> list[SignedRecord]:
    if subject is None:  # every subject's
        rows = db.execute("SELECT id, payload, signature FROM claims WHERE type = ? ORDER BY rowid", [kind]).fetchall()
    else:
        rows = db.execute("SELECT id, payload, signature FROM claims WHERE type = ? AND subject = ? ORDER BY rowid",
                          [kind, subject]).fetchall()
    found = []
    for record_id, payload, signature in rows:
        try:
            record = SignedRecord(json.loads(payload), signature)
            if (record.record_id == record_id and record.record_type == kind
                    and (subject is None or subject_of(record) == subject) and not check_claim(record)):
                found.append(record)
        except (ValueError, TypeError):
            continue  # an unreadable row is audit's to report; it names nothing here
    return found


def role_state(db: Database) -> roles.RoleState:
    """The roles in force: every valid role claim, replayed in the order stored."""
    return roles.replay_roles(_valid_claims(db, "role", None))


def token_holder(db: Database, digest: str) -> str | None:
    """The key a service token (by its SHA-256) acts for, from its valid claims; None if revoked or unknown."""
    return service_tokens.holder(_valid_claims(db, "api-token", digest))


def token_claims(db: Database) -> list[SignedRecord]:
    """Every valid token claim, in the order stored."""
    return _valid_claims(db, "api-token", None)


def claimed_licence_ids(db: Database) -> list[str]:
    """The licence ids some claim defines (valid or not: :func:`signed_licence` says which hold)."""
    return [row[0] for row in db.execute("SELECT DISTINCT subject FROM claims WHERE type = 'licence' ORDER BY subject")]


@dataclass(frozen=True)
class SignedName:
    """A key's display name and the claim that signs it."""

    key_id: str
    name: str
    record_id: str


def identity_name(db: Database, key_id: str) -> SignedName | None:
    """The newest name a key gave itself in a valid claim, or None."""
    claims = _valid_claims(db, "identity", key_id)
    if not claims:
        return None
    newest = claims[-1]
    return SignedName(key_id, newest.payload["identity"]["name"], newest.record_id)


def signed_licence(db: Database, licence_id: str, text: str = "") -> Licence | None:
    """A custom licence as its valid claim defines it (the first: a licence id is defined once), or None.

    ``text`` is the stored full text; it is kept only when its SHA-256 is the one signed.
    """
    claims = _valid_claims(db, "licence", licence_id)
    if not claims:
        return None
    body = claims[0].payload["licence"]
    return Licence(id=body["id"], name=body["name"], url=body.get("url") or "",
                   text=text if text_sha256(text) == body.get("text_sha256") else "",
                   terms=LicenceTerms.from_dict(body["terms"]), builtin=False, signed_by=claims[0].signer_key_id)


def licence_text_signed(db: Database, licence_id: str, text: str) -> bool:
    """Whether ``text`` is the full text a custom licence's valid claim signs (its SHA-256), the empty text
    included: :func:`signed_licence` cannot tell an erased text from one that never was."""
    claims = _valid_claims(db, "licence", licence_id)
    return bool(claims) and claims[0].payload["licence"].get("text_sha256") == text_sha256(text)


BOOLEAN_TERMS = ("commercial", "derivatives", "share_alike", "attribution")


def licence_from_row(row: dict) -> Licence:
    """A ``licences`` row as a :class:`Licence` (the cache's own word: unsigned)."""
    terms = LicenceTerms.from_dict({k: (bool(v) if k in BOOLEAN_TERMS else v) for k, v in row.items()})
    return Licence(id=row["id"], name=row["name"], url=row["url"] or "", text=row["text"] or "",
                   builtin=bool(row["builtin"]), terms=terms)


def resolve_licence(db: Database, licence_id: str, row: dict | None) -> Licence | None:
    """The trusted form of a licence: the package's catalogue for a built-in id, the signed claim for a custom
    one, else (a custom licence stored before claims) its row, which is then ``unsigned``; None when unknown."""
    if licence_id in BUILTIN_LICENCES:
        return BUILTIN_LICENCES[licence_id]
    signed = signed_licence(db, licence_id, (row or {}).get("text") or "")
    if signed is not None:
        return signed
    if row is None or row.get("builtin"):  # a "built-in" row the catalogue does not know is a forgery
        return None
    return licence_from_row(row)
