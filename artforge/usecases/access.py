"""Who may do what on a shared registry: the one check every writing use case makes, and ``artforge role``.

The roles are signed claims (:mod:`artforge.registry.roles`).  Each use case that writes calls
:func:`require` inside its transaction with the key that is about to sign; a refusal raises
:class:`~artforge.errors.AccessDenied`, the transaction rolls back, and the registry keeps the attempt.  The
same check serves the CLI, the Python API and the HTTP service, which all reach the registry through here.
On a registry without role claims everything is allowed, as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass

from artforge.errors import AccessDenied, NotFound, UsageError
from artforge.provenance.keys import key_id_for, parse_public_key
from artforge.provenance.records import sign_payload, utc_now
from artforge.registry import claims, roles
from artforge.registry.database import Registry
from artforge.usecases.home import Home

# What each action needs.  Owning the work is checked on top by the use cases that change a work (a grant
# or a transfer is signed by the owner of the day, whatever the role).
ALLOWED_ROLES: dict[str, frozenset[str]] = {
    "register": frozenset({"admin", "registrar", "owner"}),
    "license": frozenset({"admin", "registrar", "owner"}),
    "transfer": frozenset({"admin", "registrar", "owner"}),
    "mint": frozenset({"admin", "registrar", "owner"}),
    "attest": frozenset({"admin", "registrar", "owner"}),
    "define-licence": frozenset({"admin", "registrar"}),
    "grant-role": frozenset({"admin"}),
    "share-private": frozenset({"admin"}),  # besides the work's owner (usecases/private_works.py)
    "verify": frozenset(roles.ROLES),
    "read": frozenset(roles.ROLES),
}


def require(registry: Registry, key_id: str, action: str, target: str = "") -> None:
    """Raise :class:`AccessDenied` unless ``key_id``'s role allows ``action`` (always allowed without roles)."""
    state = claims.role_state(registry.db)
    if not state.enabled:
        return
    role = state.role_of(key_id)
    if role not in ALLOWED_ROLES[action]:
        held = f"role {role}" if role else "no role"
        needed = " or ".join(sorted(ALLOWED_ROLES[action]))
        with registry.transaction():  # raised inside one, so the registry keeps the attempt once it rolls back
            raise AccessDenied(f"key {key_id[:12]} has {held} on this registry; {action} needs {needed}",
                               key_id=key_id, action=action, target=target)


def role_of(registry: Registry, key_id: str) -> str | None:
    """A key's role, or None (no role, or a registry without roles)."""
    return claims.role_state(registry.db).role_of(key_id)


@dataclass(frozen=True)
class RoleEntry:
    """One key's role as the signed claims give it."""

    key_id: str
    name: str | None
    role: str
    claim_id: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def known_key(home: Home, registry: Registry, key: str) -> tuple[str, bytes]:
    """``(key id, public key)`` of a key named in this home, a 32-hex key id the registry knows, or a 64-hex
    public key (remembered in the registry)."""
    text = key.strip()
    store = home.keystore
    try:
        if store.exists(text):
            info = store.info(text)
            return info.key_id, bytes.fromhex(info.public_key)
    except UsageError:
        pass  # not a valid key name
    lowered = text.lower()
    if len(lowered) == 32 and all(c in "0123456789abcdef" for c in lowered):
        public = registry.public_key_of(lowered)
        if public is None:
            raise NotFound(f"no key {lowered[:12]} in the registry: give its public key instead")
        return lowered, public
    public = parse_public_key(text)
    registry.remember_identity(key_id_for(public), public.hex(), utc_now())
    return key_id_for(public), public


def set_role(home: Home, key: str, role: str, key_name: str | None = None) -> RoleEntry:
    """Sign a role claim giving ``key`` the ``role`` (``none`` takes it away); signed by an admin, or on a
    registry without roles by a key making itself the first admin."""
    if role not in (*roles.ROLES, roles.NO_ROLE):
        raise UsageError(f"unknown role {role!r}: one of {', '.join((*roles.ROLES, roles.NO_ROLE))}")
    signer = home.signer(key_name)
    with home.registry() as registry, registry.transaction():
        subject, _ = known_key(home, registry, key)
        state = claims.role_state(registry.db)
        if not state.enabled and not (role == "admin" and subject == signer.key_id):
            raise UsageError("this registry has no roles yet: the first is a key making itself admin "
                             "(artforge role set KEY admin, signed by KEY)")
        require(registry, signer.key_id, "grant-role", subject)
        claim = sign_payload(roles.role_payload(subject, role), signer)
        registry.remember_identity(signer.key_id, signer.public_key.hex(), utc_now())
        registry.add_claim(claim)
        signed = registry.identity_name(subject)
    return RoleEntry(subject, signed.name if signed else None, role, claim.record_id)


def list_roles(home: Home) -> tuple[list[RoleEntry], list[dict]]:
    """The roles in force (empty on a registry without roles) and the newest refused attempts."""
    with home.registry() as registry:
        state = claims.role_state(registry.db)
        entries = []
        for key_id, role in sorted(state.roles.items(), key=lambda item: (roles.ROLES.index(item[1]), item[0])):
            signed = registry.identity_name(key_id)
            entries.append(RoleEntry(key_id, signed.name if signed else None, role, state.granted_by[key_id]))
        return entries, roles.denials(registry.db)
