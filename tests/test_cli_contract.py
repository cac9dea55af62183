"""The --json envelope is a contract: pinned here for every command, success and failure alike."""

from __future__ import annotations

import json

import pytest
from cli_helpers import click_command, command_paths, run, run_json
from typer.core import TyperOption as Option

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


COMMAND_PATHS = command_paths()


def _usage_failure(args: list[str], command: str) -> dict:
    result = run(*args, "--json")
    env = json.loads(result.stdout)
    _check(env, command, False, 2)
    assert env["errors"][0]["type"] == "UsageError", env
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert f"'artforge {command} --help'" in result.stderr  # where to read the usage
    return env


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_usage_errors_are_envelopes_on_every_command(path: tuple[str, ...]) -> None:
    """Click's own errors (before any artforge code runs) come out as the envelope too, for every command."""
    command = " ".join(path)
    env = _usage_failure([*path, "--no-such-option"], command)
    assert "--no-such-option" in env["errors"][0]["message"]
    params = click_command(path).params
    if any(p.required for p in params):  # a missing argument or option
        assert "Missing" in _usage_failure(list(path), command)["errors"][0]["message"]
    numeric = [p for p in params if isinstance(p, Option) and p.type_descriptor.annotation in (int, float)]
    for option in numeric[:1]:  # a value of the wrong type
        env = _usage_failure([*path, option.opts[-1], "not-a-number"], command)
        assert env["errors"][0]["message"].startswith("Invalid value for ") and option.opts[-1] in env["errors"][0]["message"]


def test_usage_error_of_an_unknown_command_names_its_group() -> None:
    _usage_failure(["keys", "no-such-command"], "keys")
    result = run("no-such-command", "--json")
    env = json.loads(result.stdout)
    _check(env, "", False, 2)


def test_version_and_completion() -> None:
    from artforge.version import __version__

    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"artforge {__version__}\n"
    shown = run("--show-completion", "bash")
    assert shown.exit_code == 0 and "_ARTFORGE_COMPLETE" in shown.stdout  # the script `eval` installs
