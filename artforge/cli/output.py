"""Rendering and the one place where errors become messages and exit codes.

Every command returns an :class:`Outcome`; :func:`command` prints it (the JSON envelope with ``--json``,
else the command's human renderer) and turns any :class:`~artforge.errors.ArtforgeError` into
``Error: <message>`` on stderr plus its exit code.  Data goes to stdout, talk to stderr.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console
from typer._click.globals import get_current_context  # Typer's own copy of Click

from artforge.envelope import envelope
from artforge.errors import ArtforgeError, ExitCode

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


@dataclass
class StreamItem:
    """One result of a streamed batch: with ``--json``, one envelope per line (NDJSON)."""

    data: Any
    exit_code: ExitCode = ExitCode.OK
    errors: list[dict] = field(default_factory=list)
    render: Callable[[Console], None] | None = None


@dataclass
class Outcome:
    """What a command produced: JSON-ready data, how to show it to a person, and the exit code.

    A batch command may instead give ``stream``: items are printed as they are produced, and the exit
    code is ``combine`` of theirs.
    """

    data: Any = None
    render: Callable[[Console], None] | None = None
    exit_code: ExitCode = ExitCode.OK
    errors: list[dict] = field(default_factory=list)
    silent: bool = False  # print nothing (e.g. the non-zero ranks of a torchrun job)
    stream: Iterable[StreamItem] | None = None
    combine: Callable[[list[ExitCode]], ExitCode] | None = None


def write_json(payload: Any) -> None:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=False)
    # A file name that is not UTF-8 reaches us as lone surrogates (surrogateescape); JSON text must be UTF-8,
    # so they are written as \udcXX escapes, which json.loads turns back into the same name.
    sys.stdout.write(_LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")
    sys.stdout.flush()


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# An unexpected error's text may quote what it was given: a URL (its path or query may hold an API key) or
# a long hex run (a private key).  Neither reaches the terminal.
_SECRET_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+|[0-9A-Fa-f]{32,}")


def _redacted(text: str) -> str:
    return _SECRET_LIKE.sub("<redacted>", text)


def _raw_bytes_for_file_names() -> None:
    # Human output prints such a name as its original bytes, as ls does, instead of failing on it.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape" if stream is sys.stdout else "backslashreplace")


def echo(line: str) -> None:
    """One plain line of data on stdout (no wrapping, no markup)."""
    sys.stdout.write(line + "\n")


def warn(message: str) -> None:
    """Talk for a person, on stderr: never hard-wrapped, so a key or path stays whole when piped or copied
    (a terminal folds the long line itself)."""
    stderr.print(message, markup=False, soft_wrap=True)


def error_line(message: str) -> None:
    # One line, whatever the message holds, so scripts can rely on it; control characters from user input
    # (a file name with an escape sequence) are shown escaped, never sent to the terminal.
    text = " ".join(str(message).split())
    sys.stderr.write("Error: " + "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text) + "\n")
    sys.stderr.flush()


def command(app: typer.Typer, name: str | None = None, **options: Any) -> Callable:
    """Register ``fn`` as a Typer command whose result and errors are rendered here, once.

    The wrapped function takes a ``json_output`` parameter and returns an :class:`Outcome`.
    """

    def decorate(fn: Callable[..., Outcome]) -> Callable[..., None]:
        command_name = name or fn.__name__.replace("_", "-")
        full_name = f"{app.info.name} {command_name}" if app.info.name else command_name

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            json_mode = bool(kwargs.get("json_output"))
            _raw_bytes_for_file_names()
            try:
                outcome = fn(*args, **kwargs)
                if outcome.stream is not None:
                    outcome.exit_code = _emit_stream(full_name, json_mode, outcome)
            except ArtforgeError as exc:
                _fail(full_name, json_mode, exc.exit_code, type(exc).__name__, str(exc))
            except KeyboardInterrupt:
                _fail(full_name, json_mode, ExitCode.INTERRUPTED, "Interrupted", "interrupted")
            except typer.Exit:
                raise
            except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
                _fail(full_name, json_mode, ExitCode.ERROR, "InternalError",
                      f"internal error ({type(exc).__name__}: {_redacted(str(exc))})")
            if outcome.silent or outcome.stream is not None:
                pass
            elif json_mode:
                write_json(envelope(full_name, outcome.data, outcome.exit_code, outcome.errors))
            elif outcome.render is not None:
                outcome.render(stdout)
            sys.stdout.flush()
            if outcome.exit_code != ExitCode.OK:
                raise typer.Exit(int(outcome.exit_code))

        app.command(command_name, **options)(wrapper)
        return wrapper

    return decorate


def _emit_stream(command_name: str, json_mode: bool, outcome: Outcome) -> ExitCode:
    codes = []
    for item in outcome.stream or ():
        for problem in item.errors:
            error_line(problem["message"])
        if json_mode:
            write_json(envelope(command_name, item.data, item.exit_code, item.errors))
        elif item.render is not None:
            item.render(stdout)
        sys.stdout.flush()
        codes.append(item.exit_code)
    if outcome.combine is not None:
        return outcome.combine(codes)
    return max(codes, default=ExitCode.OK)


# The library names its parameters in backticks (`truncation`, `label=N`: see artforge.errors); on the command
# line they are options.  Where the option's name is not the parameter's, it is named here.
_OPTION_OF_PARAMETER = {"passphrase": "--passphrase-env VAR", "allow_noncommercial": "--allow-noncommercial-token",
                        "licence_id": "--license", "image_size": "--size", "model_options": "--width",
                        "optim": "--augment/--ema-decay/--lr"}
_PARAMETER = re.compile(r"`([a-z_][a-z0-9_]*)(?:=([^`\s]+))?`")


def cli_wording(message: str) -> str:
    """A library message in the command line's words: `` `name` `` -> the running command's option for it
    (``--name``, or ``NAME`` for an argument), `` `name=value` `` -> ``--name value``."""
    context = get_current_context(silent=True)
    params = {p.name: p for p in context.command.params} if context is not None else {}

    def option(match: re.Match) -> str:
        name, value = match.group(1), match.group(2)
        param = params.get(name)
        if name in _OPTION_OF_PARAMETER:
            shown = _OPTION_OF_PARAMETER[name]
        elif param is not None and not getattr(param, "opts", [""])[0].startswith("-"):
            shown = name.upper()  # a positional argument: its metavar
        elif param is not None:
            shown = max(param.opts, key=len)
        else:
            shown = "--" + name.replace("_", "-")
        return f"{shown} {value}" if value else shown

    return _PARAMETER.sub(option, message)


def _fail(command_name: str, json_mode: bool, code: ExitCode, kind: str, message: str) -> None:
    message = cli_wording(message)
    error_line(message)
    if json_mode:
        write_json(envelope(command_name, None, code, [{"type": kind, "message": message}]))
    raise typer.Exit(int(code))
