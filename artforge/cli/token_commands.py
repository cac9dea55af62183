"""``artforge token create|revoke|list``: API tokens for the HTTP service (only their SHA-256 is stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, KeyOpt, PassphraseEnvOpt, make_home
from artforge.cli.output import Outcome, command, echo, warn

token_app = typer.Typer(name="token", no_args_is_help=True,
                        help="API tokens for 'artforge serve': a token acts as the key that issued it.")


@command(token_app)
def create(
    out: Annotated[Path, typer.Option("--out", "-o", help="A new file to write the token to (mode 0600).")],
    label: Annotated[str, typer.Option("--label", help="What the token is for (shown by 'token list').")] = "",
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Issue a token acting as --key (the default identity), written to --out only: the registry keeps its
    SHA-256 in a claim the key signs, and nothing prints the token."""
    from artforge.usecases.service_access import create_token

    info = create_token(make_home(passphrase_env), out, key, label)

    def render(out_: Console) -> None:
        echo(f"{info.token_id}\t{info.key_id}\t{info.label}")
        warn(f"token written to {info.file} (mode 0600); send it as 'Authorization: Bearer TOKEN'")

    return Outcome(info.to_dict(), render)


@command(token_app)
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (8+ hex digits, as 'token list' shows).")],
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Revoke a token (signed by the key it acts for): the service refuses it from the next request."""
    from artforge.usecases.service_access import revoke_token

    info = revoke_token(make_home(passphrase_env), token_id, key)
    return Outcome(info.to_dict(), lambda out: echo(f"{info.token_id}\trevoked"))


@command(token_app, "list")
def list_command(json_output: JsonOpt = False) -> Outcome:
    """Every token the registry knows: its id, the key it acts for, its label, whether it is revoked."""
    from artforge.usecases.service_access import list_tokens

    tokens = list_tokens(make_home())

    def render(out: Console) -> None:
        for info in tokens:
            echo(f"{info.token_id}\t{info.key_id}\t{'revoked' if info.revoked else 'active'}\t{info.label}")

    return Outcome([t.to_dict() for t in tokens], render)
