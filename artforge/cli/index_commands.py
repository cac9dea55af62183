"""``artforge index rebuild`` and ``artforge index stats``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console

from artforge.cli.options import JsonOpt, QuietOpt, make_home, read_paths
from artforge.cli.output import Outcome, command, echo, warn
from artforge.cli.progress import batch_progress

app = typer.Typer(name="index", help="The matcher's index: rebuild it, or show its size and freshness.",
                  no_args_is_help=True)


def _stats_lines(data: dict) -> None:
    for key, value in data.items():
        echo(f"{key}: {value}")


@command(app, name="rebuild")
def rebuild_command(
    images: Annotated[Optional[list[str]], typer.Option(
        "--images", help="Images of works registered before matching layers existed ('-' reads paths from "
                         "stdin); their layers are computed and stored.")] = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> Outcome:
    """Rebuild the index file from the registry (and fill in missing layers from --images)."""
    from artforge.usecases.reindex import rebuild

    paths = read_paths(images) if images else []
    with batch_progress("index", quiet or len(paths) < 2) as bar:
        result = rebuild(make_home(), paths, progress=bar.update)

    def render(out: Console) -> None:
        _stats_lines(result.stats.to_dict())
        if result.layers_added:
            warn(f"layers computed for {result.layers_added} work(s)")
        if result.tiles_added:
            warn(f"tone tiles computed for {result.tiles_added} work(s) from their thumbnails")
        for path in result.images_unmatched:
            warn(f"{path}: matches no registered work's pixels")
        if result.works_without_layers:
            warn(f"{result.works_without_layers} work(s) have no layers yet and are matched by their global "
                 "hash only: run 'artforge index rebuild --images' with their image files")
        warn(f"index rebuilt in {result.seconds:.2f} s")

    return Outcome(result.to_dict(), render)


@command(app, name="stats")
def stats_command(json_output: JsonOpt = False) -> Outcome:
    """Works, hashes and descriptors indexed; file size; rows registered since the file was written."""
    from artforge.usecases.reindex import stats

    result = stats(make_home())
    return Outcome(result.to_dict(), lambda out: _stats_lines(result.to_dict()))
