"""``artforge log checkpoint|prove|consistency`` and ``artforge export --bundle|--c2pa``: a work's evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, KeyOpt, PassphraseEnvOpt, make_home
from artforge.cli.output import Outcome, command, echo, warn
from artforge.errors import UsageError

app = typer.Typer()  # `export`, joined at the top level
log_app = typer.Typer(name="log", no_args_is_help=True,
                      help="The registry's tamper-evident log (RFC 9162 Merkle tree, signed checkpoints).")


@command(log_app)
def checkpoint(
    out: Annotated[Optional[Path], typer.Option(
        "--out", metavar="FILE", help="Also save the signed note to FILE: keep it outside the home, and later "
                                      "'artforge audit --against FILE' proves the log still extends it.")] = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Print the newest signed checkpoint (C2SP signed note), signing one if the log has grown past it."""
    from artforge.usecases.log_proofs import log_checkpoint

    state = log_checkpoint(make_home(passphrase_env), out)
    if not json_output:
        warn(f"log {state.origin}: {state.log_size} records; verifier key {state.to_dict()['verifier_key']}")

    def render(out: Console) -> None:
        out.file.write(state.checkpoint.note)

    return Outcome(state.to_dict(), render)


@command(log_app)
def prove(
    record: Annotated[str, typer.Argument(help="Record id (or a work id: its registration), 6+ hex characters.")],
    json_output: JsonOpt = False,
) -> Outcome:
    """Inclusion proof of a record in the log, against the newest checkpoint (verified before printing)."""
    from artforge.usecases.log_proofs import prove_record

    proof = prove_record(make_home(), record)

    def render(out: Console) -> None:
        echo(f"record      {proof.record_id}")
        echo(f"leaf        {proof.index} of {proof.tree_size}")
        echo(f"leaf hash   {proof.leaf_hash.hex()}")
        for step in proof.path:
            echo(f"path        {step.hex()}")
        out.file.write("\n" + proof.checkpoint.note)

    return Outcome(proof.to_dict(), render)


@command(log_app)
def consistency(
    old_size: Annotated[int, typer.Argument(metavar="OLD_SIZE", min=0, help="The earlier tree size.")],
    new_size: Annotated[Optional[int], typer.Argument(metavar="NEW_SIZE", min=0,
                                                      help="The later tree size (default: the newest checkpoint's).")]
    = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Consistency proof that the log at OLD_SIZE is a prefix of the log at NEW_SIZE (verified before printing)."""
    from artforge.usecases.log_proofs import prove_consistency

    proof = prove_consistency(make_home(), old_size, new_size)

    def render(out: Console) -> None:
        echo(f"old   {proof.old_size} {proof.old_root.hex()}")
        echo(f"new   {proof.new_size} {proof.new_root.hex()}")
        for step in proof.path:
            echo(f"path  {step.hex()}")

    return Outcome(proof.to_dict(), render)


@command(app)
def export(
    work: Annotated[str, typer.Argument(help="Work id, or a prefix of one (6+ hex characters).")],
    bundle: Annotated[Optional[Path], typer.Option("--bundle", help="Write the evidence bundle (JSON) here; '-' for stdout.")] = None,
    c2pa: Annotated[Optional[Path], typer.Option(
        "--c2pa", help="Write a copy of the work's image with signed Content Credentials (C2PA) here.")] = None,
    image: Annotated[Optional[Path], typer.Option("--image", help="The work's image file (for --c2pa).")] = None,
    key: KeyOpt = None,
    passphrase_env: PassphraseEnvOpt = None,
    json_output: JsonOpt = False,
) -> Outcome:
    """Write a work's evidence: a bundle (--bundle) or its image with Content Credentials (--c2pa OUT --image FILE).

    A bundle holds the signed records, public keys, inclusion proofs and the log's checkpoint; check it
    anywhere with: python -m artforge.verify_bundle BUNDLE.  Content Credentials are signed by your identity's
    certificate from this home's own CA (c2pa/ca.pem): trusted wherever that CA is a trust anchor.
    """
    if (bundle is None) == (c2pa is None):
        raise UsageError("give one of --bundle FILE or --c2pa OUT (with --image FILE)")
    if c2pa is not None:
        if image is None:
            raise UsageError("--c2pa needs --image FILE: the work's image to carry the credentials")
        from artforge.usecases.credentials import export_credentials

        written = export_credentials(make_home(passphrase_env), work, image, c2pa, key_name=key)
        warn(f"Content Credentials {written.state} here; elsewhere give readers {written.ca_certificate} as a trust anchor")
        return Outcome(written.to_dict(), lambda out: echo(written.path))
    if image is not None:
        raise UsageError("--image is only used with --c2pa")
    assert bundle is not None
    to_stdout = str(bundle) == "-"
    from artforge.usecases.log_proofs import export_bundle

    result = export_bundle(make_home(passphrase_env), work, None if to_stdout else bundle)
    if to_stdout:  # the bundle is the data; under --json it rides in the envelope
        return Outcome({**result.to_dict(), "bundle": json.loads(result.text)}, lambda out: out.file.write(result.text))
    return Outcome(result.to_dict(), lambda out: echo(result.path))
