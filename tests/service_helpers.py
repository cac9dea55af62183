"""A real ``artforge serve`` for the service tests (the ``server`` fixture in conftest.py), and uploads."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

GUARD = 300.0  # seconds: only against a hang (a busy machine must not fail these)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_server(home_dir: Path) -> Iterator[str]:
    """``artforge serve`` on a free port over ``home_dir`` (and this environment's registry); yields its base URL."""
    port = _free_port()
    env = {**os.environ, "ARTFORGE_HOME": str(home_dir)}
    process = subprocess.Popen([sys.executable, "-m", "artforge", "serve", "--port", str(port), "--max-upload-mb", "2"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + GUARD
    while True:
        try:
            if httpx.get(base + "/health", timeout=GUARD).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not start: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=GUARD)


def jpeg_bytes(path: Path, crop: int = 0) -> bytes:
    """The image at ``path`` as a JPEG (quality 85), ``crop`` pixels off each side."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    buffer = io.BytesIO()
    image.crop((crop, crop, w - crop, h - crop)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
