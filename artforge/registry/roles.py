"""Roles on a shared registry, as signed claims; and the record of refused attempts (``access_denials``).

A **role** claim (``{"key_id", "role"}``) is signed by an admin and logged like every claim, so who may do
what is a signed fact that ``audit`` re-checks, never a row someone could edit.  Roles:

* ``admin``: everything, including giving and taking roles;
* ``registrar``: register and license works for an organisation (the works it registers are its own);
* ``owner``: register works, and license, transfer or mint the works it owns;
* ``verifier``: verify and read public facts only;
* ``none``: takes a key's role away.

A registry without role claims is the single-user registry: every key may do everything, as before roles
existed.  The first role claim must be a key making itself admin (signed by the key it names); after that
only a claim signed by a key that was admin when it was stored counts.  Claims are replayed in the order
stored; one that breaks these rules gives nobody anything, and ``audit`` names it.

Refused attempts are kept in ``access_denials`` (this module owns its SQL): when, which key, what it tried,
why (callers without a known token: once a minute per action, see ``service_access``).  A record of events for whoever runs the registry, not a fact about any work: nothing signs it, and it
is shown as a log, never as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from artforge.provenance.records import RECORD_SCHEMA_V2, SignedRecord, utc_now
from artforge.registry.backends import Database

ROLES = ("admin", "registrar", "owner", "verifier")
NO_ROLE = "none"  # a claim with it takes a key's role away
MAX_DENIAL_TEXT = 300


def role_payload(key_id: str, role: str) -> dict:
    """Unsigned payload of a role claim (signed by an admin, or by ``key_id`` itself to become the first one)."""
    return {"schema": RECORD_SCHEMA_V2, "type": "role", "created_at": utc_now(),
            "role": {"key_id": key_id, "role": role}}


def role_body_problems(body: dict) -> list[str]:
    """Problems with a role claim's ``role`` object itself (its signature is checked with every claim)."""
    key_id, role = body.get("key_id"), body.get("role")
    if not (isinstance(key_id, str) and len(key_id) == 32 and all(c in "0123456789abcdef" for c in key_id)):
        return ["the role claim does not name a key id"]
    if role not in (*ROLES, NO_ROLE):
        return [f"the role claim gives an unknown role {str(role)[:40]!r}"]
    return []


@dataclass
class RoleState:
    """The roles in force, from the registry's valid role claims replayed in order."""

    roles: dict[str, str] = field(default_factory=dict)  # key id -> role
    granted_by: dict[str, str] = field(default_factory=dict)  # key id -> the claim that gave it
    problems: list[tuple[str, str]] = field(default_factory=list)  # (claim id, why it counts for nothing)
    enabled: bool = False  # True once the first admin claim holds: from then on roles are enforced

    def role_of(self, key_id: str) -> str | None:
        """A key's role; None when roles are not enforced or the key has none."""
        return self.roles.get(key_id) if self.enabled else None


def replay_roles(claims: list[SignedRecord]) -> RoleState:
    """Who holds which role after ``claims`` (valid role claims, in the order stored)."""
    state = RoleState()
    for claim in claims:
        body = claim.payload["role"]
        subject, role = body["key_id"], body["role"]
        if not state.enabled:
            if role == "admin" and claim.signer_key_id == subject:
                state.enabled = True
            else:
                state.problems.append((claim.record_id, "the first role claim must be a key making itself admin"))
                continue
        elif state.roles.get(claim.signer_key_id) != "admin":
            state.problems.append((claim.record_id, f"signed by key {claim.signer_key_id[:12]}, which was not "
                                                    "an admin when it was stored"))
            continue
        if role == NO_ROLE:
            state.roles.pop(subject, None)
            state.granted_by.pop(subject, None)
        else:
            state.roles[subject] = role
            state.granted_by[subject] = claim.record_id
    return state


# -- refused attempts ------------------------------------------------------------------------------------
def record_denial(db: Database, key_id: str, action: str, target: str, reason: str) -> None:
    """Keep one refused attempt (inside the caller's transaction)."""
    next_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM access_denials").fetchone()[0]  # writers are serial
    db["access_denials"].insert({"id": next_id, "at": utc_now(), "key_id": key_id[:64], "action": action[:64],
                                 "target": target[:MAX_DENIAL_TEXT], "reason": reason[:MAX_DENIAL_TEXT]})


def refused_lately(db: Database, key_id: str, action: str, within_s: int) -> bool:
    """Whether ``key_id`` was refused ``action`` in the last ``within_s`` seconds (a read: no lock)."""
    since = (datetime.now(UTC) - timedelta(seconds=within_s)).isoformat(timespec="seconds").replace("+00:00", "Z")
    return db.execute("SELECT 1 FROM access_denials WHERE key_id = ? AND action = ? AND at >= ? LIMIT 1",
                      [key_id, action, since]).fetchone() is not None


def denials(db: Database, limit: int = 100) -> list[dict]:
    """The newest refused attempts, newest first."""
    return list(db["access_denials"].rows_where(order_by="rowid DESC", limit=limit))
