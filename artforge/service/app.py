"""``artforge serve``: the use cases over HTTP (FastAPI on uvicorn), answering with the CLI's JSON envelopes.

* ``POST /verify``: the image's bytes as the request body (``curl --data-binary @upload.jpg``); the dispute
  report, the same as ``artforge verify --json``'s data;
* ``GET /works/{work}``, ``GET /works/{work}/bundle``: a work's signed facts, and its evidence bundle;
* ``GET /log/checkpoint``, ``GET /log/proof/{record}``: the newest signed checkpoint, an inclusion proof;
* ``POST /register``: the image's bytes as the body, ``X-License`` (and ``X-Title``) headers; registered and
  signed by the key the caller's token acts for, which the service's home must hold;
* ``GET /health``; the OpenAPI description at ``/openapi.json`` (no interactive page: it would load scripts
  from the network).

Callers authenticate with ``Authorization: Bearer TOKEN`` (``artforge token create``); on a registry with
roles every route but ``/health`` needs a token whose key's role allows it, and ``POST /register`` always
does (:mod:`artforge.usecases.service_access`).  Refusals are 401 or 403 with one line, and kept.

Workers are stateless over the shared registry: each holds its own index, kept in step with the registry
(:class:`artforge.usecases.verify_service.VerifyService`).  Errors become the CLI's one-line messages in the
envelope, with an HTTP status chosen in one place (:data:`HTTP_STATUS`); a bad upload never takes a worker
down.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from artforge.config import Settings
from artforge.envelope import envelope
from artforge.errors import ArtforgeError, BadInput, ExitCode
from artforge.usecases.home import Home

HTTP_STATUS = {  # the exit code of an error -> the HTTP status it answers with
    ExitCode.USAGE: 400, ExitCode.BAD_INPUT: 400, ExitCode.NOT_FOUND: 404, ExitCode.KEY_ERROR: 503,
    ExitCode.REGISTRY_ERROR: 503, ExitCode.PERMISSION_DENIED: 403, ExitCode.CONFLICT: 409,
}
PASSPHRASE_ENV = "ARTFORGE_PASSPHRASE"
REFUSALS = logging.getLogger("artforge.service.refusals")
UPLOAD_LIMIT_ENV = "ARTFORGE_MAX_UPLOAD_BYTES"  # set by serve() for its worker processes
DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024


class UploadTooLarge(BadInput):
    """An upload over the home's file size limit (HTTP 413)."""


def _answer(command: str, data: object, code: ExitCode = ExitCode.OK, status: int = 200,
            errors: list[dict] | None = None) -> JSONResponse:
    return JSONResponse(envelope(command, data, code, errors or []), status_code=status)


def create_app(home: Home, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> FastAPI:
    """The service for one home (its registry may be shared with other workers and machines); uploads over
    ``max_upload_bytes`` (or the home's file limit, if lower) are refused with 413 before they are read whole."""
    from starlette.concurrency import run_in_threadpool

    from artforge.usecases.service_access import NotAuthenticated, authorize, register_upload
    from artforge.usecases.verify_service import VerifyService

    app = FastAPI(title="artforge", description="Verify disputed images; read signed works, bundles and the log.",
                  docs_url=None, redoc_url=None)
    verifier = VerifyService(home)
    limit = min(max_upload_bytes, home.settings.max_file_bytes)

    @app.exception_handler(ArtforgeError)
    async def artforge_error(request: Request, error: ArtforgeError) -> JSONResponse:
        status = 413 if isinstance(error, UploadTooLarge) else 401 if isinstance(error, NotAuthenticated) \
            else HTTP_STATUS.get(error.exit_code, 500)
        if status in (401, 403):  # every refusal reaches the operator's log (the registry keeps them too)
            REFUSALS.warning("refused %s %s: %s", request.method, request.url.path, error)
        first = request.url.path.strip("/").split("/")[0]
        command = {"works": "export" if request.url.path.endswith("/bundle") else "show"}.get(first, first or "service")
        return _answer(command, None, error.exit_code, status, [{"type": type(error).__name__, "message": str(error)}])

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    async def read_upload(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise UploadTooLarge(f"upload: {int(declared)} bytes, over the limit of {limit}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise UploadTooLarge(f"upload: over the limit of {limit} bytes")
        if not body:
            raise BadInput("upload: empty body (send the image's bytes as the request body)")
        return bytes(body)

    def caller(request: Request, action: str, target: str = "") -> str | None:
        return authorize(home, request.headers.get("authorization"), action, target)

    @app.post("/verify", summary="Verify an image (its bytes are the request body)")
    async def verify(request: Request) -> JSONResponse:
        await run_in_threadpool(caller, request, "verify")
        body = await read_upload(request)
        report = await run_in_threadpool(verifier.verify, body, request.headers.get("x-file-name", "upload"))
        return _answer("verify", report.to_dict(), report.exit_code)

    @app.post("/register", summary="Register an image (its bytes are the body; X-License, X-Title headers)")
    async def register(request: Request) -> JSONResponse:
        licence = request.headers.get("x-license")
        key_id = await run_in_threadpool(caller, request, "register")
        if not licence:
            raise BadInput("register: no X-License header (an SPDX id such as CC-BY-4.0)")
        body = await read_upload(request)
        work = await run_in_threadpool(lambda: register_upload(
            home, body, key_id or "", licence_id=licence, title=request.headers.get("x-title"),
            name=request.headers.get("x-file-name", "upload")))
        return _answer("register", [work.to_dict()])

    @app.get("/works/{work}", summary="A work's signed facts (as 'artforge show')")
    def work(work: str, request: Request) -> JSONResponse:
        from artforge.usecases.show import show_work

        caller(request, "read", work)
        details = show_work(home, work, open_private=False)  # callers are not this home's key holders
        return _answer("show", details.to_dict(), ExitCode.OK if details.status == "valid" else ExitCode.SIGNATURE_INVALID)

    @app.get("/works/{work}/bundle", summary="A work's evidence bundle (as 'artforge export --bundle')")
    def bundle(work: str, request: Request) -> JSONResponse:
        from artforge.usecases.log_proofs import build_bundle

        caller(request, "read", work)
        return _answer("export", build_bundle(home, work))

    @app.get("/log/checkpoint", summary="The newest signed checkpoint of the transparency log")
    def checkpoint(request: Request) -> JSONResponse:
        from artforge.usecases.verify_service import newest_checkpoint

        caller(request, "read")
        state = newest_checkpoint(home)
        if state is None:
            return _answer("log", None, ExitCode.NOT_FOUND, 404,
                           [{"type": "NotFound", "message": "no checkpoint yet: run 'artforge log checkpoint'"}])
        return _answer("log", state)

    @app.get("/log/proof/{record}", summary="An inclusion proof of a record (as 'artforge log prove')")
    def proof(record: str, request: Request) -> JSONResponse:
        from artforge.usecases.log_proofs import prove_record

        caller(request, "read", record)
        return _answer("log", prove_record(home, record).to_dict())

    return app


def app_from_env() -> FastAPI:
    """The app for ``$ARTFORGE_HOME`` (uvicorn's factory in each worker process); a passphrase, when the home's
    keys are encrypted and a bundle needs a new checkpoint, from ``$ARTFORGE_PASSPHRASE``."""
    secret = os.environ.get(PASSPHRASE_ENV)
    limit = int(os.environ.get(UPLOAD_LIMIT_ENV) or DEFAULT_MAX_UPLOAD_BYTES)
    return create_app(Home(settings=Settings.from_env(), passphrase=(lambda: secret.encode()) if secret else None),
                      limit)


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> None:
    """Run the service until interrupted (``workers`` processes, each with its own index)."""
    import uvicorn

    os.environ[UPLOAD_LIMIT_ENV] = str(max_upload_bytes)  # read by app_from_env in each worker

    uvicorn.run("artforge.service.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning")
