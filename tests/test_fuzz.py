"""Property-based fuzzing: hostile bytes, records, bundles and command lines never crash artforge.

Four areas, each with at least 1,000 examples per normal test run, derandomized so CI sees the same inputs
every time (and with no example database, so nothing is written next to the tests):

a. the image loader returns a canonical image or raises BadInput, whatever the bytes or the path;
b. the record parser raises only InvalidRecord, and a mutated record never verifies;
c. the offline bundle verifier raises only BundleError/OutOfDomain, and a mutated bundle never verifies;
d. the CLI, given hostile arguments, fails with one ``Error:`` line and a named exit code, never exit 1,
   and never writes to the registry.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import sqlite3
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import typer.main
import typer.testing
from bench_modules import bundle_verifier
from cli_helpers import run, run_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from artforge.cli import app
from artforge.config import Settings
from artforge.errors import BadInput, InvalidRecord
from artforge.generation.procedural import draw_art
from artforge.imaging import load_image
from artforge.provenance.records import SignedRecord, check_chain, check_signature
from artforge.usecases.home import Home, init_home
from artforge.usecases.licensing import grant_licence, transfer_work
from artforge.usecases.log_proofs import build_bundle
from artforge.usecases.register import register_images

# Damaged files make Pillow warn (corrupt EXIF and the like) before it refuses them: expected noise here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")

VERIFIERS = Path(__file__).resolve().parent.parent / "artforge"  # verify_record.py and verify_bundle.py

# One profile for every test here: >= 1,000 examples, reproducible, no deadline (CI machines vary), and no
# complaints about the function-scoped autouse home fixture (every example reuses the same setup on purpose).
FUZZ = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# Every character, lone surrogates included (hypothesis leaves category Cs out by default).
ANY_CHAR = st.characters(exclude_categories=())


# --- Shared strategies: JSON values a hostile document may hold --------------------------------------------

HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**53 - 2, max_value=2**80),  # at and beyond the safe-integer edge
    st.integers(min_value=-(2**80), max_value=-(2**53 - 2)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(ANY_CHAR, max_size=24),
    st.sampled_from(["", "\ud800", "\udcff", "\x00", "é", "0" * 64, "f" * 64, "f" * 128, "registration", "grant",
                     "transfer", "artforge.record/1", "artforge.bundle/1", "\u2014 x y"]),
)
JSON_KEYS = st.one_of(
    st.text(ANY_CHAR, max_size=8),
    st.sampled_from(["payload", "signature", "record_id", "type", "signer", "key_id", "public_key", "prev",
                     "work_id", "schema", "leaf_index", "inclusion_path", "format", "records", "log"]),
)


def nested_lists(depth: int) -> list:
    """``[[[...]]]`` ``depth`` deep, built without recursion (deep enough to trip recursive code)."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


SHALLOW_JSON_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(JSON_KEYS, children, max_size=3),
    max_leaves=8,
)
JSON_VALUES = st.one_of(SHALLOW_JSON_VALUES, st.integers(min_value=1, max_value=3000).map(nested_lists))


def _same(a, b) -> bool:
    """Equality that tells True from 1 and 1 from 1.0 (Python's == does not); recursion bounded by the
    shallower side, so a 3,000-deep value compared with a shallow one is cheap and safe."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _differences(a, b, path: tuple = ()) -> list[tuple]:
    """The JSON paths where two documents differ (for failure messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in a.keys() | b.keys()
                for d in (_differences(a[k], b[k], path + (k,)) if k in a and k in b else [path + (k,)])]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, path + (i,))]
    return [] if _same(a, b) else [path]


def _paths(node, prefix: tuple = ()):
    """Every JSON path in a document (the root is ``()``)."""
    stack = [(prefix, node)]
    while stack:
        path, value = stack.pop()
        yield path
        if isinstance(value, dict):
            stack.extend((path + (k,), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in enumerate(value))


def _get(node, path: tuple):
    for step in path:
        node = node[step]
    return node


def _retyped(value, choice: int):
    """The same information in another JSON type (a common parser confusion)."""
    # No str() of containers: a value may be nested 3,000 deep.
    text = type(value).__name__ if isinstance(value, (dict, list)) else value if isinstance(value, str) else repr(value)
    options = [text, [value], {"value": value}, None, len(text), float(len(text)), not value]
    if isinstance(value, dict):
        options += [list(value.values()), [[k, v] for k, v in value.items()]]  # dict() would take the pairs
    if isinstance(value, list):
        options.append({str(i): v for i, v in enumerate(value)})
    if isinstance(value, bool):
        options.append(int(value))
    elif isinstance(value, int):
        options += [float(value), str(value), value + 1, -value, 2**53, 2**64, True]
    return options[choice % len(options)]


@st.composite
def mutations(draw, original):
    """A deep copy of ``original`` with 1-3 random edits at random JSON paths."""
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        target = _get(doc, path)
        kind = draw(st.sampled_from(["replace", "retype", "drop_key", "add_key", "list_drop", "list_swap",
                                     "list_dup", "flip"]))
        if kind == "drop_key" and isinstance(target, dict) and target:
            del target[draw(st.sampled_from(list(target)))]
            continue
        if kind == "add_key" and isinstance(target, dict):
            target[draw(JSON_KEYS)] = draw(JSON_VALUES)
            continue
        if kind.startswith("list_") and isinstance(target, list) and target:
            i = draw(st.integers(0, len(target) - 1))
            j = draw(st.integers(0, len(target) - 1))
            if kind == "list_drop":
                del target[i]
            elif kind == "list_swap":
                target[i], target[j] = target[j], target[i]
            else:
                target.insert(j, target[i])  # shared, not copied: it may be 3,000 deep
            continue
        if kind == "flip" and isinstance(target, str) and path:
            # Flip one bit of the UTF-8 bytes; undecodable results become lone surrogates (as a JSON file's
            # "\udcxx" escapes would), so the verifier meets strings that cannot be encoded back.
            raw = bytearray(target.encode("utf-8", "surrogatepass") or b"\x00")
            position = draw(st.integers(0, len(raw) - 1))
            raw[position] ^= 1 << draw(st.integers(0, 7))
            new = bytes(raw).decode("utf-8", "surrogateescape")
        elif kind == "retype":
            new = _retyped(target, draw(st.integers(0, 20)))
        else:
            new = draw(JSON_VALUES)
        if not path:
            doc = new
        else:
            _get(doc, path[:-1])[path[-1]] = new
    return doc


# =========================================================================================================
# a. The image loader
# =========================================================================================================


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def seed_images() -> dict[str, bytes]:
    """Small real files of every allowed format and of the modes the loader converts (decoding stays fast)."""
    rgb = draw_art(3, (12, 9))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate on load
    grey16 = Image.fromarray(np.arange(108, dtype=np.uint16).reshape(9, 12) * 600)  # mode I;16
    frames = [draw_art(seed, (10, 8)).convert("P") for seed in range(3)]
    return {
        "png": _encode(rgb, "PNG"),
        "png-rgba": _encode(rgb.convert("RGBA"), "PNG"),
        "png-palette-transparency": _encode(rgb.convert("P"), "PNG", transparency=0),
        "png-16bit": _encode(grey16, "PNG"),
        "png-1bit-interlaced": _encode(rgb.convert("1"), "PNG", interlace=1),
        "jpeg": _encode(rgb, "JPEG", quality=80),
        "jpeg-progressive-exif": _encode(rgb, "JPEG", progressive=True, exif=exif),
        "jpeg-cmyk": _encode(rgb.convert("CMYK"), "JPEG"),
        "gif": _encode(rgb.convert("P"), "GIF"),
        "gif-animated": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0),
        "webp-lossy": _encode(rgb, "WEBP", quality=50),
        "webp-lossless-alpha": _encode(rgb.convert("RGBA"), "WEBP", lossless=True),
        "bmp": _encode(rgb, "BMP"),
        "bmp-palette": _encode(rgb.convert("P"), "BMP"),
        "tiff": _encode(rgb, "TIFF"),
        "tiff-lzw": _encode(rgb, "TIFF", compression="tiff_lzw"),
        "tiff-deflate-16bit": _encode(grey16, "TIFF", compression="tiff_adobe_deflate"),
        "tiff-float": _encode(Image.fromarray(np.linspace(0, 1, 108, dtype=np.float32).reshape(9, 12)), "TIFF"),
    }


LIMITS = st.fixed_dictionaries({
    "max_pixels": st.one_of(st.just(64_000_000), st.integers(min_value=1, max_value=10**9)),
    "max_file_bytes": st.one_of(st.just(256 * 1024 * 1024), st.integers(min_value=1, max_value=10**6)),
})


def _load_or_refuse(source, limits: dict) -> None:
    """The property: a canonical, fully decoded image within the limits, or BadInput with a message.

    Any other exception propagates and fails the test.  (A message names the path as given, which may hold a
    newline; the CLI folds every message onto one line.)
    """
    try:
        loaded = load_image(source, **limits)
    except BadInput as exc:
        assert str(exc) and (not isinstance(source, bytes) or "\n" not in str(exc)), repr(str(exc))
        return
    assert loaded.image.mode in ("RGB", "RGBA")
    assert 0 < loaded.width * loaded.height <= limits["max_pixels"]
    assert len(loaded.image.tobytes()) == loaded.width * loaded.height * len(loaded.image.mode)


def _through(tmp_path: Path, data: bytes, as_path: bool):
    """The bytes themselves, or a file holding them (the file-size limit only applies to paths)."""
    if not as_path:
        return data
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    return path


# Magic numbers of the allowed formats, and of formats that must be refused, so random bytes reach the parsers.
MAGICS = [b"", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff", b"\xff\xd8\xff\xe0",
          b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"II*\x00\x08\x00\x00\x00",
          b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"RIFF\x00\x00\x00\x00WEBPVP8L", b"RIFF\x00\x00\x00\x00WEBPVP8X",
          b"%!PS-Adobe-3.0 EPSF-3.0\n", b"P6\n4 4\n255\n", b"\x00\x00\x01\x00", b"8BPS", b"\x00\x00\x00\x0cjP  "]


@FUZZ
@given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=2048), as_path=st.booleans(), limits=LIMITS)
def test_loader_random_bytes(tmp_path: Path, magic: bytes, body: bytes, as_path: bool, limits: dict) -> None:
    _load_or_refuse(_through(tmp_path, magic + body, as_path), limits)


@st.composite
def damaged_files(draw) -> bytes:
    """A real small image with 1-4 byte flips, overwrites, insertions, deletions or a truncation."""
    data = bytearray(seed_images()[draw(st.sampled_from(sorted(seed_images())))])
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        # Small positions are drawn most often, and headers are where parsers trust what they read.
        position = draw(st.integers(0, 2**16)) % len(data)
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[position] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[position:position + draw(st.integers(1, 64))]
        else:
            del data[position:]
    return bytes(data)


@FUZZ
@given(data=damaged_files(), as_path=st.booleans(), limits=LIMITS)
def test_loader_damaged_real_files(tmp_path: Path, data: bytes, as_path: bool, limits: dict) -> None:
    _load_or_refuse(_through(tmp_path, data, as_path), limits)


def test_loader_reads_every_seed_image() -> None:
    # The mutations above start from files the loader accepts (else the fuzz would only test refusals).
    for name, data in seed_images().items():
        assert load_image(data).width > 0, name


# --- Headers that claim huge (or zero, or negative) sizes -----------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@st.composite
def huge_headers(draw) -> bytes:
    """A well-formed header of an allowed format naming a size up to the format's maximum, then junk."""
    fmt = draw(st.sampled_from(["png", "gif", "bmp", "jpeg", "tiff", "webp"]))
    tail = draw(st.binary(max_size=256))
    if fmt == "png":
        width, height = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
        ihdr = struct.pack(">IIBBBBB", width, height, draw(st.sampled_from([1, 2, 4, 8, 16])),
                           draw(st.sampled_from([0, 2, 3, 4, 6])), 0, 0, draw(st.integers(0, 1)))
        return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(tail))
                + _png_chunk(b"IEND", b""))
    if fmt == "gif":
        screen = struct.pack("<HHBBB", draw(st.integers(0, 65535)), draw(st.integers(0, 65535)),
                             draw(st.integers(0, 255)), 0, 0)
        image = b"," + struct.pack("<HHHHB", 0, 0, draw(st.integers(0, 65535)), draw(st.integers(0, 65535)), 0)
        return b"GIF89a" + screen + bytes(768) + image + b"\x08" + tail + b"\x00;"
    if fmt == "bmp":
        info = struct.pack("<IiiHHIIiiII", 40, draw(st.integers(-(2**31), 2**31 - 1)),
                           draw(st.integers(-(2**31), 2**31 - 1)), 1, draw(st.sampled_from([1, 4, 8, 16, 24, 32])),
                           draw(st.sampled_from([0, 1, 2, 3])), 0, 2835, 2835, 0, 0)
        return b"BM" + struct.pack("<IHHI", 54 + len(tail), 0, 0, 54) + info + tail
    if fmt == "jpeg":
        components = draw(st.sampled_from([1, 3, 4]))
        sof = struct.pack(">BHHB", 8, draw(st.integers(0, 65535)), draw(st.integers(0, 65535)), components)
        sof += b"".join(bytes([i + 1, 0x11, 0]) for i in range(components))
        return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + tail + b"\xff\xd9"
    if fmt == "tiff":
        width, height = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
        entries = [(256, 4, width), (257, 4, height), (258, 3, draw(st.sampled_from([1, 8, 16, 32]))),
                   (259, 3, draw(st.sampled_from([1, 5, 7, 8, 32773]))), (262, 3, draw(st.integers(0, 8))),
                   (273, 4, 8 + 2 + 9 * 12 + 4), (277, 3, draw(st.integers(1, 4))),
                   (278, 4, draw(st.integers(0, 2**32 - 1))), (279, 4, len(tail))]
        fields = [struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3  # SHORT, left-justified
                                                       else struct.pack("<I", value)) for tag, kind, value in entries]
        ifd = struct.pack("<H", len(entries)) + b"".join(fields) + struct.pack("<I", 0)
        return b"II*\x00" + struct.pack("<I", 8) + ifd + tail
    width, height = draw(st.integers(1, 2**24)), draw(st.integers(1, 2**24))
    vp8x = bytes([draw(st.integers(0, 255))]) + bytes(3) + (width - 1).to_bytes(3, "little") + \
        (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + tail
    return b"RIFF" + struct.pack("<I", len(body)) + body


@FUZZ
@given(data=huge_headers(), as_path=st.booleans(), limits=LIMITS)
def test_loader_headers_claiming_huge_sizes(tmp_path: Path, data: bytes, as_path: bool, limits: dict) -> None:
    _load_or_refuse(_through(tmp_path, data, as_path), limits)


# Path strings a caller may pass through (stdin path lists can carry anything but a newline).
PATH_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.sampled_from(["", ".", "..", "/", "/dev/null", "/proc/self/status", "a\x00b.png", "x\ud800.png",
                     "\udcff\udcfe.png", "caf\udce9.png", "no/such/dir/x.png", "~", "-"]),
    st.builds(lambda s, n: s * n, st.text(ANY_CHAR, min_size=1, max_size=3), st.integers(100, 3000)),
)


@FUZZ
@given(text=PATH_TEXT, limits=LIMITS)
def test_loader_hostile_path_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, limits: dict) -> None:
    monkeypatch.chdir(tmp_path)  # relative names resolve in an empty folder
    _load_or_refuse(text, limits)


# =========================================================================================================
# b. The record parser, and c. the offline bundle verifier: one real work with a grant and a transfer
# =========================================================================================================


@pytest.fixture(scope="module")
def bundle_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, dict]:
    """A home (library API, unencrypted keys) holding one work, a grant and a transfer; and its bundle."""
    folder = tmp_path_factory.mktemp("bundle")
    home = Home(settings=Settings(home=folder / "home"))
    init_home(home)
    image = folder / "art.png"
    draw_art(11, (96, 72)).save(image)
    (work,) = register_images(home, [str(image)], licence_id="CC-BY-4.0", title="Fuzz")
    grant_licence(home, work.work_id, "Acme", "posters", "2031-12-31")
    home.keystore.create("second", None)
    transfer_work(home, work.work_id, "second")
    return home, build_bundle(home, work.work_id)


@pytest.fixture(scope="module")
def real_records(bundle_home) -> list[SignedRecord]:
    _, bundle = bundle_home
    records = [SignedRecord.from_dict({k: item[k] for k in ("record_id", "payload", "signature")})
               for item in bundle["records"]]
    assert [r.record_type for r in records] == ["registration", "grant", "transfer"]
    assert check_chain(records) == []
    return records


def _only_invalid_record(call, *args):
    """``call(*args)``, with InvalidRecord (the one allowed refusal) turned into None."""
    try:
        return call(*args)
    except InvalidRecord as exc:
        assert str(exc) and "\n" not in str(exc)
        return None


@st.composite
def hostile_json_text(draw) -> str:
    """Random JSON, often shaped like a record, plus texts that stress the parser itself."""
    shape = draw(st.sampled_from(["any", "record", "raw", "deep", "bigint", "duplicate"]))
    if shape == "any":
        return json.dumps(draw(SHALLOW_JSON_VALUES))
    if shape == "record":
        record = {"payload": draw(st.dictionaries(JSON_KEYS, SHALLOW_JSON_VALUES, max_size=6)),
                  "signature": draw(st.one_of(st.text(ANY_CHAR, max_size=130), st.just("a" * 128), HOSTILE_SCALARS))}
        if draw(st.booleans()):
            record["record_id"] = draw(st.one_of(st.text(max_size=70), st.just("0" * 64), HOSTILE_SCALARS))
        return json.dumps(record)
    if shape == "raw":
        return draw(st.text(ANY_CHAR, max_size=200))
    if shape == "deep":  # nesting deeper than the recursion limit
        depth = draw(st.integers(1, 100_000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = opener * depth + "1" + closer * depth
        return '{"payload": {"x": ' + inner + '}, "signature": "' + "a" * 128 + '"}' if draw(st.booleans()) else inner
    if shape == "bigint":  # past Python's 4,300-digit limit on int() of a string
        digits = "9" * draw(st.integers(1, 20_000))
        return '{"payload": {"width": ' + digits + '}, "signature": "' + "a" * 128 + '", "record_id": "x"}'
    key = draw(st.sampled_from(["type", "schema", "signer", "x"]))
    return '{"payload": {"' + key + '": 1, "' + key + '": 2}, "signature": "' + "a" * 128 + '"}'


@FUZZ
@given(text=hostile_json_text())
def test_record_parser_random_json(text: str) -> None:
    record = _only_invalid_record(SignedRecord.from_json, text)
    if record is None:
        return
    # Random data cannot carry a valid Ed25519 signature: there must be problems, and only as a list.
    problems = _only_invalid_record(check_signature, record)
    assert problems is None or problems
    chain = _only_invalid_record(check_chain, [record])
    assert chain is None or chain


@st.composite
def mutated_record_text(draw, records: list[SignedRecord]) -> tuple[int, str]:
    """One of the real records, mutated as a JSON tree or as text."""
    index = draw(st.integers(0, len(records) - 1))
    portable = records[index].to_dict()
    if draw(st.booleans()):
        portable.pop("record_id")  # the id is optional: the mutation must then be caught by the signature
    mutated = draw(mutations(portable))
    try:
        text = json.dumps(mutated)  # lone surrogates become \udxxx escapes, NaN becomes NaN
    except (RecursionError, ValueError):
        text = "[" * 5000  # json cannot write a 3,000-deep value; feed the parser deep text instead
    if draw(st.booleans()):
        # Textual edits json.dumps cannot make: a duplicate key ahead of the real one, a huge integer literal.
        edit = draw(st.sampled_from(["dup", "bigint", "nonascii-key"]))
        if edit == "dup":
            text = text.replace('"payload": {', '"payload": {"type": "grant", ', 1)
        elif edit == "bigint":
            text = text.replace('"payload": {', '"payload": {"big": 1' + "0" * draw(st.integers(10, 6000)) + ", ", 1)
        else:
            text = text.replace('"payload": {', '"payload": {"\u00e9": 1, ', 1)
    return index, text


def _identical(record: SignedRecord, original: SignedRecord) -> bool:
    """Whether the parsed record holds the original payload and signature (bool, int and float told apart).

    (from_dict takes only a JSON object as payload, so no other spelling of the same object gets here.)"""
    return _same(record.payload, original.payload) and _same(record.signature, original.signature)


@FUZZ
@given(data=st.data())
def test_mutated_record_never_verifies(real_records: list[SignedRecord], data) -> None:
    index, text = data.draw(mutated_record_text(real_records))
    original = real_records[index]
    record = _only_invalid_record(SignedRecord.from_json, text)
    if record is None:
        return
    if _only_invalid_record(check_signature, record) == []:
        assert _identical(record, original), text[:500]
    if _only_invalid_record(check_chain, [record]) == []:
        assert index == 0 and _identical(record, original), text[:500]
    # In place in the real chain, a changed record breaks the chain.
    if _only_invalid_record(check_chain, real_records[:index] + [record] + real_records[index + 1:]) == []:
        assert _identical(record, original), text[:500]


def test_record_parser_refuses_duplicate_keys(real_records: list[SignedRecord]) -> None:
    # docs/record-format.md section 6: "Parse the JSON, refusing duplicate keys".  The last value wins in
    # json.loads, so without the check this text parses to the real record and verifies.
    text = json.dumps(real_records[1].to_dict()).replace('"payload": {', '"payload": {"type": "transfer", ', 1)
    with pytest.raises(InvalidRecord, match="twice"):
        SignedRecord.from_json(text)


@pytest.mark.parametrize(("record_type", "shown"), [
    ("\ud800x", "\\ud800x"),  # printing a lone surrogate to UTF-8 stdout raised UnicodeEncodeError (a traceback)
    ("x\nOK   record 9 registration", "x\\nOK   record 9"),  # a newline would forge a line of its own
])
def test_record_verifier_script_prints_one_line_per_record(real_records: list[SignedRecord], tmp_path: Path, capsys,
                                                           record_type: str, shown: str) -> None:
    # artforge/verify_record.py quotes a record's type in its FAIL line.
    spec = importlib.util.spec_from_file_location("verify_record_script", VERIFIERS / "verify_record.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    portable = copy.deepcopy(real_records[0].to_dict())  # to_dict shares the payload: keep the fixture intact
    portable["payload"]["type"] = record_type
    (tmp_path / "record.json").write_text(json.dumps(portable))
    assert script.main([str(tmp_path / "record.json")]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"FAIL record 0 {shown}"), out


def test_record_payload_must_be_an_object(real_records: list[SignedRecord]) -> None:
    # dict() also builds the payload from a list of [key, value] pairs: another JSON spelling of the same signed
    # bytes, which artforge/verify_record.py refuses ("payload is missing or not an object").
    portable = real_records[0].to_dict()
    portable["payload"] = [[key, value] for key, value in portable["payload"].items()]
    with pytest.raises(InvalidRecord, match="object"):
        SignedRecord.from_json(json.dumps(portable))


# --- c. bundles -----------------------------------------------------------------------------------------


def _verifier():
    return bundle_verifier()


def _pinned(bundle: dict) -> bytes:
    return bytes.fromhex(bundle["log"]["public_key"])


def test_real_bundle_verifies(bundle_home) -> None:
    _, bundle = bundle_home
    lines = _verifier().verify_bundle(copy.deepcopy(bundle), _pinned(bundle))
    assert lines[-1].startswith("OK work head: 3 records")


# Members a bundle may carry without them being evidence: the derived record ids may be left out (or null),
# and members the verifier does not know are ignored.  Everything else a mutation touches must be caught.
def _evidence(bundle) -> object:
    """What a verifying bundle must agree on with the original: every member but the ignorable ones."""
    if not isinstance(bundle, dict):
        return bundle
    known = {k: bundle[k] for k in ("format", "work_id", "records", "public_keys") if k in bundle}
    if isinstance(bundle.get("log"), dict):
        known["log"] = {k: v for k, v in bundle["log"].items()
                        if k in ("origin", "public_key", "verifier_key", "tree_size", "checkpoint", "work_head")}
    if isinstance(known.get("records"), list):
        known["records"] = [{k: v for k, v in r.items() if not (k == "record_id" and v is None)}
                            if isinstance(r, dict) else r for r in known["records"]]
    return known


def _evidence_agrees(mutated, original: dict) -> bool:
    got, want = _evidence(mutated), _evidence(original)
    if isinstance(got, dict) and isinstance(got.get("records"), list):
        # A record may omit its record_id (it is derived from the payload and checked when present).
        for record, real in zip(got["records"], want["records"]):
            if isinstance(record, dict) and "record_id" not in record:
                record["record_id"] = real["record_id"]
    return _same(got, want)


@FUZZ
@given(data=st.data())
def test_mutated_bundle_never_verifies(bundle_home, data) -> None:
    _, bundle = bundle_home
    verifier = _verifier()
    mutated = data.draw(mutations(bundle))
    try:
        verifier.verify_bundle(mutated, _pinned(bundle))
    except (verifier.BundleError, verifier.OutOfDomain) as exc:
        assert str(exc) and not _same(mutated, bundle)
        return
    assert _evidence_agrees(mutated, bundle), f"a changed bundle verified: {_differences(mutated, bundle)}"


@FUZZ
@given(data=st.data())
def test_bundle_file_fuzz_main_exit_codes(bundle_home, tmp_path: Path, capsys, data) -> None:
    """The command-line verifier on damaged files: exit 0, 1 or 2, never a traceback; 0 only for the evidence."""
    _, bundle = bundle_home
    raw = bytearray(json.dumps(bundle, indent=2, ensure_ascii=data.draw(st.booleans())).encode())
    edit = data.draw(st.sampled_from(["bytes", "deep", "escape"]))
    if edit == "deep":  # a value nested past the recursion limit
        depth = data.draw(st.integers(500, 50_000))
        raw = bytearray(bytes(raw).replace(b'"parents": []', b'"parents": ' + b"[" * depth + b"]" * depth, 1))
    elif edit == "escape":  # a lone surrogate escape at the start of a string the verifier may quote
        member = data.draw(st.sampled_from([b'"origin": "', b'"title": "', b'"checkpoint": "', b'"to": "',
                                            b'"type": "registration', b'"type": "grant', b'"type": "transfer',
                                            b'"schema": "', b'"record_id": "', b'"work_id": "']))
        quote = member.index(b': "') + 3
        escape = data.draw(st.sampled_from([b"\\ud800", b"\\udc80", b"\\udfff"]))
        raw = bytearray(bytes(raw).replace(member, member[:quote] + escape + member[quote:], 1))
    for _ in range(data.draw(st.integers(1, 3)) if edit == "bytes" else 0):
        if not raw:
            break
        position = data.draw(st.integers(0, len(raw) - 1))
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if kind == "flip":
            raw[position] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "insert":
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del raw[position:position + data.draw(st.integers(1, 16))]
        else:
            del raw[position:]
    path = tmp_path / "bundle.json"
    path.write_bytes(bytes(raw))
    code = _verifier().main([str(path), "--log-key", bundle["log"]["public_key"]])
    out = capsys.readouterr()
    assert code in (0, 1, 2), code
    assert "Traceback" not in out.out + out.err
    if code == 0:
        assert _evidence_agrees(json.loads(bytes(raw)), bundle)


# =========================================================================================================
# d. The command line
# =========================================================================================================


def _registry_digest(home: Path) -> str:
    """Digest of the registry's logical content (through SQLite, so rows still in the WAL count)."""
    conn = sqlite3.connect(home / "registry.db")
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode("utf-8", "surrogatepass")).hexdigest()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An initialised home (through the CLI) with one work, a grant and a second key."""
    folder = tmp_path_factory.mktemp("cli")
    image = folder / "art.png"
    draw_art(12, (96, 72)).save(image)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARTFORGE_HOME", str(folder / "home"))
        mp.delenv("ARTFORGE_PASSPHRASE", raising=False)
        assert run("init", "--no-encrypt").exit_code == 0
        code, env = run_json("register", image, "--license", "CC-BY-4.0")
        assert code == 0
        work_id = env["data"][0]["work_id"]
        assert run("license", "grant", work_id, "--to", "Acme", "--terms", "posters").exit_code == 0
        assert run("keys", "create", "second", "--no-encrypt").exit_code == 0
        code, env = run_json("log", "checkpoint")
        assert code == 0
        log_size = env["data"]["log_size"]
    conn = sqlite3.connect(folder / "home" / "registry.db")
    ids = [row[0] for row in conn.execute("SELECT id FROM records")]
    conn.close()
    return {"home": folder / "home", "ids": ids, "log_size": log_size}


# Words that confuse parsers; none names a real work, image or (outside the --key slot) key, so a command
# built from them can never be valid.  "--help" is left out: it is a valid request.
HOSTILE_WORDS = [
    "", " ", "-", "--", "-x", "--json", "--quiet", "-q", "--key", "--to", "--license", "--title", "--bogus", "..",
    "../..", "../../etc/passwd", "/", "//", "/etc/passwd", "/dev/null", "~", "~/x.png", "$HOME", "%s%n%x", "{}",
    "'); DROP TABLE works; --", '"', "\\", "\x00", "a\x00b.png", "\x1b[31m", "\r\n", "\n", "\t", "\u202e",
    "\u200b", "\ufeff", "\U0001f4a5", "NaN", "inf", "-1", "0", "1", "+1", "1e3", "0x1f", "1_000", "\u0663",
    str(2**63), str(-(2**63)), "9" * 400, "abcdef", "ABCDEF", "gggggg", "000000", "f" * 64, "CC0-1.0",
    "LicenseRef-", "log", "nonexistent.png", "no/such/dir/file.png", "\udcff.png", "caf\udce9.png",
]
# Real argv can hold undecodable bytes (as U+DC80-U+DCFF) but never other lone surrogates.
ARGV_CHAR = st.one_of(st.characters(exclude_categories=("Cs",)), st.characters(min_codepoint=0xDC80,
                                                                                max_codepoint=0xDCFF))
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_WORDS),
    st.text(ARGV_CHAR, max_size=30),
    st.text(st.sampled_from("\x00\x01\x1b\x7f\r\n\t/\\.-~ "), max_size=12),
    st.integers().map(str),
    st.builds(lambda s, n: s * n, st.text(ARGV_CHAR, min_size=1, max_size=3), st.integers(500, 5000)),
).filter(lambda s: s != "--help" and s not in ("default", "second"))


def _int_or_none(text: str) -> int | None:
    """The integer a size argument may stand for (generously: Typer takes " 1" and "1.0" as 1)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


SIZE = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(0, 4).map(str),
    st.sampled_from(["", " 1", "1 ", "+1", "01", "1_0", "\u0661", "1.0", "1e3", "0x1", "NaN", "inf", "\x00",
                     "1\x00", "99999999999999999999999999"]),
    st.text(ARGV_CHAR, max_size=6),
).filter(lambda s: not s.startswith("-") or (_int_or_none(s) or 0) < 0)  # no option-like words here


@st.composite
def cli_cases(draw, log_size: int):
    """(argv, stdin bytes, may_succeed): one of the commands with hostile values in its argument places."""
    command = draw(st.sampled_from(["show", "history", "verify", "register", "license grant", "transfer", "mint",
                                    "log prove", "log consistency", "export", "fingerprint", "keys show"]))
    words = command.split()
    h = lambda: draw(HOSTILE)  # noqa: E731
    maybe = lambda *option: list(option) if draw(st.booleans()) else []  # noqa: E731
    stdin = None
    if command == "log consistency":
        sizes = [draw(SIZE) for _ in range(draw(st.integers(1, 2)))]
        argv = words + sizes + maybe("--json")
        numbers = [_int_or_none(s) for s in sizes]
        if None in numbers:
            return argv, stdin, False
        old, new = numbers[0], numbers[1] if len(numbers) > 1 else log_size
        return argv, stdin, 0 <= old <= new <= log_size
    if command in ("show", "history", "log prove", "keys show"):
        positional, options = [h()], []
    elif command == "export":
        positional, options = [h()], [["--bundle", h()]]
    elif command == "transfer":
        recipient = draw(st.sampled_from(["second", "ff" * 32]) | HOSTILE)
        positional, options = [h()], [["--to", recipient],
                                      maybe("--key", draw(st.sampled_from(["default", "second"]) | HOSTILE))]
    elif command == "license grant":
        positional, options = [h()], [["--to", h()], ["--terms", h()], maybe("--until", h()),
                                      maybe("--key", draw(st.sampled_from(["default"]) | HOSTILE))]
    elif command == "mint":  # WORK: an image path or a work id
        positional, options = [h()], [maybe("--image", h()), maybe("--royalty-bps", draw(SIZE)), maybe("--to", h())]
    else:  # register, verify, fingerprint: image paths (the working folder is empty: none exists as an image)
        positional = [h() for _ in range(draw(st.integers(1, 3)))]
        options = []
        if command == "register":
            options = [["--license", draw(st.sampled_from(["CC0-1.0", "CC-BY-4.0"]) | HOSTILE)],
                       maybe("--title", h()), maybe("--key", draw(st.sampled_from(["default", "second"]) | HOSTILE)),
                       maybe("--parent", h())]
        elif command == "verify":
            options = [maybe("--diff", h())]
        if "-" in positional:  # paths on stdin are bytes, as file names are
            stdin = b"\n".join(os.fsencode(h()) for _ in range(draw(st.integers(0, 3)))) + draw(st.binary(max_size=8))
    options = [o for o in options if o]
    options = [part for option in draw(st.permutations(options)) for part in option]
    if draw(st.booleans()):
        positional = ["--"] + positional  # everything after is positional, option-like or not
        argv = words + options + positional
    else:
        argv = words + positional + options
    if draw(st.booleans()):
        argv.insert(draw(st.integers(len(words), len(argv))), h())  # a stray word anywhere
    if draw(st.booleans()):
        argv.append("--json")
    return argv, stdin, False


def _names_real_thing(argv: list[str], ids: list[str]) -> bool:
    """Whether a word could be a prefix of a real work or record id (then the command might be valid)."""
    for word in argv:
        candidate = word.strip().lower()
        if re.fullmatch(r"[0-9a-f]{6,}", candidate) and any(i.startswith(candidate) for i in ids):
            return True
    return False


# The command tree, built once.  Typer's CliRunner (behind cli_helpers.run) rebuilds it from the app on every
# call, ~25 ms: ten times what a failing command takes, so 1,000 examples would take ~40 s.  This fixture
# makes that rebuild return the tree built here; cli_helpers.run is otherwise untouched.
_COMMAND = typer.main.get_command(app)


@pytest.fixture
def cached_command_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    original = typer.testing._get_command
    monkeypatch.setattr(typer.testing, "_get_command", lambda target: _COMMAND if target is app else original(target))


def test_cached_command_tree_changes_nothing(cli_home: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTFORGE_HOME", str(cli_home["home"]))
    argvs = (["show", "zz"], ["show", "abcdef12", "--json"], ["log", "consistency", "1"], ["keys", "show"],
             ["fingerprint", "-"])
    slow = [run(*argv) for argv in argvs]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.testing, "_get_command", lambda target: _COMMAND)
        fast = [run(*argv) for argv in argvs]
    for argv, a, b in zip(argvs, slow, fast):
        assert (a.exit_code, a.stdout, a.stderr) == (b.exit_code, b.stdout, b.stderr), argv


@FUZZ
@given(data=st.data())
def test_cli_hostile_arguments(cli_home: dict, cached_command_tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               data) -> None:
    monkeypatch.setenv("ARTFORGE_HOME", str(cli_home["home"]))
    monkeypatch.delenv("ARTFORGE_PASSPHRASE", raising=False)
    work_dir = tmp_path / "cwd"
    work_dir.mkdir(exist_ok=True)
    monkeypatch.chdir(work_dir)  # relative paths land here: it must stay empty
    before = cli_home.setdefault("digest", _registry_digest(cli_home["home"]))

    argv, stdin, may_succeed = data.draw(cli_cases(cli_home["log_size"]))
    assume(not _names_real_thing(argv, cli_home["ids"]))
    result = run(*argv, input=stdin)
    shown = f"argv={argv!r} stdin={stdin!r} exit={result.exit_code} stderr={result.stderr[:400]!r}"

    assert result.exit_code != 1, shown + f" exception={result.exception!r}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    if result.exit_code == 0:
        assert may_succeed, "succeeded on input that cannot be valid: " + shown
    else:  # Click's own usage errors too (artforge.cli.usage)
        # Lines as scripts see them: "\n"-terminated (str.splitlines would also split at U+0085, U+2028, ...).
        lines = result.stderr.split("\n")
        assert len(lines) > 1 and lines.pop() == "", shown
        if argv[0] == "verify":  # one error line per bad image, and over several a summary
            summary = ("verified ", "slowest: ", "failed: ")
            assert all(line.startswith(("Error: ", *summary)) for line in lines), shown
        else:
            assert len(lines) == 1 and lines[0].startswith("Error: "), shown
        assert result.stdout in ("", "\n") or result.stdout.endswith("\n"), shown
        for line in result.stdout.split("\n")[:-1]:  # --json: one envelope per line, ok false
            envelope = json.loads(line)
            assert envelope["artforge"] == 1 and envelope["exit_code"] != 0, shown
    assert _registry_digest(cli_home["home"]) == before, "registry changed: " + shown
    assert os.listdir(work_dir) == [], "wrote into the working folder: " + shown
