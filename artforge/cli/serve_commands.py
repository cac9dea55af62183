"""``artforge serve``: the HTTP service."""

from __future__ import annotations

from typing import Annotated

import typer

from artforge.cli.options import JsonOpt
from artforge.cli.output import Outcome, command, warn

app = typer.Typer()


@command(app)
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=0.001, help="Refuse larger uploads (413).")] = 32.0,
    json_output: JsonOpt = False,  # usage errors as envelopes, like every command; the service answers in JSON
) -> Outcome:
    """Serve verification over HTTP: POST /verify (the image as the body), GET /works/{id}, /works/{id}/bundle,
    /log/checkpoint, /log/proof/{record}; OpenAPI at /openapi.json.  Runs until Ctrl-C.

    Each worker keeps its own index in step with the registry: run several, on several machines, over one
    shared registry.  Answers are the CLI's JSON envelopes.
    """
    from artforge.service.app import serve as run_service

    warn(f"serving the home's registry on http://{host}:{port} ({workers} worker(s)); Ctrl-C stops")
    run_service(host, port, workers, round(max_upload_mb * 1024 * 1024))
    return Outcome(silent=True)
