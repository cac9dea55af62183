"""Prompts that compose: roles from word positions, natural phrasings, held-out pairs, unknown words, the word
head, and checkpoints made with the GRU encoder before slots existed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from cli_helpers import run, run_json
from PIL import Image

from artforge.errors import UsageError
from artforge.generation.data import shapes_dataset, to_float
from artforge.generation.model_checkpoint import load_checkpoint, save_checkpoint
from artforge.generation.models.text import Vocabulary, roles
from artforge.generation.recipes import Batch, OptimConfig, build_recipe, spec_for
from artforge.generation.sampling import generate_images, load_model, sample
from artforge.generation.training import TrainConfig, train

TINY = {"g_width": 8, "d_width": 8}


def _train(out: Path, data: str = "builtin:shapes", **options) -> str:
    config = TrainConfig(model="cgan", data=data, image_size=16, batch_size=16, steps=3, out=str(out),
                         data_limit=64, model_options={**TINY, **options}, sample_every=100, checkpoint_every=100)
    return train(config).checkpoint


@pytest.fixture(scope="module")
def slots_checkpoint(tmp_path_factory) -> str:
    return _train(tmp_path_factory.mktemp("slots") / "run")


def _condition(model, prompt: str) -> torch.Tensor:
    with torch.no_grad():
        return model.recipe.sampler().conditioner(model.condition_input(1, None, prompt))


def test_roles_come_from_word_positions() -> None:
    assert roles("a red triangle on green") == [("red", "subject"), ("triangle", "subject"), ("green", "background")]
    for phrasing in ("red triangle on a green background", "a green background with a red triangle",
                     "red triangle, green background", "a red triangle against a green backdrop"):
        assert sorted(roles(phrasing)) == sorted(roles("a red triangle on green")), phrasing
    assert roles("a green circle on red") != roles("a red circle on green")  # order still matters across roles


def test_natural_phrasing_gives_the_caption_condition(slots_checkpoint: str) -> None:
    model = load_model(slots_checkpoint)
    assert model.condition.encoder == "slots" and model.recipe.config.aux_dim > 0
    caption = _condition(model, "a red triangle on green")
    for phrasing in ("red triangle on a green background", "A red triangle, on a green background.",
                     "green background with a red triangle"):
        assert torch.allclose(_condition(model, phrasing), caption, atol=1e-6), phrasing
    assert not torch.allclose(_condition(model, "a green triangle on red"), caption)


def test_held_out_combination_encodes_and_samples(tmp_path: Path) -> None:
    shapes = shapes_dataset(96, 16, seed=3)
    folder = tmp_path / "data"
    folder.mkdir()
    rows = []
    for index, (image, caption) in enumerate(zip(shapes.images, shapes.captions)):
        if "red triangle" in caption:  # the pair is never seen together; red and triangle are seen apart
            continue
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{index:03d}.png")
        rows.append((f"{index:03d}.png", caption))
    with open(folder / "captions.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("file", "caption"), *rows])
    assert any("red" in c for _, c in rows) and any("triangle" in c for _, c in rows)
    model = load_model(_train(tmp_path / "run", str(folder)))
    images = sample(model, [0, 1], prompt="a red triangle on a green background")
    assert images.shape == (2, 3, 16, 16) and torch.isfinite(images).all()
    assert not torch.allclose(_condition(model, "a red triangle on green"), _condition(model, "a red circle on green"))


def test_unknown_words_are_a_warning_naming_them(slots_checkpoint: str, tmp_path: Path) -> None:
    result, _ = generate_images(slots_checkpoint, tmp_path / "gen", [0], prompt="a shiny red triangle on velvet")
    assert len(result.notes) == 1 and "knows nothing of: shiny, velvet " in result.notes[0]
    on_blue, _ = generate_images(slots_checkpoint, tmp_path / "gen", [0], prompt="a red triangle on blue")
    assert on_blue.notes and "blue (never a background in training)" in on_blue.notes[0]
    assert result.to_dict()["notes"] == result.notes
    with pytest.raises(UsageError, match="no word in the prompt is one the model knows"):
        sample(load_model(slots_checkpoint), [0], prompt="a shiny thing")

    code, envelope = run_json("generate", slots_checkpoint, "-n", "1", "--prompt", "a shiny red circle",
                              "--out", tmp_path / "cli")
    assert code == 0 and "shiny" in envelope["data"]["notes"][0]
    shown = run("generate", slots_checkpoint, "-n", "1", "--prompt", "a shiny red circle", "--out", tmp_path / "cli")
    assert shown.exit_code == 0 and "Warning:" in shown.stderr and "shiny" in shown.stderr
    assert "shiny" not in shown.stdout
    refused = run("generate", slots_checkpoint, "-n", "1", "--prompt", "shiny velvet", "--out", tmp_path / "cli")
    assert refused.exit_code == 2 and refused.stderr.startswith("Error: ") and refused.stderr.count("\n") == 1
    assert "shiny" in refused.stderr


def test_gru_era_checkpoint_still_loads_and_samples(tmp_path: Path) -> None:
    trained = load_checkpoint(_train(tmp_path / "run", encoder="gru"))
    data = dict(trained.data)
    # As the GRU-era code wrote it: no encoder in the condition, no film/aux_dim in the architecture.
    spec = {**data["spec"], "condition": {k: v for k, v in data["spec"]["condition"].items() if k != "encoder"},
            "config": {k: v for k, v in data["spec"]["config"].items() if k not in ("film", "aux_dim")}}
    data["spec"] = spec
    data.pop("format", None)
    old = tmp_path / "old.pt"
    save_checkpoint(old, data)
    model = load_model(old)
    assert model.condition.encoder == "gru" and not model.vocabulary.slots
    red, blue = sample(model, [0], prompt="a red circle on black"), sample(model, [0], prompt="a blue circle on black")
    assert red.shape == (1, 3, 16, 16) and not torch.equal(red, blue)
    with pytest.raises(UsageError, match="unknown word.*pink"):  # the GRU reads whole sequences: still refused
        sample(model, [0], prompt="a pink circle")


def test_word_head_learns_the_words_of_real_images() -> None:
    torch.manual_seed(0)
    shapes = shapes_dataset(64, 16, seed=5)
    vocabulary = Vocabulary.from_captions(shapes.captions, slots=True)
    info = {"image_size": 16, "channels": 3, "class_names": []}
    spec = spec_for("cgan", info, vocabulary=vocabulary.words, overrides=dict(TINY))
    recipe = build_recipe(spec, OptimConfig(augment="none", amp="off"), torch.device("cpu"))
    batch = Batch(to_float(shapes.images), tokens=vocabulary.batch(shapes.captions, strict=True))
    losses = [float(recipe.train_step(batch)["loss_words"]) for _ in range(40)]
    assert losses[-1] < 0.6 * losses[0]
    assert torch.isfinite(torch.tensor(losses)).all()
