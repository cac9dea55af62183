"""``artforge registry copy SRC DST``: move a registry between backends (SQLite file, PostgreSQL URL)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, make_home
from artforge.cli.output import Outcome, command, echo, warn
from artforge.errors import ExitCode

registry_app = typer.Typer(name="registry", no_args_is_help=True,
                           help="The registry itself: move it between SQLite and PostgreSQL.")


@command(registry_app)
def copy(
    source: Annotated[str, typer.Argument(help="The registry to copy: an SQLite file or a postgresql:// URL.")],
    target: Annotated[str, typer.Argument(help="An empty registry (created when missing): file or URL.")],
    json_output: JsonOpt = False,
) -> Outcome:
    """Copy every table into an empty registry, audit both, and check the copy's log is the source's.

    A URL may hold a password (or leave it to ~/.pgpass / PGPASSWORD); it is never shown.  Exit codes: 0 the
    copy audits clean, 4 the source had problems (copied as they are, and listed), 10 the target is not empty.
    """
    from artforge.usecases.registry_copy import copy_registry

    result = copy_registry(source, target, local_dir=make_home().settings.home)

    def render(out: Console) -> None:
        for table, rows in result.rows.items():
            echo(f"{table:<18}{rows}")
        for problem in result.source_problems:
            warn(f"source: {problem}")
        warn(f"copied {result.source} to {result.target}: log of {result.log_size} leaves, root "
             f"{result.log_root[:16]}..., " + ("both audit clean" if result.ok else "the source's problems copied"))

    return Outcome(result.to_dict(), render, ExitCode.OK if result.ok else ExitCode.SIGNATURE_INVALID)
