"""Early exit: once a work matches on rich evidence, only works proposed like a copy are still compared.

Real registrations and real pixel decisions; the comparison is against the same registry with the early
exit switched off (no evidence counts as decisive), so the tests fail if the exit changes a verdict or
never skips anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

from artforge.matching import calibration as cal
from artforge.matching import matcher
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images


def _copy(source: Path, path: Path, brightness: float = 1.0) -> Path:
    image = Image.open(source).convert("RGB")
    image = ImageEnhance.Brightness(image).enhance(brightness).resize((256, 192))
    image.save(path, quality=85)
    return path


def _matched(report) -> set[str]:
    return {c.work_id for c in report.candidates if c.kind is not None}


def _compared(report) -> set[str]:
    return {c.work_id for c in report.candidates if c.evidence is not None}


@pytest.fixture
def registry_with_a_near_duplicate(home: Home, art, tmp_path: Path) -> dict:
    originals = [art(seed) for seed in range(1, 8)]
    # A second registration of work 1, a little brighter: a near-duplicate the exit must not skip.
    twin = _copy(originals[0], tmp_path / "twin.png", brightness=1.04)
    works = register_images(home, [*originals, twin], licence_id="CC-BY-4.0", workers=1)
    return {"works": works, "originals": originals}


def _verify_both_ways(home: Home, paths: list[Path], monkeypatch) -> tuple[list, list]:
    # One compare thread: the first round is the single strongest work, so the twin is among the rest.
    monkeypatch.setattr(matcher, "default_workers", lambda: 1)
    with_exit = verify_images(home, paths, workers=1)
    monkeypatch.setattr(cal, "DECISIVE_CELLS", 65)  # more than the 64 cells: nothing is decisive
    without_exit = verify_images(home, paths, workers=1)
    return with_exit, without_exit


def test_the_early_exit_keeps_every_verdict_and_skips_unrelated_works(
        home: Home, registry_with_a_near_duplicate: dict, tmp_path: Path, monkeypatch) -> None:
    originals, works = registry_with_a_near_duplicate["originals"], registry_with_a_near_duplicate["works"]
    queries = [_copy(originals[k], tmp_path / f"copy-{k}.jpg") for k in (1, 2, 3)]
    with_exit, without_exit = _verify_both_ways(home, queries, monkeypatch)
    skipped = 0
    for k, fast, full in zip((1, 2, 3), with_exit, without_exit):
        assert fast.verdict == full.verdict == "modified-copy", (k, fast.verdict, full.verdict)
        assert fast.match.work_id == full.match.work_id == works[k].work_id
        assert fast.match.evidence.score == full.match.evidence.score
        assert _compared(fast) <= _compared(full)
        skipped += len(_compared(full) - _compared(fast))
    assert skipped > 0  # the exit did skip works that the full decision compared


def test_a_near_duplicate_is_still_compared_after_a_decisive_match(
        home: Home, registry_with_a_near_duplicate: dict, tmp_path: Path, monkeypatch) -> None:
    originals, works = registry_with_a_near_duplicate["originals"], registry_with_a_near_duplicate["works"]
    query = _copy(originals[0], tmp_path / "copy-0.jpg", brightness=1.02)
    [fast], [full] = _verify_both_ways(home, [query], monkeypatch)
    both = {works[0].work_id, works[-1].work_id}
    assert both <= _matched(full)  # the original and its twin both match...
    assert _matched(fast) == _matched(full)  # ...and the exit still compared the twin
    assert fast.verdict == full.verdict
