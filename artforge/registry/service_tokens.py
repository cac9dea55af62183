"""API tokens for the HTTP service, as signed claims that hold only the token's SHA-256.

A token is 32 random bytes that a key issues for itself: the key signs a claim ``{"key_id", "token_sha256",
"label", "revoked": false}`` (subject: the hash) and the token itself is written to a file of the caller's
(0600) and never stored or shown.  A caller presenting the token acts as that key, with that key's role.
The key revokes it with a second claim (``"revoked": true``).  Claims are logged and audited like every
claim, so which token acts for whom is a signed fact, and a row edited to point a token at an admin's key
fails its signature.
"""

from __future__ import annotations

import hashlib
import secrets

from artforge.provenance.records import RECORD_SCHEMA_V2, SignedRecord, utc_now

TOKEN_PREFIX = "aft_"  # recognisable in a leaked-secret scan
TOKEN_BYTES = 32
MAX_LABEL = 100


def new_token() -> str:
    """A fresh token (``aft_`` + 43 URL-safe characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the registry keeps of a token: SHA-256 of its text, hex (a random 256-bit secret needs no slow hash)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def token_payload(key_id: str, digest: str, label: str, revoked: bool = False) -> dict:
    """Unsigned payload of a token claim, to be signed by ``key_id`` itself."""
    return {"schema": RECORD_SCHEMA_V2, "type": "api-token", "created_at": utc_now(),
            "api-token": {"key_id": key_id, "token_sha256": digest, "label": label, "revoked": revoked}}


def token_body_problems(record: SignedRecord) -> list[str]:
    """Problems with a token claim's body; a token acts only for the key that signed its claim."""
    body = record.payload.get("api-token") or {}
    problems = []
    digest = body.get("token_sha256")
    if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        problems.append("the token claim holds no SHA-256")
    if body.get("key_id") != record.signer_key_id:
        problems.append("a token claim signed by another key than the one the token acts for")
    if not isinstance(body.get("revoked"), bool) or not isinstance(body.get("label"), str):
        problems.append("the token claim's label or revoked flag is malformed")
    return problems


def holder(claims: list[SignedRecord]) -> str | None:
    """The key a token acts for, from its valid claims in the order stored: None once revoked (or never issued)."""
    if not claims or claims[-1].payload["api-token"]["revoked"]:
        return None
    return claims[-1].payload["api-token"]["key_id"]
