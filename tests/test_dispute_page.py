"""verify --report: the HTML dispute report, loaded in a real headless browser (Debian's chromium via Playwright)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from cli_helpers import run
from PIL import Image

from artforge.errors import ExitCode
from artforge.usecases.home import Home
from artforge.usecases.register import register_images

CHROMIUM = os.environ.get("ARTFORGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="no chromium: 'make test' installs Debian's (as root)")


def _open(page_path: Path, screenshot: Path | None = None) -> dict:
    """Load the page in headless chromium; what it asked for, what failed, what it logged, and its text."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            seen: dict = {"requests": [], "failed": [], "errors": []}
            page.on("request", lambda request: seen["requests"].append(request.url))
            page.on("requestfailed", lambda request: seen["failed"].append(request.url))
            page.on("console", lambda message: seen["errors"].append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: seen["errors"].append(str(error)))
            page.goto(page_path.as_uri(), wait_until="load")
            seen["text"] = page.inner_text("body")
            seen["verdict"] = page.inner_text("#verdict")
            seen["owner"] = page.inner_text("#owner") if page.locator("#owner").count() else None
            seen["scripts"] = page.locator("script").count()
            seen["broken_images"] = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length")
            seen["images"] = page.locator("img").count()
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
            return seen
        finally:
            browser.close()


@needs_browser
@pytest.mark.slow
def test_the_report_page_loads_in_a_browser_with_everything_inline(home: Home, art, tmp_path: Path) -> None:
    source = art(11, size=(360, 300))
    code = run("register", source, "-l", "CC-BY-NC-4.0", "--title", "Harbour at dusk", "--watermark",
               "--out", tmp_path / "marked", "--c2pa-out", tmp_path / "cred").exit_code
    assert code == 0
    marked = Image.open(tmp_path / "marked" / source.name)
    marked.crop((20, 15, 340, 285)).save(tmp_path / "upload.jpg", quality=85)
    page_path = tmp_path / "report.html"
    result = run("verify", tmp_path / "upload.jpg", "--report", page_path)
    assert result.exit_code == 0, result.stderr
    seen = _open(page_path, tmp_path / "report.png")
    assert seen["requests"] == [page_path.as_uri()] and seen["failed"] == [] and seen["errors"] == []
    assert seen["images"] == 3 and seen["broken_images"] == 0
    assert "modified-copy" in seen["verdict"] and "Harbour at dusk" in seen["verdict"]
    assert seen["owner"].startswith("default")
    text = seen["text"]
    assert "May it be used commercially?\tno" in text and "May it be used to train AI?" in text
    assert "the matched work's own mark" in text and "inclusion proof verifies" in text
    assert "python -m artforge.verify_bundle" in text
    assert (tmp_path / "report.png").stat().st_size > 10_000

    # The credentialed copy: its Content Credentials appear on the page, trusted by this home.
    page_path = tmp_path / "cred.html"
    assert run("verify", tmp_path / "cred" / source.name, "--report", page_path).exit_code == 0
    assert "trusted (signed by a certificate of this home's CA)" in _open(page_path)["text"]


@needs_browser
@pytest.mark.slow
def test_text_from_the_registry_is_shown_never_run(home: Home, art, tmp_path: Path) -> None:
    title = '<script>alert("x")</script><img src="https://example.org/t.png">'
    (work,) = register_images(home, [art(12)], licence_id="CC0-1.0", title=title)
    page_path = tmp_path / "report.html"
    assert run("verify", art(12), "--report", page_path).exit_code == 0
    seen = _open(page_path)
    assert seen["scripts"] == 0 and seen["requests"] == [page_path.as_uri()] and seen["errors"] == []
    assert title in seen["verdict"]

    unrelated = tmp_path / "unrelated.png"
    Image.open(art(13)).save(unrelated)
    page_path = tmp_path / "none.html"
    assert run("verify", unrelated, "--report", page_path).exit_code == ExitCode.NO_MATCH
    seen = _open(page_path)
    assert "No registered work matches this image." in seen["verdict"] and seen["owner"] is None


def test_a_report_page_is_for_one_image(home: Home, art, tmp_path: Path) -> None:
    register_images(home, [art(14)], licence_id="CC0-1.0")
    result = run("verify", art(14), art(15), "--report", tmp_path / "r.html")
    assert result.exit_code == ExitCode.USAGE and "one image at a time" in result.stderr
    assert not (tmp_path / "r.html").exists()
    result = run("verify", art(14), "--report", tmp_path / "missing" / "dir" / "r.html")
    assert result.exit_code == 0 and (tmp_path / "missing" / "dir" / "r.html").exists()
