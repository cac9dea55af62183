"""Registering works: signed records, idempotency, all-or-nothing batches, parents."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from artforge.errors import BadInput, SigningKeyError, UnknownLicence, UsageError
from artforge.provenance.records import check_chain
from artforge.usecases.home import Home
from artforge.usecases.register import register_images


def _count(home: Home) -> tuple[int, int]:
    with home.registry() as registry:
        return registry.count_works(), registry.db["records"].count


def test_register_signs_and_indexes(home: Home, art) -> None:
    [work] = register_images(home, [art(1)], licence_id="CC-BY-NC-4.0", title="Dawn")
    assert work.created and work.title == "Dawn"
    with home.registry() as registry:
        records = registry.records(work.work_id)
        assert len(records) == 1 and records[0].record_id == work.work_id
        assert check_chain(records) == []
        payload = records[0].payload
        assert payload["licence"]["id"] == "CC-BY-NC-4.0"
        assert payload["licence"]["terms"]["commercial"] is False
        assert payload["origin"] == {"type": "registered"}
        assert payload["work"]["pixel_sha256"] == work.fingerprint.pixel_sha256
        assert registry.work(work.work_id).owner_key_id == home.signer().key_id


def test_same_pixels_same_key_is_idempotent(home: Home, art, tmp_path: Path) -> None:
    path = art(2)
    jpeg_lossless_copy = tmp_path / "copy.png"
    Image.open(path).save(jpeg_lossless_copy, compress_level=9)
    [first] = register_images(home, [path], licence_id="CC0-1.0")
    [again] = register_images(home, [jpeg_lossless_copy], licence_id="CC0-1.0")
    assert not again.created and again.work_id == first.work_id
    assert _count(home) == (1, 1)


def test_other_key_registers_its_own_claim(home: Home, art) -> None:
    home.keystore.create("other")
    path = art(3)
    [a] = register_images(home, [path], licence_id="CC0-1.0")
    [b] = register_images(home, [path], licence_id="CC0-1.0", key_name="other")
    assert a.work_id != b.work_id and b.created


def test_one_bad_file_registers_nothing(home: Home, art, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(art(4).read_bytes()[:300])
    with pytest.raises(BadInput, match="broken.png"):
        register_images(home, [art(5), bad, art(6)], licence_id="CC0-1.0")
    assert _count(home) == (0, 0)


def test_unknown_licence_and_missing_key_register_nothing(home: Home, art) -> None:
    with pytest.raises(UnknownLicence):
        register_images(home, [art(7)], licence_id="CC-BY-9.0")
    with pytest.raises(Exception, match="no key named"):
        register_images(home, [art(7)], licence_id="CC0-1.0", key_name="ghost")
    assert _count(home) == (0, 0)


def test_locked_key_registers_nothing(home: Home, art) -> None:
    home.keystore.create("locked", b"pass phrase")
    with pytest.raises(SigningKeyError):
        register_images(home, [art(8)], licence_id="CC0-1.0", key_name="locked")
    assert _count(home) == (0, 0)


def test_parent_must_exist_and_is_recorded(home: Home, art) -> None:
    [parent] = register_images(home, [art(9)], licence_id="CC-BY-SA-4.0")
    [child] = register_images(home, [art(10)], licence_id="CC-BY-SA-4.0", parents=[parent.work_id[:10]])
    with home.registry() as registry:
        assert registry.records(child.work_id)[0].payload["parents"] == [parent.work_id]
    with pytest.raises(Exception, match="no work or record"):
        register_images(home, [art(11)], licence_id="CC0-1.0", parents=["abcdef0123"])


def test_title_with_several_images_is_a_usage_error(home: Home, art) -> None:
    with pytest.raises(UsageError):
        register_images(home, [art(1), art(2)], licence_id="CC0-1.0", title="Both")


def test_hostile_titles_are_cleaned_before_signing(home: Home, art, tmp_path: Path) -> None:
    odd = tmp_path / "caf\udcc3\udca9-\udcff.png"  # a non-UTF-8 file name, as Linux hands it to Python
    odd.write_bytes(art(12).read_bytes())
    [work] = register_images(home, [odd], licence_id="CC0-1.0")
    assert work.title == "café-\ufffd"
    [titled] = register_images(home, [art(13)], licence_id="CC0-1.0", title="a\x00b\x1b[31m red'; DROP TABLE works;--")
    assert titled.title == "ab[31m red'; DROP TABLE works;--"
    with home.registry() as registry:
        assert registry.count_works() == 2
