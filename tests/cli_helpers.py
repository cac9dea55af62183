"""Running the CLI in-process (CliRunner) or as a real process, with stdout and stderr kept apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import IO

import typer
from typer.testing import CliRunner

from artforge.cli import app

runner = CliRunner()


def run(*args: str, input: str | None = None):
    """Invoke ``artforge ARGS``; returns Click's Result (exit_code, stdout, stderr)."""
    return runner.invoke(app, [str(a) for a in args], input=input)


def run_json(*args: str, input: str | None = None) -> tuple[int, dict]:
    """Invoke with --json and parse the envelope from stdout."""
    result = run(*args, "--json", input=input)
    return result.exit_code, json.loads(result.stdout)


def create_keys(*names: str) -> dict[str, str]:
    """``artforge keys create NAME --no-encrypt`` for each name; their key ids by name."""
    ids = {}
    for name in names:
        code, made = run_json("keys", "create", name, "--no-encrypt")
        assert code == 0, made
        ids[name] = made["data"]["key_id"]
    return ids


def run_process(*args: str, input: bytes | None = None, stdin: IO | int | None = None, timeout: float = 600,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m artforge ARGS`` as a real process (the environment's ARTFORGE_HOME), stdout and stderr as
    text; the timeout turns a hang into a failure (subprocess.TimeoutExpired) instead of a stuck suite."""
    if input is None and stdin is None:
        stdin = subprocess.DEVNULL
    result = subprocess.run([sys.executable, "-m", "artforge", *map(str, args)], input=input, stdin=stdin,
                            capture_output=True, timeout=timeout, env=env if env is not None else dict(os.environ))
    result.stdout = result.stdout.decode("utf-8", "replace")
    result.stderr = result.stderr.decode("utf-8", "replace")
    return result


def command_paths(typer_app: typer.Typer = app, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command of the CLI as its words: ``("register",)``, ``("license", "grant")``, ..."""
    found = [(*prefix, c.name) for c in typer_app.registered_commands]
    for group in typer_app.registered_groups:
        found += command_paths(group.typer_instance, (*prefix, group.typer_instance.info.name))
    return found


def click_command(path: tuple[str, ...]):
    """The Click command object behind ``artforge PATH``."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command
