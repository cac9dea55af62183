"""``artforge register``, ``list``, ``show``, ``history``, ``transfer``, ``share``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from artforge.cli.options import (
    ImagesArg,
    JsonOpt,
    KeyOpt,
    PassphraseEnvOpt,
    QuietOpt,
    RpcReadOpt,
    make_home,
    read_paths,
)
from artforge.cli.output import Outcome, command, echo, warn
from artforge.cli.progress import batch_progress
from artforge.cli.views import render_work
from artforge.errors import ExitCode, UsageError

if TYPE_CHECKING:  # the use cases load inside each command: `--help` and tab completion stay fast
    from artforge.usecases.show import WorkDetails

app = typer.Typer()

WorkArg = Annotated[str, typer.Argument(help="Work id, record id, or a prefix of one (6+ hex characters).")]


@command(app)
def register(
    images: ImagesArg,
    license_id: Annotated[str, typer.Option("--license", "-l", help="SPDX licence id, e.g. CC-BY-NC-4.0.")],
    title: Annotated[Optional[str], typer.Option("--title", "-t", help="Title (one image only; default: file name).")] = None,
    key: KeyOpt = None,
    parent: Annotated[
        Optional[list[str]], typer.Option("--parent", help="Record id this work derives from (repeatable).")
    ] = None,
    watermark: Annotated[bool, typer.Option(
        "--watermark", help="Write a copy with an invisible mark of its record into --out, and register that copy.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for the marked copies (--watermark).")] = None,
    c2pa_out: Annotated[Optional[Path], typer.Option(
        "--c2pa-out", help="Also write a copy of each registered file with its signed Content Credentials here.")] = None,
    private: Annotated[bool, typer.Option(
        "--private", help="Seal the title, licence and thumbnail: only the owner, admins and --reader keys open them.")] = False,
    reader: Annotated[Optional[list[str]], typer.Option(
        "--reader", help="With --private: a key (name, key id or public key) that may also open it (repeatable).")] = None,
    passphrase_env: PassphraseEnvOpt = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Outcome:
    """Register images under a licence with a signed provenance record; prints one work id per image.

    Idempotent: the same pixels registered again by the same key return the existing work.
    All images are registered or, on any error, none.  With --watermark --out DIR, a PNG copy of each image
    carrying an invisible mark id is written to DIR and registered instead (the record signs the mark);
    'verify' reads the mark back as one more piece of evidence.  With --c2pa-out DIR, a copy of each
    registered file carrying its signed Content Credentials (C2PA) is written to DIR.  With --private, the
    record shows neither title nor licence (LicenseRef-Private), yet uploads that match are still found.
    """
    paths = read_paths(images)
    if private and (watermark or c2pa_out is not None):
        raise UsageError("--private goes without --watermark and --c2pa-out (a copy carrying the work's record is public)")
    if watermark != (out is not None):
        raise UsageError("--watermark and --out go together: --watermark --out DIR writes the marked copies to DIR")
    from artforge.usecases.credentials import register_with_credentials
    from artforge.usecases.register import register_images
    from artforge.usecases.watermarking import register_watermarked

    with batch_progress("register", quiet or len(paths) < 2) as bar:
        if c2pa_out is not None:
            results = register_with_credentials(make_home(passphrase_env), paths, c2pa_out, watermark_dir=out,
                                                licence_id=license_id, title=title, key_name=key,
                                                parents=parent or (), progress=bar.update)
        elif out is not None:
            results = register_watermarked(make_home(passphrase_env), paths, out, licence_id=license_id, title=title,
                                           key_name=key, parents=parent or (), progress=bar.update)
        else:
            results = register_images(make_home(passphrase_env), paths, licence_id=license_id, title=title,
                                      key_name=key, parents=parent or (), progress=bar.update, private=private,
                                      readers=reader or ())
    for r in results:
        if not r.created and r.licence_id != license_id and not r.private:
            warn(f"{r.path}: already registered as {r.work_id[:12]} under {r.licence_id}; licence unchanged")
    if not quiet and not json_output:
        new = sum(r.created for r in results)
        warn(f"registered {new} new work(s), {len(results) - new} already registered")

    def render(out: Console) -> None:
        for r in results:
            echo(f"{r.work_id}\t{r.path}" if len(results) > 1 else r.work_id)

    return Outcome([r.to_dict() for r in results], render)


@command(app, "list")
def list_command(
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most this many works.")] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many works.")] = 0,
    json_output: JsonOpt = False,
) -> Outcome:
    """List registered works, oldest first (from the registry's index: 'show' presents a work as its signed
    records state it, and 'audit' checks the index against them)."""
    from artforge.usecases.show import list_works

    works = list_works(make_home(), limit=limit, offset=offset)

    def render(out: Console) -> None:
        if out.is_terminal:
            table = Table("work", "title", "licence", "owner", "registered")
            for w in works:
                table.add_row(w.id[:16], w.title, w.licence_id, w.owner_key_id[:12], w.created_at)
            out.print(table)
        else:
            for w in works:
                echo(f"{w.id}\t{w.licence_id}\t{w.owner_key_id}\t{w.title}")

    return Outcome([w.to_dict() for w in works], render)


@command(app)
def show(work: WorkArg, rpc: RpcReadOpt = None, json_output: JsonOpt = False) -> Outcome:
    """Show a work: owner, licence and its terms, active grants, signature status, tokens.

    A token's current owner and royalty are read from its chain when it answers (the local node if it
    runs; an RPC chain with --rpc).
    """
    from artforge.usecases.show import show_work

    details = show_work(make_home(), work, rpc_url=rpc)
    return Outcome(details.to_dict(), lambda out: render_work(out, details), exit_code=_status_exit(details))


@command(app)
def history(work: WorkArg, json_output: JsonOpt = False) -> Outcome:
    """Show a work's signed record chain: registration, grants, transfers.

    With --json, data.records holds each signed record ({record_id, payload, signature}) for offline checks.
    """
    from artforge.usecases.show import show_work

    details = show_work(make_home(), work)

    def render(out: Console) -> None:
        if out.is_terminal:
            table = Table("#", "record", "type", "when", "signed by", "what")
            for h in details.history:
                table.add_row(str(h.seq), h.record_id[:16], h.type, h.created_at,
                              h.signer.name or h.signer.key_id[:12], h.summary)
            out.print(table)
        else:
            for h in details.history:
                echo(f"{h.seq}\t{h.record_id}\t{h.type}\t{h.created_at}\t{h.signer.key_id}\t{h.summary}")
        if not details.chain_valid:
            warn("chain does not verify: " + "; ".join(details.chain_problems))
        if details.registry_problems:
            warn("the registry's rows disagree with these records: " + "; ".join(details.registry_problems))

    data = {"work_id": details.work.id, "history": [h.to_dict() for h in details.history],
            "records": [r.to_dict() for r in details.records], "status": details.status,
            "signature_valid": details.chain_valid, "chain_problems": details.chain_problems,
            "registry_problems": details.registry_problems}
    return Outcome(data, render, exit_code=_status_exit(details))


@command(app)
def transfer(
    work: WorkArg,
    to: Annotated[str, typer.Option("--to", help="New owner: a key name in this home or a 64-hex public key.")],
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Transfer copyright of a work to another key; signed by the current owner."""
    from artforge.usecases.licensing import transfer_work

    result = transfer_work(make_home(passphrase_env), work, to, key_name=key)
    return Outcome(result.to_dict(), lambda out: echo(result.record_id))


@command(app)
def share(
    work: WorkArg,
    to: Annotated[str, typer.Option("--to", help="The reader: a key name in this home, a key id or a 64-hex public key.")],
    thumbnail_only: Annotated[bool, typer.Option(
        "--thumbnail-only", help="Only the thumbnail (enough to verify copies), not the title and licence.")] = False,
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Let another key open a private work's sealed parts (by its owner or an admin, with a key that opens them)."""
    from artforge.usecases.private_works import share_private_work

    result = share_private_work(make_home(passphrase_env), work, to, details=not thumbnail_only, key_name=key)
    return Outcome(result.to_dict(), lambda out: echo(f"{result.reader_key_id}\t{','.join(result.parts)}"))


def _status_exit(details: WorkDetails) -> ExitCode:
    return {"valid": ExitCode.OK, "signature-invalid": ExitCode.SIGNATURE_INVALID,
            "registry-tampered": ExitCode.REGISTRY_TAMPERED}[details.status]
