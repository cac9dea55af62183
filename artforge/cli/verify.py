"""``artforge verify`` and ``artforge audit``."""

from __future__ import annotations

import typer
from rich.console import Console

from ..audit import audit_registry
from ..errors import ExitCode
from ..verify import verify_images
from .options import ImagesArg, JsonOpt, make_home, read_paths
from .output import Outcome, command, echo, warn
from .views import render_reports

app = typer.Typer()

# When several images are verified, the exit code is the most serious outcome among them.
SEVERITY = [ExitCode.OK, ExitCode.AMBIGUOUS, ExitCode.NO_MATCH, ExitCode.SIGNATURE_INVALID]


@command(app)
def verify(images: ImagesArg, json_output: JsonOpt = False) -> Outcome:
    """Find the registered original of disputed images; report owner, licence, terms and signatures.

    Exit codes: 0 verified match, 3 no match, 4 match whose signature or chain is broken,
    11 ambiguous (several works match equally well).
    """
    reports = verify_images(make_home(), read_paths(images))
    exit_code = max((r.exit_code for r in reports), key=SEVERITY.index)
    return Outcome([r.to_dict() for r in reports], lambda out: render_reports(out, reports), exit_code)


@command(app)
def audit(json_output: JsonOpt = False) -> Outcome:
    """Re-verify every signature and record chain in the registry; list every failure."""
    report = audit_registry(make_home())

    def render(out: Console) -> None:
        for problem in report.problems:
            echo(f"{problem.work_id}\t{problem.message}")
        summary = f"{report.works_checked} works, {report.records_checked} records checked"
        warn(summary + (": all valid" if report.ok else f": {len(report.problems)} problem(s)"))

    return Outcome(report.to_dict(), render, ExitCode.OK if report.ok else ExitCode.SIGNATURE_INVALID)
