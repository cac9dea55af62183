"""Docs that cannot drift: every command has help text, and README lists every command and exit code."""

from __future__ import annotations

import re
from pathlib import Path

from cli_helpers import click_command, command_paths, run
from typer.core import TyperOption as Option

from artforge.errors import ExitCode

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


COMMANDS = command_paths()


def test_there_are_commands() -> None:
    assert ("register",) in COMMANDS and ("license", "grant") in COMMANDS and len(COMMANDS) >= 17


def test_every_command_has_help_text() -> None:
    for path in COMMANDS:
        command = click_command(path)
        assert command.help and len(command.help.strip()) > 20, f"{path} has no help text"
        assert any("--json" in p.opts for p in command.params), f"{path} lacks --json"
        options = [p for p in command.params if isinstance(p, Option)]
        assert options and all(p.help for p in options), path
        result = run(*path, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout, path


def test_readme_names_every_command() -> None:
    for command in COMMANDS:
        top = command[0]
        assert f"artforge {top}" in README, f"README does not mention 'artforge {top}'"
        if len(command) > 1:
            assert command[1] in README, f"README does not mention {' '.join(command)}"


def test_readme_exit_code_table_matches_the_enum() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| ([A-Z_]+) \|", README, flags=re.M))
    assert {int(code): name for code, name in rows.items()} == {int(c): c.name for c in ExitCode}


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    block = README.split("## Set up and run (fresh machine)")[1].split("```sh")[1].split("```")[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in ci.splitlines()[-1]


def test_cli_start_up_does_not_import_torch() -> None:
    # torch costs ~2 s to import: only train/generate/interpolate/evaluate may pay for it.
    import subprocess
    import sys

    code = "import sys, artforge.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
