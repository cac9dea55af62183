"""``artforge init`` and ``artforge home``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console

from artforge.cli.options import EncryptOpt, JsonOpt, PassphraseEnvOpt, make_home, passphrase_provider
from artforge.cli.output import Outcome, command, echo
from artforge.config import DEFAULT_KEY_NAME

app = typer.Typer()


@command(app)
def init(
    key: Annotated[str, typer.Option("--key", "-k", help="Name of the signing identity to create.")] = DEFAULT_KEY_NAME,
    encrypt: EncryptOpt = True,
    passphrase_env: PassphraseEnvOpt = None,
    database: Annotated[Optional[str], typer.Option(
        "--database", help="Use (and remember) a shared PostgreSQL registry: postgresql://user@host/db, "
        "password in ~/.pgpass or PGPASSWORD.")] = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Create the home directory, the registry and a default signing identity (safe to re-run).

    The identity and the log key are encrypted with a passphrase (asked on the terminal, or read from
    --passphrase-env VAR / $ARTFORGE_PASSPHRASE) unless --no-encrypt.  The registry is an SQLite file in
    the home, or with --database (or $ARTFORGE_DATABASE_URL) a PostgreSQL database shared with other homes.
    """
    provider = passphrase_provider(passphrase_env, confirm=True) if encrypt else None
    from artforge.usecases.home import init_home

    result = init_home(make_home(), key_name=key, passphrase=provider, database_url=database)

    def render(out: Console) -> None:
        echo(f"home      {result.home}")
        echo(f"registry  {result.registry} (schema v{result.schema_version})")
        state = "created" if result.created_key else "exists"
        echo(f"key       {result.key.name} {result.key.key_id} ({state}{', encrypted' if result.key.encrypted else ''})")

    return Outcome(result.to_dict(), render)


@command(app)
def home(json_output: JsonOpt = False) -> Outcome:
    """Print where artforge keeps its files ($ARTFORGE_HOME overrides the default)."""
    from artforge.usecases.home import describe_home

    info = describe_home(make_home())

    def render(out: Console) -> None:
        echo(f"home      {info.home}")
        echo(f"registry  {info.registry}{'' if info.initialised else ' (not created yet: run artforge init)'}")
        echo(f"keys      {info.keys}")

    return Outcome(info.to_dict(), render)
