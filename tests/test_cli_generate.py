"""train, generate and interpolate through the CLI, including Ctrl-C in a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run, run_json
from PIL import Image

from artforge.generation.procedural import draw_art

TINY = ["--size", "16", "--batch-size", "16", "--width", "8", "--data-limit", "64"]


def test_train_generate_register_verify(tmp_path: Path) -> None:
    assert run("init", "--no-encrypt").exit_code == 0
    trained = run("train", "--model", "cgan", "--data", "builtin:shapes", "--steps", "3", *TINY,
                  "--out", tmp_path / "run")
    assert trained.exit_code == 0, trained.stderr
    checkpoint = trained.stdout.strip()
    assert checkpoint.endswith("ckpt-00000003.pt") and "trained to step 3" in trained.stderr
    code, env = run_json("generate", checkpoint, "-n", "3", "--prompt", "a yellow diamond on purple",
                         "--out", tmp_path / "gen", "--grid", tmp_path / "grid.png", "--register",
                         "--license", "CC-BY-4.0")
    assert code == 0 and env["data"]["registered"] is True
    paths = [image["path"] for image in env["data"]["images"]]
    verified = run("verify", *paths)
    assert verified.exit_code == 0 and verified.stdout.count("verdict: exact-copy") == 3
    assert "origin: generated" in verified.stdout


def test_generate_errors(tmp_path: Path) -> None:
    checkpoint = run("train", "--steps", "2", *TINY, "--out", tmp_path / "run").stdout.strip()
    cases = [
        (["--label", "3"], 2, "unconditional"),
        (["--seeds", "9-1"], 2, "backwards"),
        (["--register"], 2, "--register needs --license"),
        (["--truncation", "0"], 2, "truncation"),
    ]
    for extra, code, message in cases:
        result = run("generate", checkpoint, "--out", tmp_path / "g", *extra)
        assert result.exit_code == code and message in result.stderr, (extra, result.stderr)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    result = run("generate", tmp_path / "junk.pt", "--out", tmp_path / "g")
    assert result.exit_code == 5 and result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_train_refuses_bad_data(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for args, message in [(["--data", str(empty)], "no images found"), (["--data", "builtin:nope"], "unknown built-in"),
                          (["--model", "gan2"], "unknown model family"), (["--size", "30"], "not supported"),
                          (["--model", "cgan", "--data", str(tmp_path / "none")], "no such folder")]:
        result = run("train", "--steps", "1", *args, "--out", tmp_path / "r")
        assert result.exit_code in (2, 5) and message in result.stderr, (args, result.stderr)
        assert not (tmp_path / "r" / "checkpoints").exists()


def test_interpolate_cli(tmp_path: Path) -> None:
    checkpoint = run("train", "--model", "vae", "--steps", "2", *TINY, "--out", tmp_path / "run").stdout.strip()
    result = run("interpolate", checkpoint, "--from", "3", "--to", "8", "--frames", "4", "--out", tmp_path / "a.gif")
    assert result.exit_code == 0 and Image.open(tmp_path / "a.gif").n_frames == 4


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "artforge", "train", "--steps", "1000000", *TINY, "--out", str(run_dir),
               "--sample-every", "100000", "--checkpoint-every", "100000", "-q"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    metrics = run_dir / "metrics.jsonl"
    while time.time() < deadline and not (metrics.exists() and metrics.stat().st_size > 0):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("Error: interrupted at step")
    [checkpoint] = (run_dir / "checkpoints").glob("ckpt-*.pt")
    step = int(checkpoint.stem.split("-")[1])
    resumed = run("train", "--resume", "latest", "--steps", str(step + 2), "--out", run_dir, "--json")
    assert resumed.exit_code == 0 and json.loads(resumed.stdout)["data"]["step"] == step + 2


def test_evaluate_cli(tmp_path: Path) -> None:
    checkpoint = run("train", "--model", "cgan", "--steps", "2", *TINY, "--out", tmp_path / "run").stdout.strip()
    code, env = run_json("evaluate", checkpoint, "--samples", "40")
    assert code == 0, env
    data = env["data"]
    assert data["samples"] == 40 and data["feature_net"] == "digits" and data["condition"] == "label"
    assert data["fid"] > data["fid_real_vs_real"] >= 0
    assert len(data["per_condition"]) == 10 and 0 <= data["accuracy"]["digit"] <= 1
    plain = run("evaluate", checkpoint, "--samples", "20")
    assert "FID:" in plain.stdout and "KID:" in plain.stdout
    bad = run("evaluate", checkpoint, "--features", "imagenet", "--samples", "20")
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: ")


def test_resume_names_each_option_it_would_otherwise_ignore(tmp_path: Path) -> None:
    assert run("train", "--steps", "2", *TINY, "--out", tmp_path / "run").exit_code == 0
    result = run("train", "--resume", "latest", "--steps", "4", "--out", tmp_path / "run", "--model", "vae",
                 "--data", "builtin:shapes")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--model (the checkpoint's: dcgan)" in lines[0] and "--data" in lines[0], lines
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["ckpt-00000002.pt"]
    again = run("train", "--resume", "latest", "--steps", "3", "--out", tmp_path / "run", *TINY)  # the same values
    assert again.exit_code == 0, again.stderr


def test_a_small_folder_is_trained_in_a_batch_that_fits(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for seed in range(10):
        draw_art(seed, (40, 40)).save(folder / f"{seed}.png")
    result = run("train", "--steps", "1", "--size", "16", "--width", "8", "--data", folder, "--out", tmp_path / "r")
    assert result.exit_code == 0, result.stderr
    assert "training in batches of 10" in result.stderr
    refused = run("train", "--steps", "1", "--size", "16", "--data", folder, "--batch-size", "32", "--out", tmp_path / "s")
    assert refused.exit_code == 5 and "give --batch-size 10 or less" in refused.stderr


def test_the_mlp_gan_trains_generates_registered_samples_and_is_evaluated(tmp_path: Path) -> None:
    assert run("init", "--no-encrypt").exit_code == 0
    trained = run("train", "--model", "mlpgan", "--steps", "3", "--size", "28", "--batch-size", "16", "--width", "32",
                  "--data-limit", "64", "--out", tmp_path / "mlp")
    assert trained.exit_code == 0, trained.stderr
    checkpoint = trained.stdout.strip()
    code, env = run_json("generate", checkpoint, "-n", "2", "--out", tmp_path / "gen", "--register",
                         "--license", "CC0-1.0")
    assert code == 0 and env["data"]["registered"], env
    shown = run_json("show", env["data"]["images"][0]["work_id"])[1]["data"]
    assert shown["work"]["origin"]["generator"]["family"] == "mlpgan"
    code, quality = run_json("evaluate", checkpoint, "--samples", "32")
    assert code == 0 and quality["data"]["fid"] > 0 and quality["data"]["feature_net"] == "digits"
