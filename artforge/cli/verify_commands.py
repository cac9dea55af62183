"""``artforge verify`` and ``artforge audit``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from artforge.cli.options import (
    ImagesOrBytesArg,
    JsonOpt,
    KeyOpt,
    PassphraseEnvOpt,
    QuietOpt,
    RecursiveOpt,
    RpcReadOpt,
    make_home,
    read_images,
)
from artforge.cli.output import Outcome, StreamItem, command, echo, stderr, warn
from artforge.cli.progress import batch_progress
from artforge.cli.views import render_report
from artforge.errors import ExitCode

if TYPE_CHECKING:  # the use cases load inside each command: `--help` and tab completion stay fast
    from artforge.usecases.verify import DisputeReport, VerifyFailure

app = typer.Typer()

# When several images are verified, the exit code is the most serious outcome among them.
SEVERITY = [ExitCode.OK, ExitCode.AMBIGUOUS, ExitCode.NO_MATCH, ExitCode.REGISTRY_TAMPERED, ExitCode.SIGNATURE_INVALID,
            ExitCode.BAD_INPUT]


def _stream(items: Iterator[DisputeReport | VerifyFailure], total: int, quiet: bool,
            summary: bool) -> Iterator[StreamItem]:
    first = True
    from artforge.usecases.verify import VerifyFailure
    from artforge.usecases.verify_summary import VerifyTally

    tally = VerifyTally()
    with batch_progress("verify", quiet or total < 2) as bar:
        started = time.perf_counter()
        for item in items:
            now = time.perf_counter()
            tally.add(item, now - started)
            started = now
            bar.update(sum(tally.counts.values()), total)
            if isinstance(item, VerifyFailure):
                yield StreamItem({"path": item.path}, item.error.exit_code,
                                 [{"type": type(item.error).__name__, "message": str(item.error)}])
                continue
            yield StreamItem(item.to_dict(), item.exit_code,
                             render=lambda out, report=item, gap=not first: render_report(out, report, gap))
            first = False
    # What many images came to, on stderr (stdout keeps one item per image): after a folder (-r), or on a
    # terminal; a script reading stderr otherwise sees one line per bad image, as before.
    if total > 1 and summary and not quiet:
        for line in tally.lines():
            warn(line)


@command(app)
def verify(
    images: ImagesOrBytesArg,
    diff: Annotated[Path | None, typer.Option(
        "--diff", help="Write a side-by-side picture of original and disputed image: a .png file for one image, "
                       "else a directory of <name>.diff.png.")] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Also write the report as one self-contained HTML page (one image).")] = None,
    rpc: RpcReadOpt = None,
    recursive: RecursiveOpt = False,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Outcome:
    """Find the registered original of disputed images; report owner, licence, terms and signatures.

    With --json, one envelope per image, one per line (NDJSON), printed as each is ready.  Over several
    images (-r: the images in a folder, subfolders too), a progress bar (on a terminal) and, after a folder or
    on a terminal, a summary at the end go to stderr.
    Verdicts: exact-copy, modified-copy, derived-work, ambiguous, no-match.
    Exit codes: 0 verified match, 3 no match, 4 match whose signature or chain is broken,
    5 an unreadable image, 11 ambiguous (several works match equally well), 14 the registry's rows
    disagree with the signed records (what is shown is the records').
    """
    sources = read_images(images, recursive=recursive)
    from artforge.usecases.verify import iter_verify

    items = iter_verify(make_home(), sources, diff=diff, rpc_url=rpc, page=report)
    return Outcome(stream=_stream(items, len(sources), quiet, summary=recursive or stderr.is_terminal), combine=lambda codes: max(codes, key=SEVERITY.index, default=ExitCode.OK))


@command(app)
def audit(
    against: Annotated[list[Path] | None, typer.Option(
        "--against", metavar="FILE",
        help="A checkpoint saved earlier ('artforge log checkpoint --out FILE'): prove with a consistency proof "
             "that today's log extends it (repeatable).")] = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Re-verify every signature, record chain, claim and index row, and the transparency log; name every failure.

    Exit codes: 0 all valid, 4 a problem was found (each is listed).
    """
    from artforge.usecases.audit import audit_registry

    report = audit_registry(make_home(), against or ())

    def render(out: Console) -> None:
        for problem in report.problems:
            echo(f"{problem.work_id}\t{problem.message}")
        for note in report.notes:
            warn(note)
        summary = f"{report.works_checked} works, {report.records_checked} records, {report.log_size} log leaves checked"
        warn(summary + (": all valid" if report.ok else f": {len(report.problems)} problem(s)"))

    return Outcome(report.to_dict(), render, ExitCode.OK if report.ok else ExitCode.SIGNATURE_INVALID)


@command(app, "attest")
def attest_command(key: KeyOpt = None, passphrase_env: PassphraseEnvOpt = None, json_output: JsonOpt = False) -> Outcome:
    """Sign what an older artforge left unsigned: match layers, key names, custom licences.

    Each work's match layers are signed by its owner, each key's name by the key, custom licences by --key.
    Run once after upgrading; 'audit' says when it is needed.  Exit 14 when a work's layers do not fit its
    signed fingerprints (they are not signed).
    """
    from artforge.usecases.attest import attest

    result = attest(make_home(passphrase_env), key)

    def render(out: Console) -> None:
        echo(f"layers attested: {len(result.layers_attested)}; names signed: {len(result.names_signed)}; "
             f"licences signed: {len(result.licences_signed)}")
        for reason in result.refused:
            warn(f"not attested: {reason}")
        for reason in result.skipped_keys:
            warn(f"key skipped: {reason}")
        if result.not_local:
            warn(f"{result.not_local} work(s) are owned by keys not in this home: their owners must attest them")

    return Outcome(result.to_dict(), render, ExitCode.OK if not result.refused else ExitCode.REGISTRY_TAMPERED)
