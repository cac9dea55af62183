"""artforge serve: a real uvicorn server in its own process, spoken to over HTTP with httpx."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from cli_helpers import run_json
from PIL import Image
from service_helpers import GUARD
from service_helpers import jpeg_bytes as _jpeg

from artforge.errors import ExitCode
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.verify_bundle import verify_bundle

pytestmark = pytest.mark.slow


def test_verify_over_http_answers_as_the_cli_does(home: Home, art, server: str, tmp_path: Path) -> None:
    works = register_images(home, [art(1), art(2)], licence_id="CC-BY-4.0")
    upload = tmp_path / "upload.jpg"
    upload.write_bytes(_jpeg(art(2), crop=12))
    answer = httpx.post(server + "/verify", content=upload.read_bytes(), timeout=GUARD)
    assert answer.status_code == 200
    served = answer.json()
    code, cli = run_json("verify", upload)
    assert served["exit_code"] == code == 0 and served["data"]["verdict"] == cli["data"]["verdict"] == "modified-copy"
    assert served["data"]["match"]["work_id"] == cli["data"]["match"]["work_id"] == works[1].work_id
    assert served["data"]["work"] == cli["data"]["work"]

    # A work registered while the server runs is found at the next request (the index is kept in step).
    (new,) = register_images(home, [art(3)], licence_id="CC0-1.0")
    answer = httpx.post(server + "/verify", content=_jpeg(art(3), crop=8), timeout=GUARD).json()
    assert answer["data"]["match"]["work_id"] == new.work_id


def test_bad_uploads_get_a_4xx_with_the_cli_reason_and_the_worker_lives(home: Home, art, server: str) -> None:
    register_images(home, [art(4)], licence_id="CC0-1.0")
    bomb = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(bomb, "PNG")  # 900 megapixels, a few kB on the wire
    cases = {b"not an image at all": (400, "not an image"), b"": (400, "empty body"),
             bomb.getvalue(): (400, "decompression bomb"), b"\x89PNG\r\n\x1a\n" + b"\0" * 64: (400, "upload")}
    for body, (status, reason) in cases.items():
        answer = httpx.post(server + "/verify", content=body, timeout=GUARD)
        assert answer.status_code == status, answer.text
        (error,) = answer.json()["errors"]
        assert reason in error["message"] and "\n" not in error["message"]
    oversize = httpx.post(server + "/verify", content=b"\xff\xd8\xff" + b"\0" * 2_200_000, timeout=GUARD)
    assert oversize.status_code == 413 and oversize.json()["exit_code"] == ExitCode.BAD_INPUT
    healthy = httpx.post(server + "/verify", content=_jpeg(art(4)), timeout=GUARD)
    assert healthy.status_code == 200 and healthy.json()["data"]["verdict"] == "modified-copy"


def test_works_bundles_checkpoints_proofs_and_the_openapi_description(home: Home, art, server: str) -> None:
    (work,) = register_images(home, [art(5)], licence_id="CC-BY-NC-4.0")
    shown = httpx.get(f"{server}/works/{work.work_id[:10]}", timeout=GUARD).json()
    assert shown["data"]["work"]["id"] == work.work_id and shown["data"]["status"] == "valid"
    missing = httpx.get(f"{server}/works/{'f' * 12}", timeout=GUARD)
    assert missing.status_code == 404 and missing.json()["errors"][0]["type"] == "NotFound"
    bundle = httpx.get(f"{server}/works/{work.work_id}/bundle", timeout=GUARD).json()["data"]
    checked = verify_bundle(bundle)  # raises when anything fails; the bundle checks offline like an exported one
    assert checked and all(line.startswith("OK") for line in checked)
    checkpoint = httpx.get(server + "/log/checkpoint", timeout=GUARD).json()["data"]
    assert checkpoint["size"] >= 1 and checkpoint["note"].startswith("artforge.local/log/")
    proof = httpx.get(f"{server}/log/proof/{work.work_id}", timeout=GUARD).json()["data"]
    assert proof["record_id"] == work.work_id and proof["tree_size"] == checkpoint["size"]
    paths = httpx.get(server + "/openapi.json", timeout=GUARD).json()["paths"]
    assert {"/verify", "/works/{work}", "/works/{work}/bundle", "/log/checkpoint", "/log/proof/{record}"} <= set(paths)
