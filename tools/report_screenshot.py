"""Make docs/images/dispute-report.jpg: a real dispute report page, rendered by headless chromium.

A throwaway home registers a photograph from scikit-image with a watermark and Content Credentials, a cropped
JPEG of the marked copy is verified with ``--report``, and the top of the page is captured (Playwright driving
Debian's chromium, as tests/test_dispute_page.py does).

    .venv/bin/python tools/report_screenshot.py [--out docs/images/dispute-report.jpg]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from skimage import data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/dispute-report.jpg"))
    args = parser.parse_args()
    chromium = os.environ.get("ARTFORGE_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "ARTFORGE_HOME": str(folder / "home")}

        def artforge(*words: object) -> None:
            subprocess.run([sys.executable, "-m", "artforge", *map(str, words)], env=env, check=True,
                           stdout=subprocess.DEVNULL)

        Image.fromarray(data.chelsea()).save(folder / "chelsea.png")
        artforge("init", "--no-encrypt")
        artforge("register", folder / "chelsea.png", "-l", "CC-BY-NC-4.0", "--title", "Chelsea the cat",
                 "--watermark", "--out", folder / "marked")
        marked = Image.open(folder / "marked" / "chelsea.png")
        marked.crop((30, 20, 420, 290)).save(folder / "upload.jpg", quality=80)
        subprocess.run([sys.executable, "-m", "artforge", "verify", folder / "upload.jpg", "--report",
                        folder / "report.html"], env=env, stdout=subprocess.DEVNULL)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 1500})
            page.goto((folder / "report.html").as_uri())
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), type="jpeg", quality=80)
            browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
