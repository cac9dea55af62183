"""verify on awkward inputs: tiny, blank, huge, animated, CMYK and 16-bit images.

Each is either matched correctly or answered with a clear reason; none may match an unrelated work.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images


def _register(home: Home, paths: list[Path]) -> list[str]:
    return [w.work_id for w in register_images(home, paths, licence_id="CC-BY-4.0", workers=1)]


def test_a_tiny_image_is_matched_exactly_only(home: Home, art, tmp_path: Path) -> None:
    [work_id] = _register(home, [art(1)])
    tiny = tmp_path / "tiny.png"
    Image.open(art(1)).resize((16, 12)).save(tiny)
    [report] = verify_images(home, [tiny], workers=1)
    assert report.verdict == "no-match" and any("under 24 px" in note for note in report.notes)
    _register(home, [tiny])  # registered tiny images are still found as exact copies
    [again] = verify_images(home, [tiny], workers=1)
    assert again.verdict == "exact-copy"


def test_blank_images_match_nothing_but_their_exact_copy(home: Home, art, tmp_path: Path) -> None:
    white, black = tmp_path / "white.png", tmp_path / "black.png"
    Image.new("RGB", (300, 200), "white").save(white)
    Image.new("RGB", (300, 200), "black").save(black)
    _register(home, [white, art(2), art(3)])
    reports = verify_images(home, [black, white], workers=1)
    assert reports[0].verdict == "no-match" and "too little structure" in reports[0].notes[0]
    assert reports[1].verdict == "exact-copy"


def test_a_huge_upscaled_copy_is_found(home: Home, art, tmp_path: Path) -> None:
    [work_id] = _register(home, [art(4)])
    huge = tmp_path / "huge.png"
    Image.open(art(4)).resize((6400, 4800), Image.Resampling.BILINEAR).save(huge, compress_level=1)
    [report] = verify_images(home, [huge], workers=1)
    assert report.verdict == "modified-copy" and report.match.work_id == work_id


def test_an_animated_file_is_matched_by_its_first_frame(home: Home, art, tmp_path: Path) -> None:
    [work_id] = _register(home, [art(5)])
    frames = [Image.open(art(5)).convert("RGB"), Image.open(art(6)).convert("RGB")]
    animated = tmp_path / "animated.gif"
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100, loop=0)
    [report] = verify_images(home, [animated], workers=1)
    assert report.verdict == "modified-copy" and report.match.work_id == work_id  # GIF's 256 colours
    assert any("first of 2 frames" in note for note in report.notes)


def test_cmyk_and_16_bit_copies_are_found(home: Home, art, tmp_path: Path) -> None:
    grey_original = tmp_path / "grey.png"
    Image.open(art(8)).convert("L").save(grey_original)
    colour_id, grey_id = _register(home, [art(7), grey_original])
    cmyk = tmp_path / "cmyk.jpg"
    Image.open(art(7)).convert("CMYK").save(cmyk, quality=90)
    deep = tmp_path / "deep.png"
    pixels = np.asarray(Image.open(grey_original)).astype(np.uint16) * 257
    Image.fromarray(pixels).save(deep)  # mode I;16
    assert Image.open(deep).mode.startswith("I;16")
    by_path = {r.path: r for r in verify_images(home, [cmyk, deep], workers=1)}
    assert by_path[str(cmyk)].match.work_id == colour_id
    assert by_path[str(deep)].verdict == "exact-copy" and by_path[str(deep)].match.work_id == grey_id
