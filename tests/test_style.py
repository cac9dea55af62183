"""Style transfer: the feature network (shipped or a VGG file), the optimisation method, the feed-forward
network, and stylized pictures registered as derived works of their content and style works."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import run, run_json
from PIL import Image
from torch import nn

from artforge.errors import BadInput
from artforge.generation.photos import builtin_photos, load_photo, to_image
from artforge.generation.style_features import load_style_features
from artforge.generation.style_network import (
    StyleTrainConfig,
    apply_style_network,
    load_style_network,
    train_style_network,
)
from artforge.generation.style_transfer import GatysConfig, StyleObjective, StyleWeights, stylize_by_optimisation


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, Path]:
    """Real photographs: content (the cat), style (a stained tissue sample), another content (coffee)."""
    root = tmp_path_factory.mktemp("pictures")
    photos = dict(builtin_photos(max_side=96))
    paths = {}
    for role, name in (("content", "chelsea"), ("style", "immunohistochemistry"), ("other", "coffee")):
        paths[role] = root / f"{name}.png"
        to_image(photos[name]).save(paths[role])
    return paths


def _vgg_like(batch_norm: bool) -> nn.Sequential:
    """A torchvision-VGG-shaped ``features`` stack (conv, [bn], relu, ..., maxpool), narrow enough for a test."""
    layers: list[nn.Module] = []
    channels = 3
    for block in ((8, 8), (16,), (16, 16)):
        for width in block:
            layers.append(nn.Conv2d(channels, width, 3, padding=1))
            if batch_norm:
                bn = nn.BatchNorm2d(width)
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.data.uniform_(0.5, 1.5)
                layers.append(bn)
            layers.append(nn.ReLU())
            channels = width
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers).eval()


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_torchvision_vgg_state_dict_is_read_block_by_block(tmp_path: Path, batch_norm: bool) -> None:
    torch.manual_seed(0)
    vgg = _vgg_like(batch_norm)
    path = tmp_path / "vgg.pth"
    torch.save({f"features.{k}": v for k, v in vgg.state_dict().items()}, path)
    net = load_style_features(path)
    assert net.blocks == [[8, 8], [16], [16, 16]] and net.info.source == "vgg-file"
    assert net.info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert net.style_layers == ["b1_1", "b2_1", "b3_1"] and net.content_layer == "b3_2"
    images = torch.rand(2, 3, 20, 20)
    normalised = (images - net.mean) / net.std
    with torch.no_grad():
        expected = vgg[: 6 if batch_norm else 4](normalised)  # up to the ReLU after the second convolution
        got = net(images, ["b1_2"])["b1_2"]
    assert torch.allclose(got, expected, atol=1e-5)


def test_files_that_are_no_feature_network_are_refused_in_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a pickle at all")
    with pytest.raises(BadInput, match="not a readable PyTorch weights file"):
        load_style_features(garbage)
    other = tmp_path / "other.pth"
    torch.save({"linear.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(BadInput, match="not an artforge feature network or a torchvision VGG state dict"):
        load_style_features(other)


def test_the_shipped_feature_network_loads_and_names_itself() -> None:
    net = load_style_features()
    assert net.info.source == "artforge" and len(net.info.sha256) == 64
    out = net(torch.rand(1, 3, 64, 48), net.style_layers)
    assert [tuple(out[name].shape[1:2]) for name in net.style_layers] == [(w[0],) for w in net.blocks]


def test_optimisation_moves_the_picture_towards_the_style_and_keeps_the_content(pictures) -> None:
    net = load_style_features()
    content, style = load_photo(pictures["content"]), load_photo(pictures["style"])
    objective = StyleObjective(net, content, style, 64, StyleWeights())
    _, before = objective.losses(objective.content)
    image, after, iterations = stylize_by_optimisation(content, style, net, GatysConfig(size=64, iterations=12))
    assert iterations == 12 and image.shape[0] == 3 and max(image.shape[1:]) == 64
    assert after.style < 0.5 * before.style  # the content picture itself is far from the style
    assert after.total < before.total
    _, unrelated = objective.losses(StyleObjective(net, load_photo(pictures["other"]), style, 64, StyleWeights())
                                    .content)
    assert after.content < unrelated.content  # still closer to the cat than another photograph is


def test_a_style_network_trains_on_photographs_and_stylizes_in_one_pass(tmp_path: Path, pictures) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, tensor in builtin_photos(max_side=64)[:6]:
        to_image(tensor).save(photos / f"{name}.png")
    config = StyleTrainConfig(style=str(pictures["style"]), out=str(tmp_path / "run"), data=str(photos), steps=40,
                              batch_size=2, crop=32)
    result = train_style_network(config)
    assert result.step == 40 and Path(result.checkpoint).is_file()
    model = load_style_network(result.checkpoint)
    assert model.style["sha256"] == hashlib.sha256(pictures["style"].read_bytes()).hexdigest()
    content = load_photo(pictures["content"], max_side=50)
    out = apply_style_network(model, content)
    assert out.shape == content.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    # Against the same network untrained: its style term on an unseen picture has come down.
    net = load_style_features()
    objective = StyleObjective(net, content, load_photo(pictures["style"]), 48, StyleWeights())
    torch.manual_seed(0)
    untrained = type(model.net)(model.net.config).eval()
    with torch.no_grad():
        _, trained_terms = objective.losses(model.net(objective.content))
        _, untrained_terms = objective.losses(untrained(objective.content))
    assert trained_terms.style < untrained_terms.style


def test_stylize_cli_writes_a_png_and_refuses_bad_requests_in_one_line(tmp_path: Path, pictures) -> None:
    out = tmp_path / "out.png"
    code, data = run_json("stylize", pictures["content"], pictures["style"], "-o", out, "--size", "48",
                          "--iterations", "3")
    assert code == 0, data
    assert data["data"]["method"] == "optimisation" and data["data"]["images"][0]["path"] == str(out)
    assert Image.open(out).size == (48, 32)
    assert data["data"]["images"][0]["losses"]["style"] > 0
    no_style = run("stylize", pictures["content"], "-o", tmp_path / "x.png")
    assert no_style.exit_code != 0 and "give a STYLE picture" in no_style.stderr
    not_png = run("stylize", pictures["content"], pictures["style"], "-o", tmp_path / "x.jpg")
    assert not_png.exit_code != 0 and "PNG" in not_png.stderr
    missing = run("stylize", tmp_path / "nope.png", pictures["style"], "-o", tmp_path / "x.png")
    assert missing.exit_code != 0 and "no such file" in missing.stderr
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.jpg").exists()


def test_a_folder_of_contents_is_stylized_by_a_trained_network(tmp_path: Path, pictures) -> None:
    trained = run("train", "--model", "style", "--style", pictures["style"], "--data", pictures["content"].parent,
                  "--steps", "2", "--batch-size", "2", "--size", "32", "--out", tmp_path / "run")
    assert trained.exit_code == 0, trained.stderr
    checkpoint = trained.stdout.strip()
    code, data = run_json("stylize", pictures["content"].parent, "--model", checkpoint, "-o", tmp_path / "many")
    assert code == 0, data
    assert data["data"]["method"] == "network" and len(data["data"]["images"]) == 3
    for image in data["data"]["images"]:
        assert Image.open(image["path"]).size == Image.open(image["content"]).size
    wrong_style = run("stylize", pictures["content"], pictures["other"], "--model", checkpoint,
                      "-o", tmp_path / "w.png")
    assert wrong_style.exit_code != 0 and "trained on another picture" in wrong_style.stderr
    as_generator = run("generate", checkpoint, "-n", "1", "--out", tmp_path / "gen")
    assert as_generator.exit_code != 0 and "style model" in as_generator.stderr
    ignored = run("train", "--model", "style", "--style", pictures["style"], "--epochs", "1", "--out", tmp_path / "r2")
    assert ignored.exit_code != 0 and "--epochs" in ignored.stderr


def test_a_registered_stylized_picture_is_a_derived_work_of_both(tmp_path: Path, pictures) -> None:
    assert run("init", "--no-encrypt").exit_code == 0
    refused = run("stylize", pictures["content"], pictures["style"], "-o", tmp_path / "early.png", "--register",
                  "--license", "CC-BY-4.0", "--iterations", "2", "--size", "48")
    assert refused.exit_code != 0 and "is not a registered work" in refused.stderr
    assert not (tmp_path / "early.png").exists()
    code, content = run_json("register", pictures["content"], "--license", "CC-BY-4.0", "--title", "The cat")
    assert code == 0, content
    code, style = run_json("register", pictures["style"], "--license", "CC-BY-NC-4.0", "--title", "Tissue")
    assert code == 0, style
    content_id, style_id = content["data"][0]["work_id"], style["data"][0]["work_id"]
    code, made = run_json("stylize", pictures["content"], pictures["style"], "-o", tmp_path / "derived.png",
                          "--register", "--license", "CC-BY-NC-4.0", "--iterations", "3", "--size", "64")
    assert code == 0, made
    work_id = made["data"]["images"][0]["work_id"]
    assert made["data"]["parents"] == {"content": content_id, "style": style_id}
    code, report = run_json("verify", tmp_path / "derived.png")
    assert report["data"]["match"]["work_id"] == work_id
    derived = {p["role"]: p for p in report["data"]["work"]["derived_from"]}
    assert derived["content"]["work_id"] == content_id and derived["content"]["title"] == "The cat"
    assert derived["style"]["work_id"] == style_id and derived["style"]["status"] == "valid"
    shown = run("show", work_id)
    assert "derived work of" in shown.stdout and "'Tissue'" in shown.stdout
    assert "stylized (optimisation)" in shown.stdout
    assert run("audit").exit_code == 0


def test_photographs_load_at_their_own_aspect_within_the_size_cap(tmp_path: Path) -> None:
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((40, 1000, 3), dtype=np.uint8)).save(wide)
    assert tuple(load_photo(wide).shape) == (3, 20, 512)
