"""The --json envelope is a contract: pinned here for every command, success and failure alike."""

from __future__ import annotations

import json

import pytest
from cli_helpers import run, run_json

ENVELOPE_KEYS = ["artforge", "command", "ok", "exit_code", "data", "errors"]


def _check(env: dict, command: str, ok: bool, exit_code: int) -> None:
    assert list(env) == ENVELOPE_KEYS
    assert env["artforge"] == 1
    assert env["command"] == command
    assert env["ok"] is ok and env["exit_code"] == exit_code
    if not ok:
        assert env["data"] is None
        assert [sorted(e) for e in env["errors"]] == [["message", "type"]]
    else:
        assert env["errors"] == []


def test_success_envelopes(art) -> None:
    code, env = run_json("init", "--no-encrypt")
    _check(env, "init", True, 0)
    work_id = run("register", art(1), "--license", "CC0-1.0").stdout.strip()
    for args, name in [
        (["home"], "home"), (["keys", "list"], "keys list"), (["keys", "show", "default"], "keys show"),
        (["keys", "export-public", "default"], "keys export-public"), (["fingerprint", art(2)], "fingerprint"),
        (["register", art(1), "--license", "CC0-1.0"], "register"), (["list"], "list"), (["show", work_id], "show"),
        (["history", work_id], "history"), (["license", "list"], "license list"),
        (["license", "show", "CC0-1.0"], "license show"), (["verify", art(1)], "verify"), (["audit"], "audit"),
        (["license", "grant", work_id, "--to", "A", "--terms", "t"], "license grant"),
        (["keys", "create", "k2", "--no-encrypt"], "keys create"), (["transfer", work_id, "--to", "k2"], "transfer"),
        (["license", "add", "LicenseRef-X"], "license add"),
    ]:
        code, env = run_json(*args)
        _check(env, name, True, 0)
        assert code == 0


def test_no_match_is_a_successful_command_with_exit_3(art) -> None:
    run("init", "--no-encrypt")
    code, env = run_json("verify", art(3))
    _check(env, "verify", True, 3)
    assert code == 3 and env["data"]["verdict"] == "no-match"  # verify prints one envelope per image


@pytest.mark.parametrize(
    ("args", "exit_code", "error_type"),
    [
        (["show", "abcdef"], 6, "NotFound"),
        (["license", "show", "Nope-1.0"], 6, "UnknownLicence"),
        (["keys", "show", "ghost"], 6, "NotFound"),
        (["show", "xyz"], 2, "UsageError"),
    ],
)
def test_failure_envelopes(args: list[str], exit_code: int, error_type: str) -> None:
    run("init", "--no-encrypt")
    result = run(*args, "--json")
    env = json.loads(result.stdout)
    command = " ".join(args[:2]) if args[0] in ("license", "keys") else args[0]
    _check(env, command, False, exit_code)
    assert env["errors"][0]["type"] == error_type
    assert result.exit_code == exit_code
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
