"""``artforge license``: the licence catalogue and signed grants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from artforge.cli.options import JsonOpt, KeyOpt, PassphraseEnvOpt, make_home
from artforge.cli.output import Outcome, command, echo
from artforge.usecases.defaults import TDM_VALUES

app = typer.Typer(name="license", help="Licence catalogue (SPDX ids) and signed licence grants.",
                  no_args_is_help=True)

TdmOpt = Annotated[str, typer.Option(help=f"One of: {', '.join(TDM_VALUES)}.")]


@command(app)
def add(
    licence_id: Annotated[str, typer.Argument(metavar="LICENSE_ID", help="Custom id, 'LicenseRef-...'.")],
    name: Annotated[str, typer.Option("--name", help="Human-readable name.")] = "",
    commercial: Annotated[bool, typer.Option("--commercial/--no-commercial", help="Commercial use allowed.")] = False,
    derivatives: Annotated[bool, typer.Option("--derivatives/--no-derivatives", help="Adaptations allowed.")] = False,
    share_alike: Annotated[bool, typer.Option("--share-alike/--no-share-alike", help="Adaptations must share alike.")] = False,
    attribution: Annotated[bool, typer.Option("--attribution/--no-attribution", help="Credit required.")] = True,
    ai_training: TdmOpt = "notAllowed",
    ai_generative_training: TdmOpt = "notAllowed",
    data_mining: TdmOpt = "notAllowed",
    ai_inference: TdmOpt = "notAllowed",
    constraint: Annotated[str, typer.Option("--constraint", help="Free-text constraints on the uses above.")] = "",
    url: Annotated[str, typer.Option("--url", help="Where the licence can be read.")] = "",
    text: Annotated[Optional[Path], typer.Option("--text", help="File with the full licence text (UTF-8).")] = None,
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Add a custom licence with machine-readable terms, defined by a record your key signs."""
    from artforge.usecases.licensing import LicenceTerms, add_custom_licence

    terms = LicenceTerms(commercial=commercial, derivatives=derivatives, share_alike=share_alike,
                         attribution=attribution, data_mining=data_mining, ai_inference=ai_inference,
                         ai_training=ai_training, ai_generative_training=ai_generative_training,
                         constraint_info=constraint)
    licence = add_custom_licence(make_home(passphrase_env), licence_id, name, terms, url=url, text_file=text,
                                 key_name=key)
    return Outcome(licence.to_dict(), lambda out: echo(licence.id))


@command(app, "list")
def list_command(json_output: JsonOpt = False) -> Outcome:
    """List built-in and custom licences with their key terms."""
    from artforge.usecases.licensing import list_licences

    licences = list_licences(make_home())

    def render(out: Console) -> None:
        if out.is_terminal:
            table = Table("id", "commercial", "derivatives", "share-alike", "AI training", "name")
            for lic in licences:
                t = lic.terms
                table.add_row(lic.id, _yn(t.commercial), _yn(t.derivatives), _yn(t.share_alike), t.ai_training,
                              lic.name)
            out.print(table)
        else:
            for lic in licences:
                echo(f"{lic.id}\t{lic.name}")

    return Outcome([lic.to_dict() for lic in licences], render)


@command(app)
def show(
    licence_id: Annotated[str, typer.Argument(metavar="LICENSE_ID", help="Licence id.")],
    json_output: JsonOpt = False,
) -> Outcome:
    """Show a licence and its machine-readable terms."""
    from artforge.usecases.licensing import get_licence

    licence = get_licence(make_home(), licence_id)

    def render(out: Console) -> None:
        echo(f"id: {licence.id}")
        echo(f"name: {licence.name}")
        if licence.url:
            echo(f"url: {licence.url}")
        for key, value in licence.terms.to_dict().items():
            echo(f"{key}: {_yn(value) if isinstance(value, bool) else value}")

    data = {**licence.to_dict(), "text": licence.text}
    return Outcome(data, render)


@command(app)
def grant(
    work: Annotated[str, typer.Argument(help="Work id or prefix.")],
    to: Annotated[str, typer.Option("--to", help="Who receives the grant (a name).")],
    terms: Annotated[str, typer.Option("--terms", help="What the grantee may do.")],
    until: Annotated[Optional[str], typer.Option("--until", help="Last day of the grant, YYYY-MM-DD.")] = None,
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Grant a licence to someone, signed by the work's current owner."""
    from artforge.usecases.licensing import grant_licence

    result = grant_licence(make_home(passphrase_env), work, to, terms, until, key_name=key)
    return Outcome(result.to_dict(), lambda out: echo(result.record_id))


def _yn(value: bool) -> str:
    return "yes" if value else "no"
