"""``artforge keys``: signing identities."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from artforge.cli.options import EncryptOpt, JsonOpt, PassphraseEnvOpt, make_home, passphrase_provider
from artforge.cli.output import Outcome, command, echo

app = typer.Typer(name="keys", help="Create and inspect Ed25519 signing identities.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Key name.")]


@command(app)
def create(
    name: NameArg,
    encrypt: EncryptOpt = True,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Create a new Ed25519 key (private file 0600, encrypted with a passphrase unless --no-encrypt)."""
    passphrase = passphrase_provider(passphrase_env, confirm=True) if encrypt else None
    from artforge.usecases.home import create_key

    info = create_key(make_home(), name, passphrase)
    return Outcome(info.to_dict(), lambda out: echo(f"{info.name}\t{info.key_id}\t{info.public_key}"))


@command(app, "list")
def list_keys(json_output: JsonOpt = False) -> Outcome:
    """List the keys in this home."""
    keys = make_home().keystore.list()

    def render(out: Console) -> None:
        if out.is_terminal:
            table = Table("name", "key id", "encrypted", "created")
            for k in keys:
                table.add_row(k.name, k.key_id, "yes" if k.encrypted else "no", k.created_at)
            out.print(table)
        else:
            for k in keys:
                echo(f"{k.name}\t{k.key_id}\t{'encrypted' if k.encrypted else 'plain'}")

    return Outcome([k.to_dict() for k in keys], render)


@command(app)
def show(name: NameArg, json_output: JsonOpt = False) -> Outcome:
    """Show a key's public key and key id (never the private key)."""
    info = make_home().keystore.info(name)

    def render(out: Console) -> None:
        echo(f"name        {info.name}")
        echo(f"key id      {info.key_id}")
        echo(f"public key  {info.public_key}")
        echo(f"encrypted   {'yes' if info.encrypted else 'no'}")
        echo(f"created     {info.created_at}")

    return Outcome(info.to_dict(), render)


@command(app, "export-public")
def export_public(name: NameArg, json_output: JsonOpt = False) -> Outcome:
    """Print a key's public key as PEM (SubjectPublicKeyInfo), for others to verify your records."""
    store = make_home().keystore
    pem = store.public_pem(name)
    info = store.info(name)
    return Outcome({"name": name, "key_id": info.key_id, "public_key": info.public_key, "pem": pem},
                   lambda out: echo(pem.rstrip("\n")))
