"""Running the CLI in-process (CliRunner) with stdout and stderr kept apart."""

from __future__ import annotations

import json

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
