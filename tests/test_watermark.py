"""The invisible watermark: the scheme on real pictures, and register --watermark / verify around it."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run, run_json
from PIL import Image, ImageEnhance
from skimage import data as skdata

from artforge.errors import ExitCode
from artforge.matching import watermark
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.verify import verify_images
from artforge.verify_record import check_record

MARK = "0123456789abcdef"


def _photo(name: str, size: tuple[int, int] = (384, 288)) -> np.ndarray:
    picture = getattr(skdata, name)()
    image = Image.fromarray(picture).convert("RGB")
    return np.asarray(image.resize(size, Image.LANCZOS))


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_a_mark_survives_common_edits_of_a_photo(name: str) -> None:
    original = _photo(name)
    marked, psnr = watermark.embed(original, MARK)
    assert psnr >= watermark.MIN_PSNR_DB
    assert watermark.read_mark(original).found is False
    edits = {
        "as marked": marked,
        "jpeg 70": _jpeg(marked, 70),
        "half size": np.asarray(Image.fromarray(marked).resize((192, 144), Image.LANCZOS)),
        "darker": np.asarray(ImageEnhance.Brightness(Image.fromarray(marked)).enhance(0.8)),
        "turned": np.rot90(marked).copy(),
    }
    for edit, image in edits.items():
        reading = watermark.read_mark(image)
        assert reading.found and reading.mark_id == MARK, edit
    assert watermark.read_mark(np.rot90(marked).copy()).orientation != "identity"


def test_flat_art_is_marked_within_the_psnr_limit() -> None:
    flat = np.full((300, 400, 3), 240, np.uint8)
    flat[60:240, 80:200] = (200, 30, 40)
    flat[100:200, 250:360] = (20, 60, 180)
    marked, psnr = watermark.embed(flat, MARK)
    assert psnr >= watermark.MIN_PSNR_DB
    assert watermark.read_mark(_jpeg(marked, 90)).mark_id == MARK


def test_unmarked_pictures_carry_no_mark() -> None:
    names = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "text", "page", "horse"]
    for name in names:
        picture = getattr(skdata, name)()
        rgb = np.asarray(Image.fromarray(picture).convert("RGB"))
        assert not watermark.read_mark(rgb).found, name
    # A mark with another id is never read as this one, nor its near neighbours.
    other, _ = watermark.embed(_photo("coffee"), "fedcba9876543210")
    assert watermark.read_mark(other).mark_id == "fedcba9876543210"


def test_a_crop_needs_the_alignment_to_the_original() -> None:
    marked, _ = watermark.embed(_photo("chelsea", (400, 300)), MARK)
    cropped = _jpeg(marked[20:280, 30:370], 80)
    assert not watermark.read_mark(cropped).found  # the crop moved the mark's frame
    to_original = np.float64([[1, 0, 30], [0, 1, 20]])
    assert watermark.read_mark_aligned(cropped, to_original, (400, 300)).mark_id == MARK
    # Guided by the mark a record signs, the search still reads what is there: never the expected id instead.
    assert watermark.read_mark_aligned(cropped, to_original, (400, 300), expected=MARK).mark_id == MARK
    assert watermark.read_mark_aligned(cropped, to_original, (400, 300), expected="fedcba9876543210").mark_id in (MARK, None)
    unmarked = _jpeg(_photo("chelsea", (400, 300))[20:280, 30:370], 80)
    assert not watermark.read_mark_aligned(unmarked, to_original, (400, 300), expected=MARK).found


def test_too_small_images_are_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        watermark.embed(np.zeros((100, 300, 3), np.uint8), MARK)
    with pytest.raises(ValueError):
        watermark.codeword("abc")


def _save(rgb: np.ndarray, path: Path) -> Path:
    Image.fromarray(rgb).save(path)
    return path


def test_register_watermark_writes_signs_and_verify_reads_it(home: Home, tmp_path: Path) -> None:
    source = _save(_photo("astronaut", (360, 360)), tmp_path / "astro.png")
    other = _save(_photo("coffee"), tmp_path / "coffee.png")
    register_images(home, [other], licence_id="CC-BY-4.0")  # an unmarked work beside it
    code, envelope = run_json("register", source, "-l", "CC-BY-4.0", "--watermark", "--out", tmp_path / "marked")
    assert code == 0, envelope
    (item,) = envelope["data"]
    copy = tmp_path / "marked" / "astro.png"
    assert item["path"] == str(copy) and item["source"] == str(source) and copy.exists()
    assert item["watermark"]["scheme"] == watermark.SCHEME and item["watermark"]["psnr"] >= 40
    with home.registry() as registry:
        (record,) = registry.records(item["work_id"])
    assert record.payload["work"]["watermark"] == {"scheme": watermark.SCHEME, "id": item["watermark"]["id"]}
    assert record.payload["work"]["file_sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()  # the copy is the work
    assert check_record(0, {"record_id": record.record_id, "payload": record.payload,
                            "signature": record.signature}).problems == []

    # Registering the same image again writes the same copy and finds the same work.
    code, again = run_json("register", source, "-l", "CC-BY-4.0", "--watermark", "--out", tmp_path / "marked")
    assert code == 0 and again["data"][0]["work_id"] == item["work_id"] and not again["data"][0]["created"]

    marked = np.asarray(Image.open(copy).convert("RGB"))
    cropped = Image.fromarray(marked[30:330, 10:350])
    cropped.save(tmp_path / "crop.jpg", quality=75)
    _save(np.asarray(Image.open(source).convert("RGB")), tmp_path / "unmarked.png")
    crop_report, unmarked_report, other_report = verify_images(
        home, [tmp_path / "crop.jpg", tmp_path / "unmarked.png", other], workers=1)
    assert crop_report.match.work_id == item["work_id"]
    finding = crop_report.watermark
    assert finding.found and finding.agrees and finding.work_id == item["work_id"] and finding.read == "aligned"
    assert json.loads(json.dumps(crop_report.to_dict()))["watermark"]["agrees"] is True
    # The original from before marking matches the work by its pixels, and the report says its mark is missing.
    assert unmarked_report.match.work_id == item["work_id"]
    assert unmarked_report.watermark.found is False and unmarked_report.watermark.expected == item["watermark"]["id"]
    assert other_report.watermark is None and "watermark" not in other_report.to_dict()

    result = run("audit")
    assert result.exit_code == 0, result.stderr


def test_audit_finds_an_edited_watermark_row(home: Home, tmp_path: Path) -> None:
    source = _save(_photo("rocket"), tmp_path / "rocket.png")
    code, envelope = run_json("register", source, "-l", "CC0-1.0", "--watermark", "--out", tmp_path / "out")
    assert code == 0
    with sqlite3.connect(home.settings.registry_path) as db:
        db.execute("UPDATE watermarks SET mark_id = 'aaaaaaaaaaaaaaaa'")
    result = run("audit")
    assert result.exit_code == ExitCode.SIGNATURE_INVALID and "watermarks table disagrees" in result.stdout + result.stderr


def test_a_registry_without_marks_reports_as_before(home: Home, tmp_path: Path) -> None:
    marked, _ = watermark.embed(_photo("chelsea"), MARK)  # marked elsewhere, not in this registry
    path = _save(marked, tmp_path / "cat.png")
    register_images(home, [_save(_photo("coffee"), tmp_path / "coffee.png")], licence_id="CC0-1.0")
    (report,) = verify_images(home, [path], workers=1)
    assert report.watermark is None and "watermark" not in report.to_dict()


def test_bad_watermark_requests_change_nothing(home: Home, tmp_path: Path) -> None:
    small = _save(_photo("rocket", (120, 90)), tmp_path / "small.png")
    fine = _save(_photo("coffee"), tmp_path / "fine.png")
    out = tmp_path / "out"
    cases = [
        (["register", fine, "-l", "CC0-1.0", "--watermark"], "--out"),
        (["register", fine, "-l", "CC0-1.0", "--out", out], "--watermark"),
        (["register", fine, small, "-l", "CC0-1.0", "--watermark", "--out", out], "too small"),
        (["register", fine, "-l", "CC0-1.0", "--watermark", "--out", small], "not a folder"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code != 0 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    out.mkdir()
    (out / "fine.png").write_bytes(b"someone else's file")
    result = run("register", fine, "-l", "CC0-1.0", "--watermark", "--out", out)
    assert result.exit_code != 0 and "already exists" in result.stderr
    assert (out / "fine.png").read_bytes() == b"someone else's file"
    assert sorted(p.name for p in out.iterdir()) == ["fine.png"]  # no temporary left behind
    with home.registry() as registry:
        assert registry.db["works"].count == 0 and registry.db["watermarks"].count == 0


@pytest.mark.slow
def test_generate_register_watermark_marks_what_it_writes(home: Home, tmp_path: Path) -> None:
    trained = run("train", "--steps", "1", "--size", "128", "--width", "8", "--batch-size", "4", "--data",
                  "builtin:shapes", "--data-limit", "8", "--out", tmp_path / "run128")
    assert trained.exit_code == 0, trained.stderr
    code, envelope = run_json("generate", trained.stdout.strip(), "-n", "2", "--out", tmp_path / "gen", "--register",
                              "-l", "CC0-1.0", "--watermark")
    assert code == 0, envelope
    images = envelope["data"]["images"]
    for image in images:
        pixels = np.asarray(Image.open(image["path"]).convert("RGB"))
        assert watermark.read_mark(_jpeg(pixels, 90)).mark_id == image["mark_id"]
        with home.registry() as registry:
            (record,) = registry.records(image["work_id"])
        assert record.payload["work"]["watermark"]["id"] == image["mark_id"]
        assert record.payload["origin"]["type"] == "generated"

    small = run("train", "--steps", "1", "--size", "16", "--width", "8", "--batch-size", "16", "--data-limit", "64",
                "--out", tmp_path / "run16")
    refused = run("generate", small.stdout.strip(), "-n", "2", "--out", tmp_path / "gen16", "--register", "-l", "CC0-1.0",
                  "--watermark")
    assert refused.exit_code == ExitCode.USAGE and "too small to carry a watermark" in refused.stderr
    assert not (tmp_path / "gen16").exists()
    with home.registry() as registry:
        assert registry.db["works"].count == 2


def test_the_mark_settles_between_a_marked_copy_and_its_registered_original(home: Home, tmp_path: Path) -> None:
    source = _save(_photo("coffee"), tmp_path / "coffee.png")
    (original,) = register_images(home, [source], licence_id="CC0-1.0")
    code, envelope = run_json("register", source, "-l", "CC0-1.0", "--watermark", "--out", tmp_path / "marked")
    assert code == 0
    marked_id = envelope["data"][0]["work_id"]
    Image.open(tmp_path / "marked" / "coffee.png").save(tmp_path / "marked.jpg", quality=85)
    Image.open(source).save(tmp_path / "plain.jpg", quality=85)
    marked_report, plain_report = verify_images(home, [tmp_path / "marked.jpg", tmp_path / "plain.jpg"], workers=1)
    assert marked_report.verdict == "modified-copy" and marked_report.match.work_id == marked_id
    assert marked_report.watermark.agrees and any("invisible mark" in note for note in marked_report.notes)
    # Without the mark the two works still match alike: nothing to settle it.
    assert plain_report.verdict == "ambiguous" and plain_report.match is None
    assert {c.work_id for c in plain_report.candidates if c.kind} == {original.work_id, marked_id}
