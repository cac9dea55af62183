"""Fingerprints: exact agreement with imagehash, stability under re-encoding, batch behaviour."""

from __future__ import annotations

from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from artforge.errors import BadInput
from artforge.provenance.fingerprints import Fingerprint, fingerprint_all, fingerprint_file, fingerprint_files, hamming


def _hex(h: imagehash.ImageHash) -> str:
    return np.packbits(h.hash.ravel()).tobytes().hex()


def test_phash_and_dhash_are_exactly_imagehash(art) -> None:
    for seed in range(5):
        path = art(seed, size=(300 + 37 * seed, 200 + 11 * seed))
        fp = fingerprint_file(path)
        image = Image.open(path).convert("RGB")
        assert fp.phash64 == _hex(imagehash.phash(image))
        assert fp.phash256 == _hex(imagehash.phash(image, hash_size=16))
        assert fp.dhash == _hex(imagehash.dhash(image))


def test_pdq_is_close_to_full_resolution_pdq(art) -> None:
    path = art(7, size=(1400, 1000))  # large enough that artforge reduces it before PDQ
    fp = fingerprint_file(path)
    bits, quality = pdqhash.compute(np.asarray(Image.open(path).convert("RGB")))
    reference = np.packbits(bits.astype(bool)).tobytes().hex()
    assert len(fp.pdq) == 64 and 0 <= fp.pdq_quality <= 100
    assert hamming(fp.pdq, reference) <= 16  # PDQ's own match threshold is 31 of 256


def test_reencoding_keeps_pixel_hash_and_perceptual_hashes(art, tmp_path: Path) -> None:
    path = art(8)
    copy = tmp_path / "copy.png"
    Image.open(path).save(copy, optimize=True)
    a, b = fingerprint_file(path), fingerprint_file(copy)
    assert a.file_sha256 != b.file_sha256
    assert (a.pixel_sha256, a.phash256, a.pdq, a.colorhash) == (b.pixel_sha256, b.phash256, b.pdq, b.colorhash)


def test_distinct_images_are_far_apart(art) -> None:
    a, b = fingerprint_file(art(10)), fingerprint_file(art(11))
    assert hamming(a.phash256, b.phash256) > 60
    assert hamming(a.pdq, b.pdq) > 60


def test_round_trip_dict(art) -> None:
    fp = fingerprint_file(art(12))
    assert Fingerprint.from_dict(fp.to_dict()) == fp


def test_batch_on_two_workers_matches_one_by_one_and_keeps_order(art, tmp_path: Path) -> None:
    paths = [art(seed) for seed in range(6)]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    results = list(fingerprint_files([*paths[:3], bad, *paths[3:]], workers=2))
    assert [p for p, _ in results] == [*paths[:3], bad, *paths[3:]]
    assert isinstance(results[3][1], BadInput)
    for path, fp in results[:3] + results[4:]:
        assert fp == fingerprint_file(path)


def test_fingerprint_all_raises_on_first_bad_file(art, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    try:
        fingerprint_all([art(1), bad], workers=1)
    except BadInput as exc:
        assert "bad.jpg" in str(exc)
    else:
        raise AssertionError("a bad file must fail the batch")


def test_hamming() -> None:
    assert hamming("00ff", "00fe") == 1
    assert hamming("ffff", "0000") == 16
