"""The ``artforge`` command line: one Typer app per command group, joined here."""

from __future__ import annotations

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
    style_commands,
    verify_commands,
    works_commands,
)

app = typer.Typer(
    name="artforge",
    help="Make images with generators, then prove, license and defend them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # key material can be in scope: never print locals
    add_completion=False,
)

for group in (home_commands, fingerprint_commands, works_commands, verify_commands, generate_commands, style_commands,
              chain_commands, log_commands):
    app.registered_commands.extend(group.app.registered_commands)
app.add_typer(keys_commands.app)
app.add_typer(license_commands.app)
app.add_typer(index_commands.app)
app.add_typer(chain_commands.chain_app)
app.add_typer(log_commands.log_app)


def main() -> None:
    """Console-script entry point."""
    app()
