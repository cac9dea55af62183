"""Roles on a shared registry: signed role claims, enforced in the use cases, refusals kept; on both backends."""

from __future__ import annotations

from cli_helpers import create_keys, run, run_json

from artforge.errors import AccessDenied
from artforge.provenance.records import sign_payload
from artforge.registry import claims, roles
from artforge.usecases import access
from artforge.usecases.audit import audit_registry

REGISTRY_BACKENDS = ("sqlite", "postgresql")  # every test with a home runs on both (conftest.py)


def _counts(home) -> tuple[int, int, int]:
    with home.registry() as registry:
        db = registry.db
        return db["works"].count, db["log_leaves"].count, db["access_denials"].count


def test_without_roles_everyone_may_do_everything_and_the_first_role_is_a_self_made_admin(home, art) -> None:
    create_keys("alice")
    assert run("register", art(1), "--license", "CC0-1.0", "--key", "alice", "-q").exit_code == 0
    code, listed = run_json("role", "list")
    assert code == 0 and listed["data"] == {"roles": [], "refused": []}
    refused = run("role", "set", "alice", "admin")  # signed by 'default', naming alice: not a self-made admin
    assert refused.exit_code == 2 and "first is a key making itself admin" in refused.stderr
    code, made = run_json("role", "set", "default", "admin")
    assert code == 0 and made["data"]["role"] == "admin" and made["data"]["name"] == "default"


def test_roles_are_enforced_for_each_action_and_refusals_are_kept(home, art) -> None:
    ids = create_keys("alice", "bob")
    assert run("role", "set", "default", "admin").exit_code == 0
    assert run("role", "set", "alice", "registrar").exit_code == 0
    assert run("role", "set", "bob", "verifier").exit_code == 0

    work = run("register", art(1), "--license", "CC-BY-4.0", "--key", "alice", "-q")
    assert work.exit_code == 0, work.stderr
    work_id = work.stdout.strip()
    assert run("license", "grant", work_id, "--to", "Acme", "--terms", "posters").exit_code == 0

    before = _counts(home)
    denied = run("register", art(2), "--license", "CC0-1.0", "--key", "bob", "-q")
    assert denied.exit_code == 9 and denied.stderr.count("\n") == 1
    assert f"key {ids['bob'][:12]} has role verifier" in denied.stderr and "register needs" in denied.stderr
    works, leaves, refusals = _counts(home)
    assert (works, leaves, refusals) == (before[0], before[1], before[2] + 1)  # nothing written but the refusal
    assert run("role", "set", "bob", "admin", "--key", "alice").exit_code == 9  # a registrar gives no roles
    assert run("verify", art(1)).exit_code == 0  # a verifier verifies

    code, listed = run_json("role", "list")
    assert code == 0 and [(r["name"], r["role"]) for r in listed["data"]["roles"]] == [
        ("default", "admin"), ("alice", "registrar"), ("bob", "verifier")]
    refused = listed["data"]["refused"]
    assert [(r["key_id"], r["action"]) for r in refused] == [(ids["alice"], "grant-role"), (ids["bob"], "register")]

    assert run("role", "set", "bob", "none").exit_code == 0
    denied = run("register", art(3), "--license", "CC0-1.0", "--key", "bob", "-q")
    assert denied.exit_code == 9 and "has no role" in denied.stderr
    assert audit_registry(home).ok


def test_a_role_claim_signed_by_a_non_admin_gives_nothing_and_audit_names_it(home) -> None:
    ids = create_keys("mallory")
    assert run("role", "set", "default", "admin").exit_code == 0
    assert run("role", "set", "mallory", "verifier").exit_code == 0
    forged = sign_payload(roles.role_payload(ids["mallory"], "admin"), home.signer("mallory"))
    with home.registry() as registry, registry.transaction():  # around the use case, straight into the table
        registry.add_claim(forged)
    with home.registry() as registry:
        assert access.role_of(registry, ids["mallory"]) == "verifier"
        assert claims.role_state(registry.db).problems == [(forged.record_id, f"signed by key {ids['mallory'][:12]}, "
                                                             "which was not an admin when it was stored")]
        try:
            access.require(registry, ids["mallory"], "grant-role")
        except AccessDenied as exc:
            assert exc.action == "grant-role"
        else:
            raise AssertionError("a forged admin claim was honoured")
    report = audit_registry(home)
    assert any(f"role claim {forged.record_id[:12]} gives nothing" in p.message for p in report.problems)
