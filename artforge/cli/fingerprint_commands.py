"""``artforge fingerprint``: exact and perceptual hashes of images."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from artforge.cli.options import ImagesOrBytesArg, JsonOpt, QuietOpt, make_home, read_images
from artforge.cli.output import Outcome, command, echo
from artforge.cli.progress import batch_progress

app = typer.Typer()

FIELDS = ("file_sha256", "pixel_sha256", "phash64", "phash256", "dhash", "pdq", "pdq_quality", "colorhash")


@command(app)
def fingerprint(images: ImagesOrBytesArg, quiet: QuietOpt = False, json_output: JsonOpt = False) -> Outcome:
    """Print SHA-256 (file and pixels) and perceptual hashes (pHash, dHash, PDQ, colour hash) of images."""
    sources = read_images(images)
    from artforge.usecases.fingerprint_images import fingerprint_images

    with batch_progress("fingerprint", quiet or len(sources) < 2) as bar:
        prints = fingerprint_images(make_home(), sources, progress=bar.update)
    data = [{"path": getattr(s, "name", s), **fp.to_dict()} for s, fp in zip(sources, prints)]

    def render(out: Console) -> None:
        if out.is_terminal:
            for row in data:
                table = Table(title=row["path"], show_header=False)
                for name in (*FIELDS, "width", "height", "mode"):
                    table.add_row(name, str(row[name]))
                out.print(table)
        else:
            echo("\t".join(("path", *FIELDS, "width", "height")))
            for row in data:
                echo("\t".join(str(row[name]) for name in ("path", *FIELDS, "width", "height")))

    return Outcome(data, render)
