"""The ``artforge`` command line: one Typer app per command group, joined here."""

from __future__ import annotations

from typing import Annotated

import typer

from artforge.cli import (
    chain_commands,
    fingerprint_commands,
    generate_commands,
    home_commands,
    index_commands,
    keys_commands,
    license_commands,
    log_commands,
    registry_commands,
    role_commands,
    serve_commands,
    style_commands,
    token_commands,
    verify_commands,
    works_commands,
)
from artforge.cli.usage import ArtforgeGroup

app = typer.Typer(
    name="artforge",
    help="Make images with generators, then prove, license and defend them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # key material can be in scope: never print locals
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    cls=ArtforgeGroup,
)


def _print_version(value: bool) -> None:
    if value:
        from artforge.version import __version__

        typer.echo(f"artforge {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", help="Print the installed version and exit.",
                                          callback=_print_version, is_eager=True)] = False,
) -> None:
    """Make images with generators, then prove, license and defend them."""

for group in (home_commands, fingerprint_commands, works_commands, verify_commands, generate_commands, style_commands,
              chain_commands, log_commands, serve_commands):
    app.registered_commands.extend(group.app.registered_commands)
app.add_typer(keys_commands.app)
app.add_typer(license_commands.app)
app.add_typer(index_commands.app)
app.add_typer(chain_commands.chain_app)
app.add_typer(log_commands.log_app)
app.add_typer(registry_commands.registry_app)
app.add_typer(role_commands.role_app)
app.add_typer(token_commands.token_app)


def main() -> None:
    """Console-script entry point."""
    app()
