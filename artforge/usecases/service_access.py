"""Who is calling the HTTP service, and what they may do: API tokens (``artforge token``), the check each
route makes, and ``POST /register``.

A caller sends ``Authorization: Bearer TOKEN``; the registry holds only the token's SHA-256 in a claim the
issuing key signed (:mod:`artforge.registry.service_tokens`), so the token acts as that key, with that key's
role (:mod:`artforge.usecases.access`).  On a registry with roles every route but ``/health`` needs a token
whose key's role allows it; without roles, reading and verifying stay open and only writing needs a token.
Every refusal is one line, and the registry keeps it (``access_denials``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from artforge.errors import AccessDenied, Conflict, NotFound, UsageError
from artforge.fsutil import atomic_write
from artforge.provenance.records import sign_payload, utc_now
from artforge.registry import claims, roles, service_tokens
from artforge.usecases import access
from artforge.usecases.home import Home
from artforge.usecases.register import RegisteredWork, register_images

BEARER = "bearer "
MAX_TOKEN_LENGTH = 200
# Callers no token names are kept once per action in this many seconds: each row takes the registry's one
# writer lock, which a stream of unauthenticated requests must not be able to hold.
UNKNOWN_CALLER_QUIET_S = 60


class NotAuthenticated(AccessDenied):
    """No token, or one the registry does not know or that was revoked (HTTP 401)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as the registry knows it: never the token itself."""

    token_id: str  # the first 16 hex digits of its SHA-256: how a person names it
    key_id: str
    label: str
    revoked: bool
    file: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def create_token(home: Home, out: Path, key_name: str | None = None, label: str = "") -> TokenInfo:
    """Issue a token that acts as the key ``key_name`` (the default identity); the token is written to ``out``
    (0600, never over an existing file) and nowhere else."""
    if out.exists():
        raise Conflict(f"{out} exists: the token is written only to a new file")
    label = label.strip()
    if len(label) > service_tokens.MAX_LABEL or not label.isprintable():
        raise UsageError(f"the label must be one printable line of at most {service_tokens.MAX_LABEL} characters")
    signer = home.signer(key_name)
    token = service_tokens.new_token()
    digest = service_tokens.token_hash(token)
    claim = sign_payload(service_tokens.token_payload(signer.key_id, digest, label), signer)
    with home.registry() as registry, registry.transaction():
        registry.remember_identity(signer.key_id, signer.public_key.hex(), utc_now())
        registry.add_claim(claim)
        atomic_write(out, (token + "\n").encode(), mode=0o600)  # inside: no claim without its file
    return TokenInfo(digest[:16], signer.key_id, label, False, str(out))


def revoke_token(home: Home, token_id: str, key_name: str | None = None) -> TokenInfo:
    """Revoke a token by its id (a prefix of its SHA-256, 8+ hex digits), signed by the key it acts for."""
    prefix = token_id.strip().lower()
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise UsageError("a token id is 8 or more hex digits (as 'artforge token list' shows)")
    signer = home.signer(key_name)
    with home.registry() as registry, registry.transaction():
        issued = [c for c in claims.token_claims(registry.db)
                  if c.payload["api-token"]["token_sha256"].startswith(prefix)]
        digests = {c.payload["api-token"]["token_sha256"] for c in issued}
        if len(digests) != 1:
            raise NotFound(f"no token {prefix}") if not digests else UsageError(f"{prefix} is ambiguous")
        digest = digests.pop()
        body = issued[-1].payload["api-token"]
        if body["key_id"] != signer.key_id:
            raise AccessDenied(f"token {prefix} acts for key {body['key_id'][:12]}: only that key revokes it",
                               key_id=signer.key_id, action="revoke-token", target=prefix)
        registry.add_claim(sign_payload(service_tokens.token_payload(signer.key_id, digest, body["label"], True), signer))
    return TokenInfo(digest[:16], signer.key_id, body["label"], True)


def list_tokens(home: Home) -> list[TokenInfo]:
    """Every token the registry knows, as its newest claim says (revoked or not)."""
    newest: dict[str, dict] = {}
    with home.registry() as registry:
        for claim in claims.token_claims(registry.db):
            body = claim.payload["api-token"]
            newest[body["token_sha256"]] = body
    return [TokenInfo(d[:16], b["key_id"], b["label"], b["revoked"]) for d, b in newest.items()]


def authorize(home: Home, authorization: str | None, action: str, target: str = "") -> str | None:
    """The key a request acts as, once it may do ``action``; None for an anonymous read where the registry has
    no roles.  Raises :class:`NotAuthenticated` (401) or :class:`AccessDenied` (403), both kept."""
    with home.registry() as registry:
        roles_on = claims.role_state(registry.db).enabled
        if authorization is None and not roles_on and action in ("verify", "read"):
            return None
        token = (authorization or "")[len(BEARER):].strip() if (authorization or "").lower().startswith(BEARER) else ""
        digest = service_tokens.token_hash(token) if 0 < len(token) <= MAX_TOKEN_LENGTH else ""
        key_id = claims.token_holder(registry.db, digest) if digest else None
        if key_id is None:
            why = "no token (send Authorization: Bearer TOKEN)" if not token else "an unknown or revoked token"
            caller = "unknown token" if token else "anonymous"
            refused = NotAuthenticated(f"{action}: {why}", key_id=caller, action=action, target=target)
            if roles.refused_lately(registry.db, caller, action, UNKNOWN_CALLER_QUIET_S):
                raise refused  # a flood of strangers takes no writer lock: one row a minute per action
            with registry.transaction():  # raised inside one, so the registry keeps the attempt
                raise refused
        access.require(registry, key_id, action, target)
        return key_id


def register_upload(home: Home, data: bytes, key_id: str, *, licence_id: str, title: str | None,
                    name: str = "upload") -> RegisteredWork:
    """Register uploaded image bytes, signed by the key the caller's token acts for, which the service's home
    must hold (the service never signs as anyone else)."""
    info = home.keystore.find_by_key_id(key_id)
    if info is None:
        with home.registry() as registry, registry.transaction():
            raise AccessDenied(f"key {key_id[:12]} is not held by this service: register from its own home",
                               key_id=key_id, action="register", target=name)
    with tempfile.TemporaryDirectory(prefix="artforge-upload-") as folder:
        path = Path(folder) / "upload"  # the caller's name is a title at most, never a path
        path.write_bytes(data)
        [work] = register_images(home, [path], licence_id=licence_id, title=title or Path(name).stem or "upload",
                                 key_name=info.name)
    return replace(work, path=name)
