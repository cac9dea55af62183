"""Verification: exact and modified copies, no match, ambiguity, blank images, broken signatures."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageEnhance

from artforge.errors import ExitCode
from artforge.matching import calibration
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images


def _register(home: Home, art, seeds) -> dict[int, str]:
    works = register_images(home, [art(s) for s in seeds], licence_id="CC-BY-NC-4.0")
    return {s: w.work_id for s, w in zip(seeds, works)}


def test_exact_and_reencoded_copies(home: Home, art, tmp_path: Path) -> None:
    ids = _register(home, art, range(3))
    same_file = art(1)
    reencoded = tmp_path / "re.png"
    Image.open(same_file).save(reencoded, compress_level=0)
    file_report, pixel_report = verify_images(home, [same_file, reencoded], workers=1)
    assert file_report.verdict == "exact-copy" and file_report.match.method == "file-sha256"
    assert pixel_report.match.method == "pixel-sha256" and pixel_report.match.work_id == ids[1]
    assert pixel_report.exit_code == ExitCode.OK and pixel_report.signature_valid


def test_modified_copies_are_found(home: Home, art, tmp_path: Path) -> None:
    ids = _register(home, art, range(6))
    source = Image.open(art(4))
    w, h = source.size
    variants = {
        "jpeg.jpg": (source, {"quality": 60}),
        "small.png": (source.resize((w // 2, h // 2)), {}),
        "bright.png": (ImageEnhance.Brightness(source).enhance(1.15), {}),
        "crop.jpg": (source.crop((4, 3, w - 4, h - 3)).resize((w * 3 // 4, h * 3 // 4)), {"quality": 80}),
    }
    paths = []
    for name, (image, options) in variants.items():
        paths.append(tmp_path / name)
        image.save(paths[-1], **options)
    for report in verify_images(home, paths, workers=1):
        assert report.verdict == "modified-copy", report.path
        assert report.match.work_id == ids[4]
        evidence = report.match.evidence
        assert report.match.method == "layered" and report.match.score >= calibration.MIN_SCORE
        assert evidence.correlation >= calibration.MIN_CORRELATION and evidence.false_match_probability < 1e-2


def test_unrelated_images_do_not_match(home: Home, art) -> None:
    _register(home, art, range(8))
    reports = verify_images(home, [art(seed) for seed in range(100, 110)], workers=1)
    assert [r.verdict for r in reports] == ["no-match"] * 10
    assert all(r.exit_code == ExitCode.NO_MATCH for r in reports)


def test_blank_images_never_match_perceptually(home: Home, tmp_path: Path) -> None:
    white, grey = tmp_path / "white.png", tmp_path / "grey.png"
    Image.new("RGB", (200, 200), "white").save(white)
    Image.new("RGB", (210, 190), (128, 128, 128)).save(grey)
    register_images(home, [white], licence_id="CC0-1.0")
    [report] = verify_images(home, [grey], workers=1)
    assert report.verdict == "no-match"
    assert any("too little structure" in note for note in report.notes)


def test_two_claims_on_the_same_pixels_are_ambiguous(home: Home, art) -> None:
    home.keystore.create("rival")
    path = art(20)
    register_images(home, [path], licence_id="CC0-1.0")
    register_images(home, [path], licence_id="CC0-1.0", key_name="rival")
    [report] = verify_images(home, [path], workers=1)
    assert report.verdict == "ambiguous" and report.exit_code == ExitCode.AMBIGUOUS
    assert report.match is None and len(report.candidates) == 2


def test_tampered_record_is_reported(home: Home, art) -> None:
    ids = _register(home, art, [30])
    with home.registry() as registry, registry.transaction():
        row = registry.db["records"].get(ids[30])
        payload = json.loads(row["payload"])
        payload["licence"]["id"] = "CC0-1.0"  # someone edits the licence in the database
        registry.db.execute("UPDATE records SET payload = ? WHERE id = ?",
                            [json.dumps(payload, separators=(",", ":"), sort_keys=True), ids[30]])
    [report] = verify_images(home, [art(30)], workers=1)
    assert report.verdict == "exact-copy"
    assert report.signature_valid is False and report.exit_code == ExitCode.SIGNATURE_INVALID


def test_a_batch_on_worker_processes_reports_what_one_by_one_does(home: Home, art, tmp_path: Path) -> None:
    """Each worker process verifies whole images over the index its parent loaded (shared by fork)."""
    ids = _register(home, art, range(4))
    paths = []
    for seed in range(4):
        source = Image.open(art(seed))
        paths.append(tmp_path / f"copy{seed}.jpg")
        source.resize((source.width * 3 // 4, source.height * 3 // 4)).save(paths[-1], quality=70)
    paths += [art(seed) for seed in range(200, 204)]  # unrelated
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    paths.append(broken)
    alone = [verify_images(home, [path], workers=1)[0] for path in paths[:-1]]
    from artforge.usecases.verify import VerifyFailure, iter_verify

    batch = list(iter_verify(home, paths, workers=2))
    assert isinstance(batch[-1], VerifyFailure) and batch[-1].path == str(broken)
    assert [r.path for r in batch[:-1]] == [str(p) for p in paths[:-1]]
    assert [(r.verdict, r.match and r.match.work_id) for r in batch[:-1]] == \
        [(r.verdict, r.match and r.match.work_id) for r in alone]
    assert [r.match.work_id for r in batch[:4]] == [ids[seed] for seed in range(4)]
    assert all(r.compared is None for r in batch[:-1])  # not sent back unless a diff needs them
