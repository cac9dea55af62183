"""Offline, deterministic test data for the near-duplicate matcher: a corpus of works and a battery of edits.

The matcher's job is two-sided: given an *edited copy* of a registered work, find that work; given an
*unrelated* image, match nothing.  This module supplies both sides without any download.

The corpus (``build_corpus``) writes two sets of RGB PNGs:

* **originals**, the works one registers and then queries with edited copies (``TRANSFORMS``);
* **distractors**, never registered; queried as they are, any match among them is a false positive.

The two sets are disjoint in content: no distractor is a copy, crop or edit of an original, and no image of
either set is an edit of another.  Each source guarantees this its own way (see below), and the tests check
it on pixels.  Sources, taken round-robin (``SOURCE_CYCLE``) so any count gives a mix:

* ``photo`` / ``texture`` / ``graphic``: pictures bundled inside the scikit-image and scikit-learn wheels.
  There are only about twenty, so each is cut into non-overlapping regions (a random guillotine partition,
  with a gap so neighbours share no pixel row); every region is one work, assigned to one set only.
* ``procedural``: ``artforge.generation.procedural.draw_art`` with separate seed ranges for the two sets.
* ``flag``, ``icon``, ``gradient``, ``label``: **hard negatives**.  Flat graphic art is where perceptual
  hashes fail: two flags with the same stripe layout, or two icons in the same style, differ in a few
  colours or a small shape and hash almost alike.  Each family shares one template; originals get some
  members and distractors get *other* members of the same family, so a matcher that only sees the
  template produces false positives.  Yet members stay apart by more than any edit here bridges: no
  colour edit (brightness, contrast, saturation, gamma, greyscale) brings one's colours within reach of
  another's, and no flip, quarter turn or crop maps one onto another (so icons differ by glyph, never by
  position alone).  Unless both are distractors, two images also differ in luma, since greyscale copies
  are queries.  The test runs against every earlier image of the kind, across families; a kind whose
  template space fills up (only in corpora of thousands) drops the luma rule with a warning
  rather than failing.
* ``digit``: scikit-learn's 8x8 handwritten digits, upscaled and coloured; digits of one class from
  different writers look alike, another kind of near miss.

Sizes vary (long side 160-640 px, width/height 0.5-2).  Everything is a function of ``seed`` and the
counts; the same call writes the same pixels.

The edits (``TRANSFORMS``, grouped by ``FAMILIES``) are what people do to images they pass around: JPEG
re-encoding, resizing, crops (centred, cornered, random, one-sided), borders, small and quarter-turn
rotations, flips, colour changes, blur, noise, overlaid captions and badges, and a few combinations (a
screenshot among them).  Each is ``apply(image, rng) -> image`` on RGB, deterministic given ``rng``;
``apply_all`` runs them all with independent child generators.
"""

from __future__ import annotations

import heapq
import io
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from artforge.generation.procedural import draw_art

__all__ = [
    "Corpus", "Transform", "TRANSFORMS", "TRANSFORMS_BY_NAME", "FAMILIES", "KINDS", "SOURCE_CYCLE",
    "build_corpus", "apply_all", "load_photos", "Photo",
]

MIN_LONG, MAX_LONG = 160, 640  # long side of every corpus image, px
MIN_ASPECT, MAX_ASPECT = 0.5, 2.0  # width / height

# Round-robin over sources: roughly a quarter photos, a quarter procedural, a third hard negatives, a few digits.
SOURCE_CYCLE: tuple[str, ...] = (
    "photo", "procedural", "flag", "photo", "icon", "procedural", "gradient", "photo", "label", "procedural",
    "digit",
)
# Kinds as recorded in ``Corpus.kinds`` (a "photo" slot yields photo, texture or graphic).
KINDS: tuple[str, ...] = ("photo", "texture", "graphic", "procedural", "flag", "icon", "gradient", "label", "digit")

Colour = tuple[int, int, int]


@dataclass
class Corpus:
    """What ``build_corpus`` wrote.  ``sources`` says where each image came from (for debugging and for
    grouping hard negatives: template images read ``"<kind>:f<family>/m<member>"``)."""

    originals: list[Path]
    distractors: list[Path]
    kinds: dict[Path, str]
    sources: dict[Path, str] = field(default_factory=dict)


# -- small helpers --------------------------------------------------------------------------------------
_STREAM = {"photo": 1, "procedural": 2, "flag": 3, "icon": 4, "gradient": 5, "label": 6, "digit": 7}


def _rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent stream per (corpus seed, source, ...): one source's draws never shift another's."""
    return np.random.default_rng([seed, *keys])


def _fit(aspect: float, long_side: int) -> tuple[int, int]:
    """(width, height) with the given long side and width/height ratio clamped to the allowed range."""
    aspect = min(max(aspect, MIN_ASPECT), MAX_ASPECT)
    short = min(long_side, max(math.ceil(long_side * MIN_ASPECT), round(long_side / max(aspect, 1 / aspect))))
    return (long_side, short) if aspect >= 1 else (short, long_side)


def _random_size(rng: np.random.Generator, aspects: Sequence[float] | None = None) -> tuple[int, int]:
    long_side = int(rng.integers(MIN_LONG, MAX_LONG + 1))
    if aspects is None:  # log-uniform, so portrait and landscape are equally likely
        aspect = float(np.exp(rng.uniform(math.log(MIN_ASPECT), math.log(MAX_ASPECT))))
    else:
        aspect = float(aspects[int(rng.integers(len(aspects)))])
    return _fit(aspect, long_side)


_LUMA = np.float32([0.299, 0.587, 0.114])


def _luma(c: Sequence[float]) -> float:
    return float(np.dot(np.float32(c), _LUMA))


def _contrasting(a: Sequence[float], b: Sequence[float]) -> bool:
    """Foreground on background that stays visible in greyscale."""
    return abs(_luma(a) - _luma(b)) >= 60


def _colour_edits(colours: np.ndarray) -> np.ndarray:
    """(k, 3) colours -> (E, k, 3): the colours after each global colour edit in ``TRANSFORMS``
    (contrast taken about mid-grey, where PIL uses the image mean: the tolerance below covers it)."""
    c = colours.astype(np.float32)
    grey = (c @ _LUMA)[:, None]
    edits = [c, c * 1.2, c * 0.8, 128 + (c - 128) * 1.2, 128 + (c - 128) * 0.8, grey + (c - grey) * 1.5,
             grey + (c - grey) * 0.5, np.repeat(grey, 3, axis=1), 255 * (c / 255) ** 0.8]
    return np.clip(np.stack(edits), 0, 255)


_EDIT_REACH = 40  # RGB distance under which two colours count as the same after an edit
_GREY_REACH = 25  # luma difference under which two images' greyscale copies count as the same


def _confusable(a: Sequence[Colour], b: Sequence[Colour], strict: bool) -> bool:
    """Could two flat images with these corresponding colours be taken for one another?

    Yes when one colour edit brings every colour of one within 40 (RGB) of the other's.  ``strict`` (used
    unless both images are distractors, since greyscale copies are queries) also when every luma is within
    25: the greyscale copy of one would then be as near the other as its own original.
    """
    x, y = np.float32(a), np.float32(b)
    if strict and np.all(np.abs(x @ _LUMA - y @ _LUMA) < _GREY_REACH):
        return True
    for one, other in ((x, y), (y, x)):
        worst = np.linalg.norm(_colour_edits(one) - other[None], axis=2).max(axis=1)  # per edit
        if worst.min() < _EDIT_REACH:
            return True
    return False


def _aspects(a: tuple[int, int], b: tuple[int, int]) -> tuple[bool, bool]:
    """(same shape, shapes a quarter turn apart), within 15 %: whether an edit could relate two frames."""
    ra, rb = math.log(a[0] / a[1]), math.log(b[0] / b[1])
    return abs(ra - rb) < math.log(1.15), abs(ra + rb) < math.log(1.15)


def _random_colour(rng: np.random.Generator) -> Colour:
    return tuple(int(v) for v in rng.integers(0, 256, 3))  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


@dataclass(frozen=True)
class _Recipe:
    """One corpus image, not yet drawn (so a large corpus is never all in memory)."""

    kind: str
    source: str
    render: Callable[[], Image.Image]


def _split(recipes: list[_Recipe], n_orig: int, n_dist: int) -> tuple[list[_Recipe], list[_Recipe]]:
    """Originals first, then distractors; a source that ran short leaves both sets short in proportion."""
    cut = n_orig if len(recipes) >= n_orig + n_dist else round(len(recipes) * n_orig / max(1, n_orig + n_dist))
    return recipes[:cut], recipes[cut:n_orig + n_dist]


# -- bundled photographs --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Photo:
    """A bundled picture, ready to cut into regions."""

    name: str  # "skimage:astronaut", "sklearn:china.jpg"
    kind: str  # photo, texture or graphic
    pixels: np.ndarray  # (H, W, 3) uint8, long side at most MAX_LONG (region boxes refer to these pixels)


# Left out on purpose: cat (the same pixels as chelsea), stereo_motorcycle's right view (a near-duplicate of
# the left), synthetic binary or flat images (binary_blobs, checkerboard, horse, shepp_logan_phantom) whose
# regions would repeat each other, thumbnails (microaneurysms, lfw_subset), and the images that scikit-image
# fetches over the network (brain, eagle, lily, ...), which fail offline anyway.
_SKIMAGE = {
    "astronaut": "photo", "camera": "photo", "coffee": "photo", "chelsea": "photo", "rocket": "photo",
    "coins": "photo", "moon": "photo", "page": "photo", "text": "photo", "clock": "photo", "cell": "photo",
    "hubble_deep_field": "photo", "immunohistochemistry": "photo", "retina": "photo",
    "stereo_motorcycle": "photo", "brick": "texture", "grass": "texture", "gravel": "texture",
    "colorwheel": "graphic", "logo": "graphic",
}


def _as_rgb8(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype != np.uint8:
        scale = 255.0 if array.dtype == bool or array.max() <= 1.0 else 1.0
        array = np.clip(array.astype(np.float64) * scale, 0, 255).round().astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.shape[2] == 4:  # composite on white
        alpha = array[..., 3:4].astype(np.float32) / 255
        array = (array[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(array[..., :3])


def _capped(array: np.ndarray) -> np.ndarray:
    """Shrink to MAX_LONG on the long side, so no large photo (retina is 1411 px) dominates the regions."""
    h, w = array.shape[:2]
    if max(h, w) <= MAX_LONG:
        return array
    image = Image.fromarray(array).resize(_fit(w / h, MAX_LONG), Image.Resampling.LANCZOS)
    return np.asarray(image)


@lru_cache(maxsize=1)
def load_photos() -> tuple[Photo, ...]:
    """The bundled photographs that load offline here, in a fixed order; failures are skipped."""
    photos: list[Photo] = []
    try:
        import skimage.data as skdata
    except ImportError:
        skdata = None
    for name, kind in _SKIMAGE.items():
        if skdata is None:
            break
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = getattr(skdata, name)()
        except Exception:  # noqa: BLE001 - optional data: a missing file or absent fetcher just means skip
            continue
        if isinstance(data, tuple):  # stereo_motorcycle: (left, right, disparity); the left view only
            data = data[0]
        photos.append(Photo(f"skimage:{name}", kind, _capped(_as_rgb8(data))))
    try:
        from sklearn.datasets import load_sample_images

        bunch = load_sample_images()
        for filename, data in zip(bunch.filenames, bunch.images):
            photos.append(Photo(f"sklearn:{Path(filename).name}", "photo", _capped(_as_rgb8(data))))
    except Exception:  # noqa: BLE001 - same: optional bundled data
        pass
    return tuple(photos)


_GAP = 4  # px trimmed off every side of a tile, so two regions never share a border row
_MIN_TILE = 72  # a tile is not split below this side (before trimming)


def _usable_box(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The tile trimmed by the gap and centre-cropped to the allowed aspect range."""
    left, top, right, bottom = box[0] + _GAP, box[1] + _GAP, box[2] - _GAP, box[3] - _GAP
    w, h = right - left, bottom - top
    if w > h * MAX_ASPECT:
        excess = w - int(h * MAX_ASPECT)
        left, right = left + excess // 2, right - (excess - excess // 2)
    elif h > w / MIN_ASPECT:
        excess = h - int(w / MIN_ASPECT)
        top, bottom = top + excess // 2, bottom - (excess - excess // 2)
    return left, top, right, bottom


def _has_content(pixels: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Reject near-flat regions (retina's black corners, empty sky): two of them would be near-duplicates."""
    region = pixels[box[1]:box[3]:2, box[0]:box[2]:2].astype(np.float32) @ _LUMA
    if region.std() < 6:
        return False
    return float(np.mean(np.abs(region - np.median(region)) <= 4)) < 0.8


def _photo_regions(photos: Sequence[Photo], demand: int, rng: np.random.Generator) -> list[tuple[int, tuple]]:
    """At least ``demand`` non-overlapping, non-flat regions (photo index, box) if the photos allow, shuffled.

    A guillotine partition: repeatedly split the (jittered) largest tile across its long side at 30-70 %.
    Tiles partition each photo, so regions never overlap.
    """
    heap: list[tuple[float, int, int, tuple[int, int, int, int]]] = []
    valid: dict[tuple[int, tuple], bool] = {}
    counter = 0

    def add(index: int, box: tuple[int, int, int, int]) -> None:
        nonlocal counter
        area = (box[2] - box[0]) * (box[3] - box[1])
        heapq.heappush(heap, (-area * rng.uniform(0.6, 1.4), counter, index, box))
        counter += 1
        valid[(index, box)] = _has_content(photos[index].pixels, _usable_box(box))

    for index, photo in enumerate(photos):
        h, w = photo.pixels.shape[:2]
        add(index, (0, 0, w, h))
    while heap and sum(valid.values()) < demand:
        _, _, index, box = heapq.heappop(heap)
        left, top, right, bottom = box
        w, h = right - left, bottom - top
        if max(w, h) < 2 * _MIN_TILE:
            continue  # too small to split; stays a leaf
        del valid[(index, box)]
        at = rng.uniform(0.3, 0.7)
        if w >= h:
            cut = min(max(left + round(w * at), left + _MIN_TILE), right - _MIN_TILE)
            add(index, (left, top, cut, bottom))
            add(index, (cut, top, right, bottom))
        else:
            cut = min(max(top + round(h * at), top + _MIN_TILE), bottom - _MIN_TILE)
            add(index, (left, top, right, cut))
            add(index, (left, cut, right, bottom))
    leaves = sorted(key for key, ok in valid.items() if ok)
    order = rng.permutation(len(leaves))
    return [(leaves[i][0], _usable_box(leaves[i][1])) for i in order[:demand]]


def _photo_recipes(n_orig: int, n_dist: int, seed: int) -> tuple[list[_Recipe], list[_Recipe]]:
    photos = load_photos()
    rng = _rng(seed, _STREAM["photo"])
    regions = _photo_regions(photos, n_orig + n_dist, rng)
    recipes = []
    for index, box in regions:
        photo = photos[index]
        w, h = box[2] - box[0], box[3] - box[1]
        long_side = min(MAX_LONG, max(MIN_LONG, round(max(w, h) * rng.uniform(0.8, 2.0))))
        size = _fit(w / h, long_side)

        def render(pixels: np.ndarray = photo.pixels, box: tuple = box, size: tuple = size) -> Image.Image:
            region = Image.fromarray(pixels[box[1]:box[3], box[0]:box[2]])
            return region if region.size == size else region.resize(size, Image.Resampling.LANCZOS)

        recipes.append(_Recipe(photo.kind, f"{photo.name} box={box}", render))
    return _split(recipes, n_orig, n_dist)  # shuffled already


# -- procedural art -------------------------------------------------------------------------------------
_SEED_SPAN = 5_000_000  # originals and distractors draw from disjoint seed ranges of this length


def _procedural_recipes(n_orig: int, n_dist: int, seed: int) -> tuple[list[_Recipe], list[_Recipe]]:
    base = 10_000_000 * (seed + 1)

    def make(art_seed: int) -> _Recipe:
        size = _random_size(_rng(seed, _STREAM["procedural"], art_seed))
        return _Recipe("procedural", f"draw_art:{art_seed}", lambda: draw_art(art_seed, size).convert("RGB"))

    return ([make(base + i) for i in range(n_orig)], [make(base + _SEED_SPAN + i) for i in range(n_dist)])


# -- hard negatives: template families ------------------------------------------------------------------
_FLAG_COLOURS: tuple[Colour, ...] = (
    (255, 255, 255), (0, 0, 0), (206, 17, 38), (0, 56, 147), (0, 122, 61), (252, 209, 22), (255, 130, 0),
    (117, 170, 219), (128, 0, 32), (0, 150, 214),
)
_FLAG_WEIGHTS = {2: ((1, 1), (2, 1)), 3: ((1, 1, 1), (1, 2, 1), (1, 1, 2)), 4: ((1, 1, 1, 1), (2, 1, 1, 2))}
_GLYPHS = ("circle", "square", "triangle", "diamond", "plus", "star", "ring")
_BRANDS = (
    "ACME", "NORDIC", "SUNNY", "GOLDEN", "BLUE BAY", "OLD MILL", "ALPINE", "MERIDIAN", "COPPER", "HARBOUR",
    "LANTERN", "MAPLE", "ORCHID", "PIONEER", "QUARRY", "RIVERSIDE", "SAFFRON", "TIMBER", "VELVET", "WILLOW",
)
_PRODUCTS = (
    "Fresh Milk", "Rye Bread", "Green Tea", "Dark Roast", "Olive Oil", "Wild Honey", "Sea Salt", "Apple Juice",
    "Oat Flakes", "Tomato Soup", "Lemonade", "Peanut Butter", "Rice Crackers", "Hot Sauce", "Mint Candy",
    "Goat Cheese", "Corn Flour", "Berry Jam", "Cocoa", "Sparkling Water", "Pale Ale", "Ginger Beer", "Soap Bar",
    "Hand Cream", "Dish Soap", "Paper Towels", "Dog Biscuits", "Bird Seed", "Lamp Oil", "Fig Rolls",
    "Pickled Onions", "Cider Vinegar", "Maple Syrup", "Walnut Cake", "Chili Flakes", "Lentil Stew",
)
_MEMBERS = 4  # per family: members 0-1 go to the originals, 2-3 to the distractors
_TRIES = 100


class _Exhausted(Exception):
    """No member far enough from everything drawn so far; the family retries with a new template."""


def _pick(rng: np.random.Generator, make: Callable[[], dict], ok: Callable[[dict], bool]) -> dict:
    for _ in range(_TRIES):
        candidate = make()
        if ok(candidate):
            return candidate
    raise _Exhausted


class _Families:
    """Template families of one kind.

    A family is a template (``template``) and ``_MEMBERS`` variants of it (``variant``).  Every new member
    is checked (``alike``) against *every* image of the kind drawn so far, in any family: so members of one
    family stay apart, and two families that happen to share a template cannot produce look-alikes either.
    Unless both images are distractors it is stricter (``strict``): their greyscale copies are queries.
    """

    kind = ""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.drawn: list[dict] = []
        self.families: list[list[dict]] = []
        self.relaxed = 0  # families drawn without the strict (luma) check, the template space being full

    def member(self, family: int, member: int) -> _Recipe:
        while len(self.families) <= family:
            self._new_family(len(self.families))
        spec = self.families[family][member]
        return _Recipe(self.kind, f"{self.kind}:f{family}/m{member}", lambda: self.draw(spec))

    def _new_family(self, family: int) -> None:
        rng = _rng(self.seed, _STREAM[self.kind], family)
        for strict in (True, False):
            for _ in range(50):
                template = self.template(rng)
                members: list[dict] = []
                try:
                    for m in range(_MEMBERS):
                        original = m < _MEMBERS // 2
                        members.append(_pick(
                            rng, lambda: {**self.variant(template, members, rng), "original": original},
                            lambda c: not self.clashes(c, self.drawn + members, strict)))
                except _Exhausted:
                    continue
                self.drawn.extend(members)
                self.families.append(members)
                if not strict:
                    self.relaxed += 1
                    warnings.warn(f"{self.kind} family {family}: lumas may coincide (template space full)",
                                  stacklevel=2)
                return
        raise RuntimeError(f"could not draw {self.kind} family {family}: template space exhausted")

    def clashes(self, candidate: dict, others: list[dict], strict: bool) -> bool:
        """Whether ``candidate`` is ``alike`` any of ``others`` (strictly unless both are distractors)."""
        return any(self.alike(candidate, other, strict and (candidate["original"] or other["original"]))
                   for other in others)

    def template(self, rng: np.random.Generator) -> dict:
        raise NotImplementedError

    def variant(self, template: dict, members: list[dict], rng: np.random.Generator) -> dict:
        raise NotImplementedError

    def alike(self, a: dict, b: dict, strict: bool) -> bool:
        raise NotImplementedError

    def draw(self, spec: dict) -> Image.Image:
        raise NotImplementedError


class _Flags(_Families):
    """Stripes (2-4, horizontal or vertical, fixed proportions), optional central emblem; members recolour."""

    kind = "flag"

    def template(self, rng: np.random.Generator) -> dict:
        n = int(rng.integers(2, 5))
        weights = _FLAG_WEIGHTS[n][int(rng.integers(len(_FLAG_WEIGHTS[n])))]
        return {
            "size": _random_size(rng, aspects=(1.5, 5 / 3, 2.0, 4 / 3, 1.0, 2 / 3)),
            "vertical": bool(rng.random() < 0.5), "weights": weights,
            "emblem": (None, "disc", "square")[int(rng.integers(3))],
        }

    def variant(self, template: dict, members: list[dict], rng: np.random.Generator) -> dict:
        stripes: list[int] = []
        for _ in template["weights"]:  # neighbouring stripes differ
            choices = [i for i in range(len(_FLAG_COLOURS)) if not stripes or i != stripes[-1]]
            stripes.append(choices[int(rng.integers(len(choices)))])
        emblem = None
        if template["emblem"]:
            n = len(stripes)
            under = {stripes[n // 2], stripes[(n - 1) // 2]}
            choices = [i for i in range(len(_FLAG_COLOURS)) if i not in under]
            emblem = choices[int(rng.integers(len(choices)))]
        return {**template, "stripes": tuple(stripes), "emblem_colour": emblem}

    def alike(self, a: dict, b: dict, strict: bool) -> bool:
        # Flips reverse the stripe order and a quarter turn swaps orientation and shape: compare modulo both.
        if len(a["stripes"]) != len(b["stripes"]) or a["emblem"] != b["emblem"]:
            return False
        if a["weights"] != b["weights"] and a["weights"] != b["weights"][::-1]:
            return False
        same, turned = _aspects(a["size"], b["size"])
        if not ((same and a["vertical"] == b["vertical"]) or (turned and a["vertical"] != b["vertical"])):
            return False
        colours_a = [_FLAG_COLOURS[i] for i in a["stripes"]]
        extra_a = [_FLAG_COLOURS[a["emblem_colour"]]] if a["emblem"] else []
        extra_b = [_FLAG_COLOURS[b["emblem_colour"]]] if b["emblem"] else []
        return any(_confusable(colours_a + extra_a, [_FLAG_COLOURS[i] for i in order] + extra_b, strict)
                   for order in (b["stripes"], b["stripes"][::-1]))

    def draw(self, spec: dict) -> Image.Image:
        w, h = spec["size"]
        image = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(image)
        extent = w if spec["vertical"] else h
        edges = np.round(np.cumsum((0,) + spec["weights"]) / sum(spec["weights"]) * extent).astype(int)
        for colour, start, stop in zip(spec["stripes"], edges[:-1], edges[1:]):
            box = (start, 0, stop - 1, h - 1) if spec["vertical"] else (0, start, w - 1, stop - 1)
            draw.rectangle(box, fill=_FLAG_COLOURS[colour])
        if spec["emblem"]:
            r = 0.22 * min(w, h)
            box = (w / 2 - r, h / 2 - r, w / 2 + r, h / 2 + r)
            fill = _FLAG_COLOURS[spec["emblem_colour"]]
            (draw.ellipse if spec["emblem"] == "disc" else draw.rectangle)(box, fill=fill)
        return image


class _Icons(_Families):
    """One glyph on a flat background; a family shares colours, scale and position, members differ by glyph.

    Not by position alone: on a flat background a moved glyph is a crop, pad or flip of the other image.
    """

    kind = "icon"

    def template(self, rng: np.random.Generator) -> dict:
        background = _random_colour(rng)
        foreground = _pick(rng, lambda: {"c": _random_colour(rng)}, lambda c: _contrasting(c["c"], background))
        return {
            "size": _random_size(rng, aspects=(1.0, 1.0, 4 / 3, 3 / 4, 16 / 9, 9 / 16)),
            "background": background, "foreground": foreground["c"],
            "scale": float(rng.uniform(0.18, 0.3)),  # radius / short side: the glyph stays inside
            "centre": tuple(float(v) for v in rng.choice([0.35, 0.5, 0.65], 2)),
        }

    def variant(self, template: dict, members: list[dict], rng: np.random.Generator) -> dict:
        unused = [g for g in range(len(_GLYPHS)) if g not in {spec["glyph"] for spec in members}]
        return {**template, "glyph": unused[int(rng.integers(len(unused)))]}

    def alike(self, a: dict, b: dict, strict: bool) -> bool:
        # Position and scale are ignored on purpose: crops and pads move and grow a glyph.
        return (a["glyph"] == b["glyph"] and any(_aspects(a["size"], b["size"]))
                and _confusable([a["background"], a["foreground"]], [b["background"], b["foreground"]], strict))

    def draw(self, spec: dict) -> Image.Image:
        w, h = spec["size"]
        image = Image.new("RGB", (w, h), spec["background"])
        draw = ImageDraw.Draw(image)
        r = spec["scale"] * min(w, h)
        cx, cy = spec["centre"][0] * w, spec["centre"][1] * h
        fill = spec["foreground"]
        glyph = _GLYPHS[spec["glyph"]]
        if glyph == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        elif glyph == "ring":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
            draw.ellipse((cx - r * 0.55, cy - r * 0.55, cx + r * 0.55, cy + r * 0.55), fill=spec["background"])
        elif glyph == "square":
            s = r * 0.85
            draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=fill)
        elif glyph == "triangle":
            draw.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.75), (cx - r * 0.95, cy + r * 0.75)], fill=fill)
        elif glyph == "diamond":
            draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=fill)
        elif glyph == "plus":
            t = r * 0.33
            draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=fill)
            draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=fill)
        else:  # five-pointed star
            points = [(cx + (r if k % 2 == 0 else r * 0.42) * math.sin(k * math.pi / 5),
                       cy - (r if k % 2 == 0 else r * 0.42) * math.cos(k * math.pi / 5)) for k in range(10)]
            draw.polygon(points, fill=fill)
        return image


def _axis_distance(a: float, b: float) -> float:
    """Degrees between gradient axes ``a`` and ``b``, modulo flips and quarter turns (and so modulo 180)."""
    return min(min((a - x) % 180, 180 - (a - x) % 180) for x in (b, -b, 90 + b, 90 - b))


def _ramp(stops: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Colours at positions ``t`` in [0, 1] of a piecewise-linear gradient through ``stops`` (k, 3)."""
    x = t * (len(stops) - 1)
    low = np.minimum(x.astype(int), len(stops) - 2)
    return stops[low] + (x - low)[..., None] * (stops[low + 1] - stops[low])


_SAMPLES = np.linspace(0, 1, 9, dtype=np.float32)
# The sub-ranges crops keep: 5-30 % removed, at either end or evenly.
_CROP_SPANS = np.float32([(f * p, f * p + 1 - p) for p in (0.05, 0.1, 0.2, 0.3) for f in (0, 0.5, 1)])


def _gradient_arrays(colours: Sequence[Colour]) -> dict[str, np.ndarray]:
    """Everything the look-alike test needs, computed once per gradient: its stops (both directions), their
    colour edits and lumas, its sampled ramp (both directions) and the sub-ranges crops would keep."""
    stops = np.float32(colours)
    both = np.stack([stops, stops[::-1]])  # (2, k, 3)
    curve = _ramp(stops, _SAMPLES)
    parts = _ramp(stops, _CROP_SPANS[:, :1] + _SAMPLES * (_CROP_SPANS[:, 1:] - _CROP_SPANS[:, :1]))
    return {"stops": both, "edits": np.stack([_colour_edits(s) for s in both]), "lumas": both @ _LUMA,
            "curves": np.stack([curve, curve[::-1]]), "parts": parts}


class _Gradients(_Families):
    """Linear (fixed axis) or radial (fixed centre) gradients through 2-3 colours.  Members change the
    colours, or, in linear families, sometimes keep them and turn the axis by 35-55 degrees."""

    kind = "gradient"

    def template(self, rng: np.random.Generator) -> dict:
        return {
            "size": _random_size(rng), "radial": bool(rng.random() < 0.4), "stops": int(rng.integers(2, 4)),
            "angle": float(rng.uniform(0, 180)), "centre": tuple(float(v) for v in rng.uniform(0.2, 0.8, 2)),
        }

    def variant(self, template: dict, members: list[dict], rng: np.random.Generator) -> dict:
        if members and not template["radial"] and rng.random() < 0.3:
            turn = float(rng.uniform(35, 55)) * (1 if rng.random() < 0.5 else -1)
            return {**members[0], "angle": (members[0]["angle"] + turn) % 180}
        colours = [_random_colour(rng)]
        while len(colours) < template["stops"]:  # neighbouring stops differ in luma: a visible ramp
            nxt = _pick(rng, lambda: {"c": _random_colour(rng)}, lambda c: _contrasting(c["c"], colours[-1]))
            colours.append(nxt["c"])
        return {**template, "colours": tuple(colours), "arrays": _gradient_arrays(colours)}

    def alike(self, a: dict, b: dict, strict: bool) -> bool:
        return self.clashes({**a, "original": True}, [b], strict)

    def clashes(self, candidate: dict, others: list[dict], strict: bool) -> bool:
        # Vectorised over ``others``: gradients are many and the test is the costliest of the kinds.
        # Aspect is ignored: a smooth ramp looks the same stretched, and most hashes squash images anyway.
        # Radial: crops move the centre anywhere nearby, so the colours alone decide.
        others = [o for o in others if o["radial"] == candidate["radial"]
                  and (candidate["radial"] or _axis_distance(candidate["angle"], o["angle"]) < 20)]
        if not others:
            return False
        c = candidate["arrays"]
        k = len(candidate["colours"])
        same_k = [o["arrays"] for o in others if len(o["colours"]) == k]
        if same_k:
            stops = np.stack([o["stops"] for o in same_k])  # (N, 2, k, 3), both directions
            edits = np.stack([o["edits"][0] for o in same_k])  # (N, E, k, 3)
            # One colour edit brings every stop of one within reach of the other's (either direction).
            ours = np.linalg.norm(c["edits"][0][None, :, None] - stops[:, None], axis=-1).max(-1)  # (N, E, 2)
            theirs = np.linalg.norm(edits[:, :, None] - c["stops"][None, None], axis=-1).max(-1)  # (N, E, 2)
            if min(ours.min(), theirs.min()) < _EDIT_REACH:
                return True
            if strict:
                registered = [o["arrays"] for o in others
                              if len(o["colours"]) == k and (candidate["original"] or o["original"])]
                if registered:
                    lumas = np.stack([o["lumas"] for o in registered])  # (N, 2, k)
                    if (np.abs(lumas - c["lumas"][0]).max(-1) < _GREY_REACH).any():
                        return True
        # A crop keeps a sub-range of the ramp: is either one a sub-range of the other?
        curves = np.stack([o["arrays"]["curves"] for o in others])  # (N, 2, 9, 3)
        parts = np.stack([o["arrays"]["parts"] for o in others])  # (N, S, 9, 3)
        inside = np.linalg.norm(c["parts"][None, :, None] - curves[:, None], axis=-1).max(-1).min()
        around = np.linalg.norm(parts[:, :, None] - c["curves"][None, None], axis=-1).max(-1).min()
        return bool(min(inside, around) < _EDIT_REACH)

    def draw(self, spec: dict) -> Image.Image:
        w, h = spec["size"]
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        if spec["radial"]:
            t = np.hypot(x - spec["centre"][0] * w, y - spec["centre"][1] * h)
        else:
            theta = math.radians(spec["angle"])
            t = x * math.cos(theta) + y * math.sin(theta)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        pixels = _ramp(np.float32(spec["colours"]), t)
        return Image.fromarray(np.clip(pixels.round(), 0, 255).astype(np.uint8), "RGB")


class _Labels(_Families):
    """Product labels: one brand, style and layout per family; members name different products."""

    kind = "label"

    def template(self, rng: np.random.Generator) -> dict:
        background = _random_colour(rng)
        foreground = _pick(rng, lambda: {"c": _random_colour(rng)}, lambda c: _contrasting(c["c"], background))
        return {
            "size": _random_size(rng, aspects=(1.25, 1.5, 1.75, 2.0)),
            "background": background, "foreground": foreground["c"],
            "brand": _BRANDS[int(rng.integers(len(_BRANDS)))],
            "two_lines": bool(rng.random() < 0.6), "centred": bool(rng.random() < 0.6),
            "border": bool(rng.random() < 0.5), "text_height": float(rng.uniform(0.3, 0.5)),
        }

    def variant(self, template: dict, members: list[dict], rng: np.random.Generator) -> dict:
        product = _PRODUCTS[int(rng.integers(len(_PRODUCTS)))]
        if len(self.drawn) > len(_BRANDS) * len(_PRODUCTS) // 2:  # large corpora: numbered editions
            product = f"{product} No. {int(rng.integers(2, 100))}"
        return {**template, "product": product}

    def alike(self, a: dict, b: dict, strict: bool) -> bool:
        # The same words in any family, however coloured or laid out: the text is the work.
        return a["product"] == b["product"] and a["brand"] == b["brand"]

    def draw(self, spec: dict) -> Image.Image:
        w, h = spec["size"]
        image = Image.new("RGB", (w, h), spec["background"])
        draw = ImageDraw.Draw(image)
        lines = [spec["brand"], spec["product"]] if spec["two_lines"] else [f"{spec['brand']} {spec['product']}"]
        font_size = max(8, int(h * spec["text_height"] / len(lines)))
        while True:  # shrink until the longest line fits
            font = _font(font_size)
            widths = [draw.textlength(line, font=font) for line in lines]
            if max(widths) <= 0.86 * w or font_size <= 8:
                break
            font_size = max(8, int(font_size * 0.9))
        line_height = font_size * 1.25
        top = (h - line_height * len(lines)) / 2
        for i, (line, width) in enumerate(zip(lines, widths)):
            left = (w - width) / 2 if spec["centred"] else 0.07 * w
            draw.text((left, top + i * line_height), line, font=font, fill=spec["foreground"])
        if spec["border"]:
            inset = round(0.035 * min(w, h))
            draw.rectangle((inset, inset, w - 1 - inset, h - 1 - inset), outline=spec["foreground"],
                           width=max(2, min(w, h) // 50))
        return image


_FAMILY_KINDS: dict[str, type[_Families]] = {"flag": _Flags, "icon": _Icons, "gradient": _Gradients,
                                              "label": _Labels}


def _template_recipes(kind: str, n_orig: int, n_dist: int, seed: int) -> tuple[list[_Recipe], list[_Recipe]]:
    families = _FAMILY_KINDS[kind](seed)
    half = _MEMBERS // 2
    return ([families.member(k // half, k % half) for k in range(n_orig)],
            [families.member(k // half, half + k % half) for k in range(n_dist)])


# -- digits ---------------------------------------------------------------------------------------------
_COLOUR_MAPS: tuple[tuple[Colour, ...], ...] = (
    ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)),  # viridis-like
    ((0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)),  # magma-like
    ((0, 0, 0), (255, 255, 255)),  # grey
    ((255, 255, 255), (70, 130, 180), (8, 29, 88)),  # ink on paper, blue
    ((0, 0, 0), (200, 0, 0), (255, 200, 0), (255, 255, 255)),  # heat
)
_DIGIT_SEPARATION = 2.0  # mean |difference| on the 0-16 scale; the closest pairs in the set are at 0.25


@lru_cache(maxsize=1)
def _digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().images  # (1797, 8, 8) float64 in 0..16


def _digit_recipes(n_orig: int, n_dist: int, seed: int) -> tuple[list[_Recipe], list[_Recipe]]:
    images = _digits()
    rng = _rng(seed, _STREAM["digit"])
    chosen: list[int] = []  # greedy: each new digit is far from every earlier one, whatever the set
    for i in rng.permutation(len(images)):
        if len(chosen) == n_orig + n_dist:
            break
        if all(np.abs(images[i] - images[j]).mean() >= _DIGIT_SEPARATION for j in chosen):
            chosen.append(int(i))
    recipes = []
    for index in chosen:
        anchors = np.float32(_COLOUR_MAPS[int(rng.integers(len(_COLOUR_MAPS)))])
        side = int(rng.integers(MIN_LONG, 401))
        smooth = bool(rng.random() < 0.5)

        def render(index: int = index, anchors: np.ndarray = anchors, side: int = side,
                   smooth: bool = smooth) -> Image.Image:
            t = images[index] / 16 * (len(anchors) - 1)
            low = np.minimum(t.astype(int), len(anchors) - 2)
            pixels = anchors[low] + (t - low)[..., None] * (anchors[low + 1] - anchors[low])
            small = Image.fromarray(pixels.round().astype(np.uint8), "RGB")
            return small.resize((side, side), Image.Resampling.BICUBIC if smooth else Image.Resampling.NEAREST)

        recipes.append(_Recipe("digit", f"sklearn:digits[{index}]", render))
    return _split(recipes, n_orig, n_dist)


# -- the corpus -----------------------------------------------------------------------------------------
def build_corpus(out_dir: Path, n_originals: int, n_distractors: int, seed: int = 0) -> Corpus:
    """Write ``n_originals`` + ``n_distractors`` RGB PNGs into ``out_dir`` and describe them.

    Sources follow ``SOURCE_CYCLE`` in both sets.  When the photos cannot be cut into enough regions (about
    470 in all), or the digits run out, the remaining slots take procedural art.  300 + 300 images take a
    few seconds; the look-alike checks of the template kinds grow with the square of the count, which
    starts to show past a few thousand.  Existing files of the same names are overwritten; other files in
    ``out_dir`` are left alone (``Corpus`` lists what belongs).
    """
    if n_originals < 0 or n_distractors < 0 or seed < 0:
        raise ValueError("counts and seed must be non-negative")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plans = [[SOURCE_CYCLE[i % len(SOURCE_CYCLE)] for i in range(n)] for n in (n_originals, n_distractors)]
    need = [Counter(plan) for plan in plans]

    made: dict[str, tuple[list[_Recipe], list[_Recipe]]] = {}
    made["photo"] = _photo_recipes(need[0]["photo"], need[1]["photo"], seed)
    made["digit"] = _digit_recipes(need[0]["digit"], need[1]["digit"], seed)
    # Slots a limited source cannot fill fall back to procedural art.
    extra = [sum(need[s][k] - len(made[k][s]) for k in ("photo", "digit")) for s in (0, 1)]
    made["procedural"] = _procedural_recipes(need[0]["procedural"] + extra[0], need[1]["procedural"] + extra[1],
                                             seed)
    for kind in _FAMILY_KINDS:
        made[kind] = _template_recipes(kind, need[0][kind], need[1][kind], seed)

    corpus = Corpus([], [], {}, {})
    for side, (plan, prefix, paths) in enumerate(zip(plans, ("orig", "dist"), (corpus.originals, corpus.distractors))):
        queues: dict[str, Iterator[_Recipe]] = {kind: iter(recipes[side]) for kind, recipes in made.items()}
        width = max(4, len(str(len(plan))))
        for i, slot in enumerate(plan):
            recipe = next(queues[slot], None) or next(queues["procedural"])
            path = out_dir / f"{prefix}-{i:0{width}d}-{recipe.kind}.png"
            image = recipe.render()
            if image.mode != "RGB":
                image = image.convert("RGB")
            image.save(path, format="PNG", compress_level=1)  # vs the default 6: 2.5x faster, 20 % larger
            paths.append(path)
            corpus.kinds[path] = recipe.kind
            corpus.sources[path] = recipe.source
    return corpus


# -- transforms -----------------------------------------------------------------------------------------
Op = Callable[[Image.Image, np.random.Generator], Image.Image]


@dataclass(frozen=True)
class Transform:
    """A named edit.  ``apply(image, rng)`` takes and returns RGB; any randomness comes from ``rng``."""

    name: str
    family: str
    apply: Op

    def __call__(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        out = self.apply(image if image.mode == "RGB" else image.convert("RGB"), rng)
        return out if out.mode == "RGB" else out.convert("RGB")


def _jpeg(quality: int) -> Op:
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            return decoded.convert("RGB")
    return op


def _resize(scale: float) -> Op:
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = image.size
        return image.resize((max(16, round(w * scale)), max(16, round(h * scale))), Image.Resampling.LANCZOS)
    return op


_ANCHORS = {"centre": (0.5, 0.5), "tl": (0.0, 0.0), "br": (1.0, 1.0)}


def _crop(fraction: float, where: str) -> Op:
    """Keep (1 - fraction) of each dimension, anchored at ``where`` (or at a random place for "rand")."""
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = image.size
        keep_w, keep_h = max(16, round(w * (1 - fraction))), max(16, round(h * (1 - fraction)))
        fx, fy = (float(v) for v in rng.random(2)) if where == "rand" else _ANCHORS[where]
        left, top = round((w - keep_w) * fx), round((h - keep_h) * fy)
        return image.crop((left, top, left + keep_w, top + keep_h))
    return op


def _crop_side(fraction: float, side: str) -> Op:
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = image.size
        dw, dh = round(w * fraction), round(h * fraction)
        box = {"left": (dw, 0, w, h), "right": (0, 0, w - dw, h), "top": (0, dh, w, h), "bottom": (0, 0, w, h - dh)}
        return image.crop(box[side])
    return op


def _frame(image: Image.Image, left: int, top: int, right: int, bottom: int, fill: Colour) -> Image.Image:
    w, h = image.size
    canvas = Image.new("RGB", (w + left + right, h + top + bottom), fill)
    canvas.paste(image, (left, top))
    return canvas


def _fill(colour: str, rng: np.random.Generator) -> Colour:
    return {"white": (255, 255, 255), "black": (0, 0, 0)}.get(colour) or _random_colour(rng)


def _pad(fraction: float, colour: str, axes: str = "xy") -> Op:
    """Add a border totalling ``fraction`` of each padded dimension, split evenly between the two sides."""
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = image.size
        dw = round(w * fraction) if "x" in axes else 0
        dh = round(h * fraction) if "y" in axes else 0
        return _frame(image, dw // 2, dh // 2, dw - dw // 2, dh - dh // 2, _fill(colour, rng))
    return op


def _inner_rectangle(w: int, h: int, angle: float) -> tuple[float, float]:
    """Largest axis-aligned rectangle inside a w x h rectangle rotated by ``angle`` radians (centred)."""
    sin_a, cos_a = abs(math.sin(angle)), abs(math.cos(angle))
    long_side, short_side = max(w, h), min(w, h)
    if short_side <= 2 * sin_a * cos_a * long_side or abs(sin_a - cos_a) < 1e-10:
        x = 0.5 * short_side  # the rectangle touches the long sides only
        return (x / sin_a, x / cos_a) if w >= h else (x / cos_a, x / sin_a)
    cos_2a = cos_a * cos_a - sin_a * sin_a
    return (w * cos_a - h * sin_a) / cos_2a, (h * cos_a - w * sin_a) / cos_2a


def _rotate(degrees: float, border: str) -> Op:
    """Rotate counter-clockwise about the centre, same canvas; ``border`` black, white, or "crop" to the
    largest rectangle without fill."""
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        fill = (255, 255, 255) if border == "white" else (0, 0, 0)
        out = image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=fill)
        if border != "crop":
            return out
        w, h = image.size
        inner_w, inner_h = _inner_rectangle(w, h, math.radians(degrees))
        inner_w, inner_h = max(16, int(inner_w) - 2), max(16, int(inner_h) - 2)  # clear of blended edge pixels
        left, top = (w - inner_w) // 2, (h - inner_h) // 2
        return out.crop((left, top, left + inner_w, top + inner_h))
    return op


def _transpose(method: Image.Transpose) -> Op:
    return lambda image, rng: image.transpose(method)


def _enhance(enhancer: type, factor: float) -> Op:
    return lambda image, rng: enhancer(image).enhance(factor)


def _grey(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.convert("L").convert("RGB")


def _gamma(gamma: float) -> Op:
    table = [round(255 * (i / 255) ** gamma) for i in range(256)]
    return lambda image, rng: image.point(table * 3)


def _blur(radius: float) -> Op:
    return lambda image, rng: image.filter(ImageFilter.GaussianBlur(radius))


def _noise(sigma: float) -> Op:
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        pixels = np.asarray(image, np.float32)
        noisy = pixels + rng.normal(0, sigma, pixels.shape).astype(np.float32)
        return Image.fromarray(np.clip(noisy.round(), 0, 255).astype(np.uint8), "RGB")
    return op


_CAPTION = "\u00a9 someone 2026"


@lru_cache(maxsize=1)
def _caption_box_at_100() -> tuple[int, int]:
    left, top, right, bottom = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox(
        (0, 0), _CAPTION, font=_font(100), stroke_width=6)
    return right - left, bottom - top


def _overlay_text(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A copyright line across the lower part: its box covers about 8 % of the image (less on narrow ones)."""
    w, h = image.size
    box_w, box_h = _caption_box_at_100()
    size = 100 * math.sqrt(0.085 * w * h / (box_w * box_h))
    size = int(max(8, min(size, 100 * 0.92 * w / box_w, 100 * 0.3 * h / box_h)))
    out = image.copy()
    draw = ImageDraw.Draw(out)
    stroke = max(1, size // 16)
    left, top, right, bottom = draw.textbbox((0, 0), _CAPTION, font=_font(size), stroke_width=stroke)
    x = (w - (right - left)) / 2 - left
    y = min(0.8 * h - (bottom - top) / 2, h - (bottom - top) - 2) - top
    draw.text((x, y), _CAPTION, font=_font(size), fill=(255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0))
    return out


def _overlay_logo(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A solid badge with a disc in it, bottom-right, about 5 % of the area (0.224 of each side)."""
    w, h = image.size
    bw, bh = max(4, round(w * 0.224)), max(4, round(h * 0.224))
    margin_x, margin_y = round(w * 0.03), round(h * 0.03)
    x1, y1 = w - margin_x, h - margin_y
    colour = _random_colour(rng)
    out = image.copy()
    draw = ImageDraw.Draw(out)
    draw.rectangle((x1 - bw, y1 - bh, x1 - 1, y1 - 1), fill=colour)
    r = 0.3 * min(bw, bh)
    cx, cy = x1 - bw / 2, y1 - bh / 2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(255 - c for c in colour))
    return out


def _screenshot(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Framed like a window or app screenshot: a uniform frame of unequal widths (title bar on top)."""
    w, h = image.size
    fill = (236, 236, 236) if rng.random() < 0.5 else (32, 33, 36)
    framed = _frame(image, round(0.03 * w), round(0.12 * h), round(0.06 * w), round(0.04 * h), fill)
    return _jpeg(80)(_resize(0.75)(framed, rng), rng)


def _chain(*ops: Op) -> Op:
    def op(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        for step in ops:
            image = step(image, rng)
        return image
    return op


def _battery() -> list[Transform]:
    t: list[Transform] = []
    t += [Transform(f"jpeg{q}", "jpeg", _jpeg(q)) for q in (90, 70, 50, 30)]
    t += [Transform(f"resize{s:g}", "resize", _resize(s)) for s in (0.25, 0.5, 0.75, 1.5, 2.0)]
    for p in (5, 10, 20, 30):
        t += [Transform(f"crop{p}-{where}", "crop", _crop(p / 100, where)) for where in ("centre", "tl", "br", "rand")]
    t += [Transform(f"crop10-{side}", "crop", _crop_side(0.10, side)) for side in ("left", "right", "top", "bottom")]
    for p in (10, 20):
        t += [Transform(f"pad{p}-{c}", "pad", _pad(p / 100, c)) for c in ("white", "black", "rand")]
    t += [Transform("pad20-letterbox", "pad", _pad(0.20, "black", "y")),
          Transform("pad20-pillarbox", "pad", _pad(0.20, "black", "x"))]
    for degrees in (2, 4, 8):
        t += [Transform(f"rotate{degrees}-{b}", "rotate", _rotate(degrees, b)) for b in ("black", "white", "crop")]
    t += [Transform("rotate90", "rotate", _transpose(Image.Transpose.ROTATE_90)),
          Transform("rotate180", "rotate", _transpose(Image.Transpose.ROTATE_180)),
          Transform("rotate270", "rotate", _transpose(Image.Transpose.ROTATE_270))]
    t += [Transform("hflip", "flip", _transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
          Transform("vflip", "flip", _transpose(Image.Transpose.FLIP_TOP_BOTTOM))]
    t += [Transform("bright+20", "colour", _enhance(ImageEnhance.Brightness, 1.2)),
          Transform("bright-20", "colour", _enhance(ImageEnhance.Brightness, 0.8)),
          Transform("contrast+20", "colour", _enhance(ImageEnhance.Contrast, 1.2)),
          Transform("contrast-20", "colour", _enhance(ImageEnhance.Contrast, 0.8)),
          Transform("sat+50", "colour", _enhance(ImageEnhance.Color, 1.5)),
          Transform("sat-50", "colour", _enhance(ImageEnhance.Color, 0.5)),
          Transform("grey", "colour", _grey),
          Transform("gamma0.8", "colour", _gamma(0.8))]
    # Stronger tone edits (issue 21): brightness and contrast by 30%, gamma both ways.
    t += [Transform("bright+30", "colour", _enhance(ImageEnhance.Brightness, 1.3)),
          Transform("bright-30", "colour", _enhance(ImageEnhance.Brightness, 0.7)),
          Transform("contrast+30", "colour", _enhance(ImageEnhance.Contrast, 1.3)),
          Transform("contrast-30", "colour", _enhance(ImageEnhance.Contrast, 0.7)),
          Transform("gamma0.6", "colour", _gamma(0.6)),
          Transform("gamma1.5", "colour", _gamma(1.5))]
    t += [Transform(f"blur{r}", "blur", _blur(r)) for r in (1, 2)]
    t += [Transform(f"noise{s}", "noise", _noise(s)) for s in (5, 10)]
    t += [Transform("overlay-text", "overlay", _overlay_text), Transform("overlay-logo", "overlay", _overlay_logo)]
    t += [
        Transform("crop10+jpeg70", "combo", _chain(_crop(0.10, "rand"), _jpeg(70))),
        Transform("resize0.5+jpeg50", "combo", _chain(_resize(0.5), _jpeg(50))),
        Transform("hflip+crop5", "combo", _chain(_transpose(Image.Transpose.FLIP_LEFT_RIGHT), _crop(0.05, "centre"))),
        Transform("rotate4-crop+jpeg70", "combo", _chain(_rotate(4, "crop"), _jpeg(70))),
        Transform("pad10-white+bright+20", "combo",
                  _chain(_pad(0.10, "white"), _enhance(ImageEnhance.Brightness, 1.2))),
        Transform("grey+crop5+jpeg70", "combo", _chain(_grey, _crop(0.05, "centre"), _jpeg(70))),
        Transform("screenshot", "combo", _screenshot),
    ]
    # Three edits in a row, as an image passed around picks them up.
    t += [
        Transform("crop10+bright+30+jpeg70", "combo3",
                  _chain(_crop(0.10, "rand"), _enhance(ImageEnhance.Brightness, 1.3), _jpeg(70))),
        Transform("rotate4-crop+contrast-30+jpeg50", "combo3",
                  _chain(_rotate(4, "crop"), _enhance(ImageEnhance.Contrast, 0.7), _jpeg(50))),
        Transform("pad10-black+gamma1.5+resize0.5", "combo3", _chain(_pad(0.10, "black"), _gamma(1.5), _resize(0.5))),
        Transform("hflip+sat-50+jpeg50", "combo3",
                  _chain(_transpose(Image.Transpose.FLIP_LEFT_RIGHT), _enhance(ImageEnhance.Color, 0.5), _jpeg(50))),
        Transform("resize0.5+crop5+bright-30", "combo3",
                  _chain(_resize(0.5), _crop(0.05, "centre"), _enhance(ImageEnhance.Brightness, 0.7))),
    ]
    return t


TRANSFORMS: list[Transform] = _battery()
TRANSFORMS_BY_NAME: dict[str, Transform] = {t.name: t for t in TRANSFORMS}
FAMILIES: list[str] = list(dict.fromkeys(t.family for t in TRANSFORMS))


def apply_all(image: Image.Image, rng: np.random.Generator) -> list[tuple[Transform, Image.Image]]:
    """Every transform applied to ``image``.  Each gets its own child generator spawned from ``rng``, so
    one transform's draws do not depend on which others run before it."""
    children = rng.spawn(len(TRANSFORMS))
    return [(transform, transform(image, child)) for transform, child in zip(TRANSFORMS, children)]
