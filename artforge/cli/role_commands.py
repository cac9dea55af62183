"""``artforge role set|list``: who may do what on a shared registry (signed role claims)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, KeyOpt, PassphraseEnvOpt, make_home
from artforge.cli.output import Outcome, command, echo, warn

role_app = typer.Typer(name="role", no_args_is_help=True,
                       help="Roles on a shared registry: admin, registrar, owner, verifier (signed claims).")


@command(role_app, "set")
def set_command(
    key: Annotated[str, typer.Argument(help="A key name in this home, a key id the registry knows, or a public key.")],
    role: Annotated[str, typer.Argument(help="admin, registrar, owner, verifier, or none (takes the role away).")],
    signer: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Give KEY a role, signed by an admin (--key).  The first role on a registry is a key making itself admin;
    until then every key may do everything, as on a one-person registry."""
    from artforge.usecases.access import set_role

    entry = set_role(make_home(passphrase_env), key, role, signer)

    def render(out: Console) -> None:
        echo(f"{entry.key_id}\t{entry.role}\t{entry.name or ''}")

    return Outcome(entry.to_dict(), render)


@command(role_app, "list")
def list_command(json_output: JsonOpt = False) -> Outcome:
    """The roles in force, and the newest refused attempts (a log of events: nothing signs it)."""
    from artforge.usecases.access import list_roles

    entries, refused = list_roles(make_home())

    def render(out: Console) -> None:
        if not entries:
            warn("no roles: every key may do everything on this registry")
        for entry in entries:
            echo(f"{entry.key_id}\t{entry.role}\t{entry.name or ''}")
        for attempt in refused:
            warn(f"refused {attempt['at']} key {attempt['key_id'][:12]} {attempt['action']} "
                 f"{attempt['target'][:12]}: {attempt['reason']}")

    return Outcome({"roles": [e.to_dict() for e in entries], "refused": refused}, render)
