"""The ``artforge`` command line: one Typer app per command group, joined here."""

from __future__ import annotations

import typer

from artforge.cli import chain, fingerprint, generate, home, index, keys, license, log, verify, works

app = typer.Typer(
    name="artforge",
    help="Make images with generators, then prove, license and defend them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # key material can be in scope: never print locals
    add_completion=False,
)

for group in (home, fingerprint, works, verify, generate, chain, log):
    app.registered_commands.extend(group.app.registered_commands)
app.add_typer(keys.app)
app.add_typer(license.app)
app.add_typer(index.app)
app.add_typer(chain.chain_app)
app.add_typer(log.log_app)


def main() -> None:
    """Console-script entry point."""
    app()
