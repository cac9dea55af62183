"""The robustness benchmark's data (benchmarks/_robust_data.py): a corpus whose two sets are really disjoint,
and edits that do what their names say."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from bench_modules import robust_data
from PIL import Image, ImageEnhance

rd = robust_data()

N = 2 * len(rd.SOURCE_CYCLE)  # two full cycles: every source, and two members per family on each side
TEMPLATE_KINDS = ("flag", "icon", "gradient", "label")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> rd.Corpus:
    return rd.build_corpus(tmp_path_factory.mktemp("corpus"), N, N, seed=0)


def _pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        assert image.mode == "RGB"
        return image.tobytes()


def _digest(path: Path) -> str:
    with Image.open(path) as image:
        return hashlib.sha256(repr(image.size).encode() + image.tobytes()).hexdigest()


# -- corpus ---------------------------------------------------------------------------------------------
def test_bundled_photos_load_offline() -> None:
    photos = rd.load_photos()
    assert len(photos) >= 10  # 20 from scikit-image and 2 from scikit-learn here
    assert len({p.name for p in photos}) == len(photos)
    for photo in photos:
        assert photo.pixels.dtype == np.uint8 and photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3
        assert max(photo.pixels.shape[:2]) <= rd.MAX_LONG


def test_sizes_kinds_and_mix(corpus: rd.Corpus) -> None:
    assert len(corpus.originals) == len(corpus.distractors) == N
    for path in corpus.originals + corpus.distractors:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.mode == "RGB"
            w, h = image.size
        assert rd.MIN_LONG <= max(w, h) <= rd.MAX_LONG, path.name
        assert rd.MIN_ASPECT - 0.01 <= w / h <= rd.MAX_ASPECT + 0.01, path.name
        assert corpus.kinds[path] in rd.KINDS
    for paths in (corpus.originals, corpus.distractors):
        kinds = {corpus.kinds[p] for p in paths}
        assert {"procedural", "flag", "icon", "gradient", "label", "digit"} <= kinds
        assert kinds & {"photo", "texture", "graphic"}


def test_same_seed_same_pixels(corpus: rd.Corpus, tmp_path: Path) -> None:
    again = rd.build_corpus(tmp_path / "again", N, N, seed=0)
    assert [p.name for p in again.originals] == [p.name for p in corpus.originals]
    for a, b in zip(corpus.originals + corpus.distractors, again.originals + again.distractors):
        assert _pixels(a) == _pixels(b), a.name
    assert list(again.sources.values()) == list(corpus.sources.values())

    other = rd.build_corpus(tmp_path / "other", N, 0, seed=1)
    same = sum(_pixels(a) == _pixels(b) for a, b in zip(corpus.originals, other.originals))
    assert same == 0


def test_sets_share_no_image_and_no_source(corpus: rd.Corpus) -> None:
    originals = {_digest(p) for p in corpus.originals}
    distractors = {_digest(p) for p in corpus.distractors}
    assert len(originals) == len(distractors) == N  # no repeats within a set either
    assert not originals & distractors
    assert not {corpus.sources[p] for p in corpus.originals} & {corpus.sources[p] for p in corpus.distractors}


def test_photo_regions_never_overlap(corpus: rd.Corpus) -> None:
    boxes: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    for path in corpus.originals + corpus.distractors:
        match = re.fullmatch(r"(\S+) box=\((\d+), (\d+), (\d+), (\d+)\)", corpus.sources[path])
        if match:
            boxes[match[1]].append(tuple(int(v) for v in match.groups()[1:]))
    assert sum(map(len, boxes.values())) >= N // 4
    for photo, regions in boxes.items():
        for i, a in enumerate(regions):
            for b in regions[i + 1:]:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert apart, (photo, a, b)


def test_hard_negative_families_span_both_sets(corpus: rd.Corpus) -> None:
    sides: dict[str, set[str]] = defaultdict(set)
    for side, paths in (("orig", corpus.originals), ("dist", corpus.distractors)):
        for path in paths:
            if corpus.kinds[path] in TEMPLATE_KINDS:
                sides[corpus.sources[path].split("/")[0]].add(side)
    assert {family.split(":")[0] for family, seen in sides.items() if seen == {"orig", "dist"}} == set(TEMPLATE_KINDS)


def test_no_distractor_is_a_flip_turn_or_colour_edit_of_an_original(corpus: rd.Corpus) -> None:
    # Hard negatives are meant to be close; they must still differ clearly somewhere (a glyph, a stripe, a
    # word), where an edited copy differs only by resampling.  Compared on 48 px thumbnails: at least 1 % of
    # pixels must differ by more than 24 in some channel from every flip / quarter turn / colour edit, and
    # by more than 12 in luma from every flip / quarter turn.
    def thumb(path: Path) -> Image.Image:
        with Image.open(path) as image:
            return image.resize((48, 48), Image.Resampling.BOX)

    hard = ("digit", *TEMPLATE_KINDS)
    distractors = [p for p in corpus.distractors if corpus.kinds[p] in hard]
    stack = np.stack([np.asarray(thumb(p), np.int16) for p in distractors])
    greys = np.stack([np.asarray(thumb(p).convert("L"), np.int16) for p in distractors])
    colour_edits = [
        lambda im: im, lambda im: im.convert("L").convert("RGB"),
        *(lambda im, e=e, f=f: e(im).enhance(f) for e in (ImageEnhance.Brightness, ImageEnhance.Contrast)
          for f in (0.8, 1.2)),
        lambda im: ImageEnhance.Color(im).enhance(0.5), lambda im: ImageEnhance.Color(im).enhance(1.5),
    ]
    turns = [None, *Image.Transpose]
    for original in (p for p in corpus.originals if corpus.kinds[p] in hard):
        small = thumb(original)
        variants = np.stack([np.asarray(edit(small if turn is None else small.transpose(turn)), np.int16)
                             for turn in turns for edit in colour_edits])
        differing = (np.abs(stack[:, None] - variants[None]).max(axis=-1) > 24).mean(axis=(2, 3))
        closest = differing.min(axis=1)
        assert closest.min() >= 0.01, (original.name, distractors[int(closest.argmin())].name)
        # Distractors are queried in greyscale too: their luma must differ from every original's somewhere.
        lumas = variants[len(colour_edits) * np.arange(len(turns)) + 1, ..., 0]  # the greyscale variants
        differing = (np.abs(greys[:, None] - lumas[None]) > 12).mean(axis=(2, 3))
        closest = differing.min(axis=1)
        assert closest.min() >= 0.01, (original.name, distractors[int(closest.argmin())].name, "greyscale")


# -- transforms -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photo(corpus: rd.Corpus) -> Image.Image:
    path = next(p for p in corpus.originals if corpus.kinds[p] == "photo")
    with Image.open(path) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def art() -> Image.Image:
    from artforge.generation.procedural import draw_art

    return draw_art(7, (300, 200)).convert("RGB")


def test_catalogue() -> None:
    names = [t.name for t in rd.TRANSFORMS]
    assert len(names) == len(set(names)) == len(rd.TRANSFORMS_BY_NAME)
    assert rd.FAMILIES == ["jpeg", "resize", "crop", "pad", "rotate", "flip", "colour", "blur", "noise", "overlay",
                           "combo", "combo3"]
    assert {t.family for t in rd.TRANSFORMS} == set(rd.FAMILIES)
    for name in ("jpeg30", "resize0.25", "crop10-centre", "crop10-tl", "crop10-br", "crop10-rand", "crop10-left",
                 "crop30-rand", "pad20-letterbox", "rotate8-crop", "rotate270", "hflip", "grey", "gamma0.8",
                 "noise10", "overlay-text", "overlay-logo", "screenshot", "bright+30", "contrast-30", "gamma1.5",
                 "crop10+bright+30+jpeg70"):
        assert name in rd.TRANSFORMS_BY_NAME


def test_every_transform_gives_a_changed_rgb_image(art: Image.Image, photo: Image.Image) -> None:
    for image in (art, photo, art.convert("L")):  # a non-RGB input is converted first
        for transform, out in rd.apply_all(image, np.random.default_rng(0)):
            assert isinstance(out, Image.Image) and out.mode == "RGB", transform.name
            assert min(out.size) >= 16, transform.name
            if image is art:  # colourful and asymmetric: every edit must change it
                same_size = out.size == art.size
                assert not (same_size and out.tobytes() == art.tobytes()), transform.name


def test_transforms_are_deterministic_given_the_rng(art: Image.Image) -> None:
    first = rd.apply_all(art, np.random.default_rng(5))
    second = rd.apply_all(art, np.random.default_rng(5))
    assert all(a.tobytes() == b.tobytes() for (_, a), (_, b) in zip(first, second))
    noise = rd.TRANSFORMS_BY_NAME["noise5"]
    assert noise(art, np.random.default_rng(1)).tobytes() != noise(art, np.random.default_rng(2)).tobytes()


def test_geometry(art: Image.Image) -> None:
    rng = np.random.default_rng(0)
    t = rd.TRANSFORMS_BY_NAME
    w, h = art.size
    for name in ("crop10-centre", "crop10-tl", "crop10-br", "crop10-rand"):
        assert t[name](art, rng).size == (round(w * 0.9), round(h * 0.9))
    assert t["crop10-left"](art, rng).size == (w - round(w * 0.1), h)
    assert np.array_equal(np.asarray(t["crop10-left"](art, rng)), np.asarray(art)[:, round(w * 0.1):])
    assert np.array_equal(np.asarray(t["crop10-tl"](art, rng)), np.asarray(art)[:round(h * 0.9), :round(w * 0.9)])
    assert t["pad20-white"](art, rng).size == (round(w * 1.2), round(h * 1.2))
    assert t["pad20-letterbox"](art, rng).size == (w, round(h * 1.2))
    assert t["resize0.5"](art, rng).size == (w // 2, h // 2)
    assert t["rotate90"](art, rng).size == (h, w)
    assert t["hflip"](t["hflip"](art, rng), rng).tobytes() == art.tobytes()
    assert t["vflip"](t["hflip"](art, rng), rng).tobytes() == t["rotate180"](art, rng).tobytes()
    quarter = art
    for _ in range(4):
        quarter = t["rotate90"](quarter, rng)
    assert quarter.tobytes() == art.tobytes()


def test_rotate_crop_keeps_no_fill() -> None:
    white = Image.new("RGB", (400, 200), (255, 255, 255))
    rng = np.random.default_rng(0)
    for degrees in (2, 4, 8):
        filled = np.asarray(rd.TRANSFORMS_BY_NAME[f"rotate{degrees}-black"](white, rng))
        cropped = np.asarray(rd.TRANSFORMS_BY_NAME[f"rotate{degrees}-crop"](white, rng))
        assert filled.min() == 0  # black corners
        assert cropped.min() >= 250  # none of them left
        assert cropped.shape[1] >= 400 * 0.8 and cropped.shape[0] >= 200 * 0.6


def test_colour_and_overlay(art: Image.Image) -> None:
    rng = np.random.default_rng(0)
    grey = np.asarray(rd.TRANSFORMS_BY_NAME["grey"](art, rng))
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    brighter = np.asarray(rd.TRANSFORMS_BY_NAME["bright+20"](art, rng), np.float32).mean()
    assert brighter > np.asarray(art, np.float32).mean() * 1.1
    before = np.asarray(art)
    for name, low, high in (("overlay-text", 0.03, 0.12), ("overlay-logo", 0.04, 0.06)):
        changed = np.any(np.asarray(rd.TRANSFORMS_BY_NAME[name](art, rng)) != before, axis=-1)
        rows, cols = np.nonzero(changed)
        box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1) / changed.size
        assert low <= box <= high, (name, box)
        assert rows.min() > art.height / 2  # the lower part
