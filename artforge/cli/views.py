"""Human renderings shared by several commands: a work's details and a dispute report.

On a terminal they are Rich panels; when piped, plain ``key: value`` lines that grep and cut can read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

if TYPE_CHECKING:  # types only: the use cases load with the command that renders them
    from artforge.usecases.show import Identity, ParentWork, TokenState, WorkDetails
    from artforge.usecases.verify import DisputeReport


def _who(identity: Identity) -> str:
    if not identity.name:
        return identity.key_id
    label = "" if identity.name_signed else ", unsigned label"
    return f"{identity.name} ({identity.key_id}{label})"



def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _origin_summary(origin: dict) -> str:
    from artforge.usecases.show import generator_summary, stylize_summary

    return generator_summary(origin) or stylize_summary(origin)


def work_lines(details: WorkDetails) -> list[tuple[str, str]]:
    """(label, value) pairs describing a work, its licence, grants and chain status."""
    work, terms = details.work, details.shown_terms
    lines = [
        ("work", work.id),
        ("title", details.display_title),
        ("size", f"{work.width}x{work.height}"),
        ("registered", work.created_at),
        ("creator", _who(details.creator)),
        ("owner", _who(details.owner)),
        ("origin", _origin_summary(work.origin)
                   or work.origin.get("type", "registered")),
        ("licence", f"{details.sealed.licence_id} (sealed; the public record shows {details.licence.id})" if details.sealed
                    else f"{details.licence.id} ({details.licence.name}{', unsigned label' if details.licence.unsigned else ''})"),
        ("commercial use", _yes_no(terms.commercial)),
        ("derivatives", _yes_no(terms.derivatives)),
        ("share-alike", _yes_no(terms.share_alike)),
        ("attribution", "required" if terms.attribution else "not required"),
        ("AI training", terms.ai_training),
        ("AI generative training", terms.ai_generative_training),
        ("data mining", terms.data_mining),
    ]
    if terms.constraint_info:
        lines.append(("constraints", terms.constraint_info))
    lines += [("derived work of", parent_line(parent)) for parent in details.lineage]
    for grant in details.active_grants:
        until = grant.until or "no end date"
        lines.append(("grant", f"{grant.grantee}: {grant.terms} (until {until})"))
    if details.private:
        lines.append(("private", "title, licence and thumbnail sealed; " + (
            f"opened with key {details.sealed.opened_with[:12]}" if details.sealed else "no key of this home opens them")))
    lines.append(("records", str(len(details.history))))
    status = "valid" if details.chain_valid else "BROKEN: " + "; ".join(details.chain_problems)
    lines.append(("signatures", status))
    if details.registry_problems:
        lines.append(("registry", "TAMPERED: " + "; ".join(details.registry_problems)
                      + " (shown: what the signed records say)"))
    lines += [("token", token_line(t)) for t in details.tokens]
    return lines


def parent_line(parent: ParentWork) -> str:
    """A parent work: its role, id, and its own signed title and owner."""
    if parent.status != "valid":
        return f"{parent.role}: {parent.work_id[:12]} ({parent.status})"
    return f"{parent.role}: {parent.work_id[:12]} {parent.title!r}, owned by {_who(parent.owner)}"


def token_line(state: TokenState) -> str:
    """A token as recorded, and its owner and royalty as the chain says now (when it was asked)."""
    row = state.row
    where = f"chain {row.chain_id} ({state.network}) contract {row.contract}"
    if row.status != "minted":
        return f"{row.status} on {where}, transaction {row.tx_hash}"
    text = f"#{row.token_id} on {where}, {row.token_uri}"
    if state.live:
        text += (f"; owner now {state.live.owner}, royalty {state.live.royalty_bps / 100:g}% "
                 f"to {state.live.royalty_receiver}")
    elif state.note:
        text += f"; live state unknown: {state.note}"
    return text


def _table(lines: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in lines:
        table.add_row(label, value)
    return table


def _plain(out: Console, lines: list[tuple[str, str]]) -> None:
    for label, value in lines:
        out.file.write(f"{label}: {value}\n")


def render_work(out: Console, details: WorkDetails) -> None:
    lines = work_lines(details)
    if out.is_terminal:
        style = "green" if details.status == "valid" else "red"
        out.print(Panel(_table(lines), title=details.display_title, border_style=style))
    else:
        _plain(out, lines)


VERDICT_STYLE = {"exact-copy": "green", "modified-copy": "yellow", "derived-work": "yellow", "ambiguous": "magenta",
                 "no-match": "red"}


def report_lines(report: DisputeReport) -> list[tuple[str, str]]:
    from artforge.usecases.verify_summary import evidence_line

    lines = [("image", report.path), ("verdict", report.verdict)]
    if report.match:
        lines.append(("evidence", evidence_line(report.match)))
    if report.watermark:
        lines.append(("watermark", report.watermark.summary()))
    if report.credentials:
        lines.append(("credentials", report.credentials.summary()))
    for note in report.notes:
        lines.append(("note", note))
    for problem in report.registry_problems:
        lines.append(("registry", f"TAMPERED: {problem}"))
    if report.diff_path:
        lines.append(("diff", report.diff_path))
    if report.details:
        lines += work_lines(report.details)
    elif report.verdict == "ambiguous":
        lines += [("candidate", f"{c.work_id}: {evidence_line(c)}") for c in report.candidates if c.kind]
    return lines


def render_report(out: Console, report: DisputeReport, gap: bool = False) -> None:
    """One dispute report; ``gap`` puts a blank line before it (between the reports of a batch)."""
    lines = report_lines(report)
    if out.is_terminal:
        out.print(Panel(_table(lines), title=f"Dispute report: {report.verdict}",
                        border_style=VERDICT_STYLE.get(report.verdict, "white")))
    else:
        if gap:
            out.file.write("\n")
        _plain(out, lines)


