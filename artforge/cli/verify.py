"""``artforge verify`` and ``artforge audit``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..audit import audit_registry
from ..errors import ExitCode
from ..verify import DisputeReport, VerifyFailure, iter_verify
from .options import ImagesArg, JsonOpt, RpcReadOpt, make_home, read_paths
from .output import Outcome, StreamItem, command, echo, warn
from .views import render_report

app = typer.Typer()

# When several images are verified, the exit code is the most serious outcome among them.
SEVERITY = [ExitCode.OK, ExitCode.AMBIGUOUS, ExitCode.NO_MATCH, ExitCode.SIGNATURE_INVALID, ExitCode.BAD_INPUT]


def _stream(items: Iterator[DisputeReport | VerifyFailure]) -> Iterator[StreamItem]:
    first = True
    for item in items:
        if isinstance(item, VerifyFailure):
            yield StreamItem({"path": item.path}, item.error.exit_code,
                             [{"type": type(item.error).__name__, "message": str(item.error)}])
            continue
        yield StreamItem(item.to_dict(), item.exit_code,
                         render=lambda out, report=item, gap=not first: render_report(out, report, gap))
        first = False


@command(app)
def verify(
    images: ImagesArg,
    diff: Annotated[Path | None, typer.Option(
        "--diff", help="Write a side-by-side picture of original and disputed image: a .png file for one image, "
                       "else a directory of <name>.diff.png.")] = None,
    rpc: RpcReadOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Find the registered original of disputed images; report owner, licence, terms and signatures.

    With --json, one envelope per image, one per line (NDJSON), printed as each is ready.
    Verdicts: exact-copy, modified-copy, derived-work, ambiguous, no-match.
    Exit codes: 0 verified match, 3 no match, 4 match whose signature or chain is broken,
    5 an unreadable image, 11 ambiguous (several works match equally well).
    """
    items = iter_verify(make_home(), read_paths(images), diff=diff, rpc_url=rpc)
    return Outcome(stream=_stream(items), combine=lambda codes: max(codes, key=SEVERITY.index, default=ExitCode.OK))


@command(app)
def audit(json_output: JsonOpt = False) -> Outcome:
    """Re-verify every signature, record chain and the transparency log; name every failure."""
    report = audit_registry(make_home())

    def render(out: Console) -> None:
        for problem in report.problems:
            echo(f"{problem.work_id}\t{problem.message}")
        for note in report.notes:
            warn(note)
        summary = f"{report.works_checked} works, {report.records_checked} records, {report.log_size} log leaves checked"
        warn(summary + (": all valid" if report.ok else f": {len(report.problems)} problem(s)"))

    return Outcome(report.to_dict(), render, ExitCode.OK if report.ok else ExitCode.SIGNATURE_INVALID)
