"""The layered matcher's parts: content boxes, dihedral hashes, the persistent index, migration, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run
from PIL import Image, ImageOps
from registry_helpers import rewind_schema

from artforge.matching import index_file, layer_store
from artforge.matching.index import MatchIndex
from artforge.matching.index_file import index_path, open_index, sync_index
from artforge.matching.layers import (
    DIHEDRAL_OPS,
    FRAME,
    apply_dihedral,
    content_box,
    pdq_bits,
    query_layers,
    tile_boxes,
)
from artforge.registry.migrations import SCHEMA_VERSION
from artforge.usecases.home import Home
from artforge.usecases.register import register_images
from artforge.usecases.reindex import rebuild
from artforge.usecases.verify import verify_images


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


# --- content box -------------------------------------------------------------------------------------

@pytest.mark.parametrize("fill", ["white", "black", (40, 160, 90)])
def test_content_box_peels_a_uniform_pad(art, fill) -> None:
    image = Image.open(art(1))
    padded = ImageOps.expand(image, border=(30, 20, 50, 10), fill=fill)  # left, top, right, bottom
    box = content_box(np.asarray(padded))
    w, h = padded.size
    expected = (30 / w, 20 / h, (30 + image.width) / w, (20 + image.height) / h)
    assert np.allclose(box, expected, atol=0.015), (box, expected)


def test_content_box_keeps_the_frame_when_content_touches_the_edges(art) -> None:
    assert content_box(_rgb(art(2))) == (0.0, 0.0, 1.0, 1.0)
    blank = np.full((100, 80, 3), 200, np.uint8)
    assert content_box(blank) == (0.0, 0.0, 1.0, 1.0)


# --- dihedral hashes -----------------------------------------------------------------------------------

def test_each_turn_or_flip_is_found_among_the_query_dihedral_hashes(art) -> None:
    original = _rgb(art(3))
    stored, _ = pdq_bits(original)
    for op in DIHEDRAL_OPS:
        turned = apply_dihedral(original, op)
        query = query_layers(turned)
        distances = [int(np.unpackbits(np.bitwise_xor(stored, h)).sum()) for h in query.dihedral]
        best = int(np.argmin(distances))
        # Applying the matched variant's op to the query undoes the edit.
        assert distances[best] <= 32, (op, distances)
        assert np.array_equal(apply_dihedral(turned, DIHEDRAL_OPS[best]).shape, original.shape)


# --- alignment by search ------------------------------------------------------------------------------

def _smooth_art(width: int = 300, height: int = 200) -> np.ndarray:
    """A two-colour diagonal ramp with a soft disc: smooth art with (almost) no ORB keypoints."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (0.7 * x / width + 0.3 * y / height)[..., None]
    disc = np.exp(-(((x - 0.7 * width) ** 2 + (y - 0.35 * height) ** 2) / (2 * (0.12 * width) ** 2)))[..., None]
    rgb = (1 - t) * np.float32([30, 60, 160]) + t * np.float32([240, 200, 40]) + 60 * disc
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("keep, anchor", [(0.9, (0.0, 0.0)), (0.8, (1.0, 1.0)), (0.7, (0.3, 0.6))])
def test_search_alignment_places_a_crop_of_smooth_art_inside_the_original(keep, anchor) -> None:
    from artforge.matching.compare import search_alignment
    from artforge.matching.layers import to_grey
    original = _smooth_art()
    h, w = original.shape[:2]
    cw, ch = round(w * keep), round(h * keep)
    left, top = round((w - cw) * anchor[0]), round((h - ch) * anchor[1])
    crop = original[top:top + ch, left:left + cw]
    query = np.asarray(Image.fromarray(crop).resize((round(cw * 1.3), round(ch * 1.3)), Image.Resampling.BILINEAR))
    thumb = np.asarray(Image.fromarray(original).resize((160, 107), Image.Resampling.LANCZOS))
    found = search_alignment(query, to_grey(thumb).astype(np.float32), "identity")
    assert found is not None and found.source == "search"
    # The query's corners land where the crop's corners sit in the thumbnail (within the 5% scale step).
    qh, qw = query.shape[:2]
    corners = np.float64([[0, 0], [qw, qh]]) @ found.matrix[:, :2].T + found.matrix[:, 2]
    expected = np.float64([[left, top], [left + cw, top + ch]]) * (160 / w, 107 / h)
    assert np.abs(corners - expected).max() <= 0.05 * 160, (corners, expected)


def test_search_alignment_gives_up_on_a_flat_query() -> None:
    from artforge.matching.compare import search_alignment
    flat = np.full((120, 90, 3), 77, np.uint8)
    assert search_alignment(flat, np.random.default_rng(0).uniform(0, 255, (100, 160)).astype(np.float32),
                            "identity") is None


# --- the persistent index ----------------------------------------------------------------------------------

def test_index_file_is_written_once_the_delta_is_large_and_read_back(home: Home, art, monkeypatch) -> None:
    monkeypatch.setattr(index_file, "SNAPSHOT_EVERY", 3)
    register_images(home, [art(s) for s in range(2)], licence_id="CC0-1.0", workers=1)
    with home.registry() as registry:
        path = index_path(registry.path)
        assert not path.exists()  # a delta of 2 is read from SQLite when the index opens
        assert open_index(registry).works == 2
    register_images(home, [art(s) for s in range(2, 5)], licence_id="CC0-1.0", workers=1)
    assert path.exists()
    saved = MatchIndex.load(path)
    assert saved.works == 5 and len(saved.global_codes) >= 5 and len(saved.local_codes) > 0
    register_images(home, [art(5)], licence_id="CC0-1.0", workers=1)
    with home.registry() as registry:
        index = open_index(registry)  # the snapshot plus one row of delta
        assert index.works == 6 and MatchIndex.load(path).works == 5


def test_a_damaged_index_file_is_ignored_and_matching_still_works(home: Home, art, tmp_path: Path) -> None:
    register_images(home, [art(s) for s in range(3)], licence_id="CC0-1.0", workers=1)
    with home.registry() as registry:
        sync_index(registry, force=True)
        path = index_path(registry.path)
    path.write_bytes(b"not an index")
    cropped = tmp_path / "crop.jpg"
    image = Image.open(art(1))
    image.crop((30, 20, image.width, image.height)).save(cropped, quality=85)
    [report] = verify_images(home, [cropped], workers=1)
    assert report.verdict == "modified-copy"


def test_works_registered_before_layers_are_migrated_and_filled_in(home: Home, art, tmp_path: Path) -> None:
    ids = [w.work_id for w in register_images(home, [art(s) for s in range(3)], licence_id="CC0-1.0", workers=1)]
    # Make the registry look like schema v1: no layers table, migration 2 not applied.
    with home.registry() as registry, registry.transaction():
        rewind_schema(registry.db, 1)
    image = Image.open(art(2))
    cropped = tmp_path / "crop.jpg"
    image.crop((0, 0, int(image.width * 0.8), int(image.height * 0.8))).save(cropped, quality=85)
    with home.registry() as registry:  # reopening applies migrations 2 and 3
        assert registry.schema_version() == SCHEMA_VERSION
        assert len(layer_store.works_without_layers(registry)) == 3
    before = verify_images(home, [cropped], workers=1)[0]
    assert before.match is None or before.match.work_id == ids[2]  # never a wrong work
    result = rebuild(home, [art(s) for s in range(3)] + [art(9)], workers=1)
    assert result.layers_added == 3 and result.works_without_layers == 0
    assert result.images_unmatched == [str(art(9))]
    [after] = verify_images(home, [cropped], workers=1)
    assert after.verdict == "modified-copy" and after.match.work_id == ids[2]


def test_tone_tiles_of_works_registered_before_them_are_computed_by_rebuild(home: Home, tmp_path: Path) -> None:
    originals = []
    for seed in range(3):  # smooth art: few keypoints, so the work gets tone tiles
        path = tmp_path / f"smooth-{seed}.png"
        Image.fromarray(np.roll(_smooth_art(300 + 40 * seed, 200), 60 * seed, axis=1)).save(path)
        originals.append(path)
    ids = [w.work_id for w in register_images(home, originals, licence_id="CC0-1.0", workers=1)]
    with home.registry() as registry, registry.transaction():
        tiles = layer_store.match_layers_of(registry, ids[1])["tile_ahash"]
        assert len(tiles) == len(tile_boxes()) * 32  # registered with its tiles
        registry.db.execute("UPDATE match_layers SET tile_ahash = NULL")  # as migration 3 leaves older rows
    with home.registry() as registry:
        assert len(layer_store.rows_without_tiles(registry)) == 3
    result = rebuild(home, workers=1)
    assert result.tiles_added == 3
    with home.registry() as registry:
        assert layer_store.rows_without_tiles(registry) == []
        assert layer_store.match_layers_of(registry, ids[1])["tile_ahash"] == tiles  # the same hashes as at registration
        assert len(open_index(registry).tone_codes) == 3 * 19  # the box and 18 windows; the frame is the box


def test_tiles_computed_before_the_frame_tile_are_computed_again(home: Home, tmp_path: Path) -> None:
    path = tmp_path / "flag.png"
    Image.fromarray(_stripe_flag([(0, 150, 214), (255, 255, 255), (0, 122, 61)])).save(path)
    [work] = register_images(home, [path], licence_id="CC0-1.0", workers=1)
    with home.registry() as registry, registry.transaction():
        tiles = layer_store.match_layers_of(registry, work.work_id)["tile_ahash"]
        # As a registry of schema v3 holds it: 18 windows, no frame tile.
        layer_store.put_tile_hashes(registry, work.work_id, tiles[:18 * 32])
        rewind_schema(registry.db, 3)
    with home.registry() as registry:  # reopening applies migration 4
        assert [row["work_id"] for row in layer_store.rows_without_tiles(registry)] == [work.work_id]
    assert rebuild(home, workers=1).tiles_added == 1
    with home.registry() as registry:
        assert layer_store.match_layers_of(registry, work.work_id)["tile_ahash"] == tiles


# --- stripe art and captions on smooth art ------------------------------------------------------------

def _stripe_flag(colours: list[tuple[int, int, int]], shares: tuple[float, ...] = (0.25, 0.3, 0.45),
                 size: tuple[int, int] = (300, 200)) -> np.ndarray:
    """Horizontal stripes of the given shares of the height, like a flag."""
    width, height = size
    edges = np.round(np.cumsum((0.0,) + shares) * height).astype(int)
    flag = np.zeros((height, width, 3), np.uint8)
    for colour, top, bottom in zip(colours, edges[:-1], edges[1:]):
        flag[top:bottom] = colour
    return flag


def test_copies_of_a_stripe_flag_are_found_though_its_border_is_a_stripe(home: Home, tmp_path: Path) -> None:
    flag = _stripe_flag([(0, 150, 214), (255, 255, 255), (0, 122, 61)])
    assert content_box(flag) != FRAME  # its top and bottom stripes peel off as if they were a pad
    paths = {"flag": tmp_path / "flag.png", "sibling": tmp_path / "sibling.png"}
    Image.fromarray(flag).save(paths["flag"])
    # The same layout in other colours, registered too.
    Image.fromarray(_stripe_flag([(117, 170, 219), (206, 17, 38), (0, 122, 61)])).save(paths["sibling"])
    work, sibling = register_images(home, list(paths.values()), licence_id="CC0-1.0", workers=1)
    noise = np.random.default_rng(0).normal(0, 7, flag.shape)
    queries = {"noise": np.clip(flag + noise, 0, 255).astype(np.uint8), "crop": flag[:180, :270],
               "darker": (flag * 0.8).astype(np.uint8)}
    # The noise leaves the bottom stripe's lines less uniform, so it no longer peels: only the frames agree.
    assert content_box(queries["noise"])[3] == 1.0 and content_box(flag)[3] < 0.6
    for name, pixels in queries.items():
        Image.fromarray(pixels).save(tmp_path / f"{name}.png")
    reports = verify_images(home, [tmp_path / f"{name}.png" for name in queries], workers=1)
    for name, report in zip(queries, reports):
        best = report.candidates[0]
        assert best.work_id == work.work_id and best.kind == "modified-copy", (name, best)
        # Three plain stripes are too little to name one work (anyone may draw them): found, yet not a
        # confident verdict (tests/test_false_match_estimate.py).
        assert report.verdict == "ambiguous" and any("too little information" in n for n in report.notes), name


def test_a_caption_on_smooth_art_does_not_hide_it_from_the_tone_layer(home: Home, tmp_path: Path) -> None:
    from PIL import ImageDraw, ImageFont

    from artforge.matching.index import is_smooth, keypoints_concentrated

    original = tmp_path / "smooth.png"
    Image.fromarray(_smooth_art(360, 240)).save(original)
    [work] = register_images(home, [original], licence_id="CC0-1.0", workers=1)
    captioned = Image.open(original)
    draw = ImageDraw.Draw(captioned)
    draw.text((70, 185), "(c) someone 2026", font=ImageFont.load_default(size=22), fill=(255, 255, 255),
              stroke_width=2, stroke_fill=(0, 0, 0))
    captioned.save(tmp_path / "captioned.png")
    layers = query_layers(np.asarray(captioned))
    assert not is_smooth(layers) and keypoints_concentrated(layers)  # the caption's corners, and nothing else
    [report] = verify_images(home, [tmp_path / "captioned.png"], workers=1)
    assert report.verdict == "modified-copy" and report.match.work_id == work.work_id


# --- grey copies of flat colour art ------------------------------------------------------------------

def _badge(foreground: tuple[int, int, int], background: tuple[int, int, int]) -> Image.Image:
    """Flat two-colour art: a ring and a bar on a plain ground, like an icon of a set."""
    from PIL import ImageDraw

    image = Image.new("RGB", (240, 240), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 200, 200), outline=foreground, width=22)
    draw.rectangle((105, 70, 135, 170), fill=foreground)
    return image


def _luma_grey(image: Image.Image, weights: tuple[float, float, float]) -> Image.Image:
    grey = np.asarray(image, np.float64) @ np.array(weights)
    return Image.fromarray(np.clip(np.round(grey), 0, 255).astype(np.uint8)).convert("RGB")


def test_a_grey_copy_of_flat_colour_art_is_found_but_not_taken_for_a_sibling(home: Home, tmp_path: Path) -> None:
    original, sibling = tmp_path / "orange.png", tmp_path / "teal.png"
    _badge((240, 120, 20), (30, 40, 120)).save(original)  # lumas 145 on 46
    # The same shape in other colours, lumas 217 on 63: a tone fit maps either grey copy onto the other.
    # (Siblings of equal lumas have equal grey copies; nothing can tell those apart.)
    _badge((250, 230, 60), (20, 90, 40)).save(sibling)
    [work] = register_images(home, [original], licence_id="CC-BY-4.0", workers=1)
    queries = {"pil": tmp_path / "grey-pil.png", "bt709": tmp_path / "grey-709.png",
               "sibling": tmp_path / "grey-sibling.png"}
    Image.open(original).convert("L").save(queries["pil"])
    _luma_grey(Image.open(original), (0.2126, 0.7152, 0.0722)).save(queries["bt709"])
    Image.open(sibling).convert("L").save(queries["sibling"])
    reports = dict(zip(queries, verify_images(home, list(queries.values()), workers=1)))
    for name in ("pil", "bt709"):
        assert reports[name].verdict == "modified-copy", name
        assert reports[name].match.work_id == work.work_id
        assert reports[name].match.evidence.grey_residual <= 0.01
    # Its grey copy has the original's shape exactly, yet not its grey levels.
    assert reports["sibling"].verdict == "no-match"
    [candidate] = [c for c in reports["sibling"].candidates if c.evidence is not None]
    assert candidate.evidence.correlation > 0.99 and candidate.evidence.grey_residual > 0.05


# --- the CLI ---------------------------------------------------------------------------------------------

def _init() -> None:
    assert run("init", "--no-encrypt").exit_code == 0


def test_verify_json_streams_one_envelope_per_image_and_goes_on_after_a_bad_file(art, tmp_path: Path) -> None:
    _init()
    assert run("register", art(1), art(2), "--license", "CC-BY-4.0").exit_code == 0
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    result = run("verify", art(1), bad, art(77), "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["command"] for line in lines] == ["verify"] * 3
    assert lines[0]["data"]["verdict"] == "exact-copy" and lines[0]["exit_code"] == 0
    assert not lines[1]["ok"] and lines[1]["exit_code"] == 5 and "bad.png" in lines[1]["errors"][0]["message"]
    assert lines[2]["data"]["verdict"] == "no-match" and lines[2]["exit_code"] == 3
    assert result.exit_code == 5
    assert result.stderr.count("Error:") == 1 and len(result.stderr.strip().splitlines()) == 1


def test_verify_diff_draws_original_and_disputed_image(art, tmp_path: Path) -> None:
    _init()
    assert run("register", art(4), "--license", "CC-BY-4.0").exit_code == 0
    image = Image.open(art(4))
    disputed = tmp_path / "disputed.jpg"
    ImageOps.mirror(image.crop((40, 0, image.width, image.height))).save(disputed, quality=80)
    out = tmp_path / "diff.png"
    result = run("verify", disputed, "--diff", out)
    assert result.exit_code == 0, result.stderr
    assert f"diff: {out}" in result.stdout
    with Image.open(out) as picture:
        assert picture.height > 300 and picture.width > 2 * 300
        pixels = np.asarray(picture.convert("RGB")).reshape(-1, 3)
        assert ((pixels == (230, 40, 40)).all(axis=1)).sum() > 100  # the outline is drawn


def test_index_stats_and_rebuild(art) -> None:
    _init()
    assert run("register", art(1), art(2), "--license", "CC-BY-4.0").exit_code == 0
    stats = json.loads(run("index", "stats", "--json").stdout)["data"]
    assert stats["works"] == 2 and stats["works_with_layers"] == 2 and not stats["exists"] and stats["delta_rows"] == 2
    rebuilt = run("index", "rebuild", "--json")
    assert rebuilt.exit_code == 0
    data = json.loads(rebuilt.stdout)["data"]
    assert data["stats"]["exists"] and data["stats"]["delta_rows"] == 0 and data["stats"]["descriptors"] > 0


# --- the tone curve of the correlation ------------------------------------------------------------------

def test_correlation_follows_a_brightening_that_saturates_and_a_gamma_curve() -> None:
    from artforge.matching.cells import plain_correlation, tone_correlation

    # Flat art of a few tones, as its grey image: a brightening by 30% saturates the two lightest.
    tones = np.repeat(np.array([40.0, 90.0, 140.0, 200.0, 230.0]), 400)
    brightened = np.minimum(tones * 1.3, 255.0)
    assert tone_correlation(tones, brightened) > 0.999 > plain_correlation(tones, brightened) + 0.01
    gamma = 255.0 * (tones / 255.0) ** 0.6
    assert tone_correlation(tones, gamma) > 0.999 > plain_correlation(tones, gamma)
    # An unrelated image gains nothing: the curve cannot make up structure.
    rng = np.random.default_rng(0)
    other = rng.permutation(tones)
    assert tone_correlation(tones, other) < 0.1


def test_colour_edits_of_saturated_flat_art_fit_and_inverted_colours_do_not() -> None:
    from artforge.matching import calibration as cal
    from artforge.matching.colour import colour_edit_residual

    # Black and yellow halves: every value is 0, 255 or near one of them but yellow's green and blue,
    # too few to pin an edit down on their own.
    reference = np.repeat(np.array([[0, 0, 0], [255, 210, 30]], np.float64), 500, axis=0)
    assert colour_edit_residual(reference, reference) < 0.005
    darker = np.clip(reference * 0.8, 0, 255)
    assert colour_edit_residual(reference, darker) < 0.005
    luma = (reference @ np.array([0.299, 0.587, 0.114]))[:, None]
    saturated = np.clip(luma + 1.5 * (reference - luma), 0, 255)  # clipped at 255 in red and 0 in blue
    assert colour_edit_residual(reference, saturated) < 0.02  # the clipped values bend the fit a little
    # Another flag's colours are no edit of these, even though a negative gain would come close.
    other = np.repeat(np.array([[0, 0, 0], [97, 150, 199]], np.float64), 500, axis=0)
    assert colour_edit_residual(reference, other) > cal.MAX_COLOUR_RESIDUAL
    negative = 255.0 - reference
    assert colour_edit_residual(reference, negative) > cal.MAX_COLOUR_RESIDUAL


def test_a_forked_process_can_search_after_its_parent_searched_in_parallel() -> None:
    """libgomp's threads are not forked: without the fork hook the child's search waits for them for ever."""
    import multiprocessing

    from artforge.matching.faiss_runtime import load_faiss

    faiss = load_faiss()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(np.random.default_rng(0).integers(0, 256, (200_000, 32), dtype=np.uint8))
    queries = np.random.default_rng(1).integers(0, 256, (8, 32), dtype=np.uint8)
    faiss.omp_set_num_threads(2)
    flat.search(queries, 5)  # the parent's OpenMP team now exists
    child = multiprocessing.get_context("fork").Process(target=flat.search, args=(queries, 5))
    child.start()
    child.join(120)
    hung = child.is_alive()
    if hung:
        child.kill()
    faiss.omp_set_num_threads(1)
    assert not hung and child.exitcode == 0
