"""The root command group: Click's own usage errors become the same one line (and ``--json`` envelope) as ours.

Click raises ``UsageError`` (unknown option, missing argument, bad value) while it parses, before any command
of ours runs, so :func:`artforge.cli.output.command` never sees them; Typer would print a framed box even
under ``--json``, where a script expects the envelope with ``ok: false``.  :class:`ArtforgeGroup` catches them
at the top, once, for every command and sub-command.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

# Typer 0.29 carries its own copy of Click (pinned in pyproject.toml): its classes are these, not click's.
import typer
from typer._click import core as click_core
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from artforge.cli.output import envelope, error_line, write_json
from artforge.errors import ExitCode


class ArtforgeGroup(TyperGroup):
    """The ``artforge`` group: runs Click in non-standalone mode and renders its errors our way."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:  # bare `artforge` or `artforge keys`: the help
            typer.echo(exc.ctx.get_help() if exc.ctx is not None else "", color=False)
            result = int(ExitCode.USAGE)
        except click_errors.ClickException as exc:
            result = int(report_click_error(self, argv, exc))
        except typer.Abort:  # a prompt answered with end-of-input
            error_line("aborted")
            result = int(ExitCode.INTERRUPTED)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def report_click_error(root: TyperGroup, argv: list[str], exc: click_errors.ClickException) -> ExitCode:
    """One ``Error:`` line on stderr (and the envelope on stdout with ``--json``); returns the exit code."""
    code = ExitCode.USAGE if isinstance(exc, click_errors.UsageError) else ExitCode.BAD_INPUT
    message = exc.format_message()
    context = getattr(exc, "ctx", None)
    if context is not None and isinstance(exc, click_errors.UsageError):
        message = message.rstrip(".") + f" (see '{context.command_path} --help')"
    error_line(message)
    if "--json" in argv:
        write_json(envelope(command_path(root, argv), None, code, [{"type": "UsageError", "message": message}]))
    return code


def command_path(root: TyperGroup, argv: list[str]) -> str:
    """The command the arguments name, as the envelope spells it (``verify``, ``keys show``)."""
    names: list[str] = []
    current: click_core.Command = root
    for token in argv:
        if token.startswith("-"):
            continue
        sub_commands = getattr(current, "commands", None)  # a group's; a command has none
        if not isinstance(sub_commands, dict) or token not in sub_commands:
            break
        names.append(token)
        current = sub_commands[token]
    return " ".join(names)
