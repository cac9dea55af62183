"""Everyday shell conventions: piping, stdin and stdout as '-', and what a script sees."""

from __future__ import annotations

import json
import os

from cli_helpers import run, run_process


def test_piped_talk_is_not_hard_wrapped(isolated_home) -> None:
    """`artforge log checkpoint 2>&1 | cat` kept the verifier key in two pieces (Rich wrapped at 80 columns)."""
    assert run("init", "--no-encrypt").exit_code == 0
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    key = json.loads(run("log", "checkpoint", "--json").stdout)["data"]["verifier_key"]
    result = run_process("log", "checkpoint", env=env)  # stdout and stderr are pipes here
    assert result.returncode == 0, result.stderr
    assert len(key) > 80 and key in result.stderr.split("\n")[0], result.stderr


def test_export_bundle_to_stdout_checks_offline(art, tmp_path, monkeypatch) -> None:
    """`export --bundle -` wrote a file named '-'; now stdout carries the bundle, as the verifier reads it."""
    import subprocess
    import sys
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    run("init", "--no-encrypt")
    work_id = run("register", art(1), "--license", "CC0-1.0").stdout.strip()
    result = run("export", work_id, "--bundle", "-")
    assert result.exit_code == 0 and not Path("-").exists()
    assert json.loads(result.stdout)["work_id"] == work_id
    checked = subprocess.run([sys.executable, "-m", "artforge.verify_bundle", "-"], input=result.stdout.encode(),
                             capture_output=True)
    assert checked.returncode == 0, checked.stderr
    env = json.loads(run("export", work_id, "--bundle", "-", "--json").stdout)
    assert env["ok"] and env["data"]["path"] == "-" and env["data"]["bundle"]["work_id"] == work_id


def test_verify_reads_image_bytes_from_stdin(art) -> None:
    """`curl ... | artforge verify -` failed: '-' only read paths.  Now an image on stdin is verified as is."""
    run("init", "--no-encrypt")
    original = art(1)
    work_id = run("register", original, "--license", "CC0-1.0").stdout.strip()
    result = run("verify", "-", "--json", input=original.read_bytes())
    env = json.loads(result.stdout)
    assert result.exit_code == 0, result.stderr
    assert env["data"]["path"] == "-" and env["data"]["verdict"] == "exact-copy"
    assert env["data"]["match"]["work_id"] == work_id
    listed = run("verify", "-", "--json", input=f"{original}\n")  # paths, one per line, as before
    assert json.loads(listed.stdout)["data"]["path"] == str(original)
    printed = run("fingerprint", "-", "--json", input=original.read_bytes())
    assert json.loads(printed.stdout)["data"][0]["path"] == "-"


def test_commands_that_keep_files_refuse_image_bytes_clearly(art) -> None:
    run("init", "--no-encrypt")
    result = run("register", "-", "--license", "CC0-1.0", input=art(1).read_bytes())
    assert result.exit_code == 2 and result.stderr.startswith("Error: stdin holds an image")
    assert result.stderr.count("\n") == 1 and json.loads(run("list", "--json").stdout)["data"] == []


def test_library_errors_name_parameters_and_the_cli_names_options(art, monkeypatch) -> None:
    """The library said '--passphrase-env' to Python callers; it names parameters, the CLI shows options."""
    import pytest

    from artforge.errors import SigningKeyError, UsageError
    from artforge.usecases.home import Home
    from artforge.usecases.licensing import grant_licence

    run("init", "--no-encrypt")
    work_id = run("register", art(1), "--license", "CC0-1.0").stdout.strip()
    refused = run("license", "grant", work_id, "--to", "A", "--terms", "t", "--until", "soon")
    assert refused.exit_code == 2 and refused.stderr == "Error: --until 'soon' is not a date (YYYY-MM-DD)\n"
    with pytest.raises(UsageError, match="^`until` 'soon' is not a date"):
        grant_licence(Home(), work_id, grantee="A", terms="t", until="soon")

    monkeypatch.setenv("SECRET_FOR_TEST", "pw")
    assert run("keys", "create", "locked", "--passphrase-env", "SECRET_FOR_TEST").exit_code == 0
    monkeypatch.delenv("ARTFORGE_PASSPHRASE", raising=False)
    with pytest.raises(SigningKeyError) as caught:
        Home().signer("locked")
    assert "`passphrase`" in str(caught.value) and "--" not in str(caught.value)
    shown = run("register", art(2), "--key", "locked", "--license", "CC0-1.0")
    assert shown.exit_code == 7 and "--passphrase-env VAR" in shown.stderr

    stylized = run("stylize", art(1), "--out", "x.png")  # neither a STYLE picture nor --model: an argument
    assert stylized.exit_code == 2 and "give a STYLE picture, or --model" in stylized.stderr


def test_verify_a_folder_recursively_with_a_summary(art, tmp_path) -> None:
    """`verify -r DIR` searches the folder (subfolders too) and ends with counts, the slowest and the failures."""
    from PIL import Image

    run("init", "--no-encrypt")
    registered = art(1)
    assert run("register", registered, "--license", "CC0-1.0").exit_code == 0
    folder = tmp_path / "uploads"
    (folder / "deeper").mkdir(parents=True)
    Image.open(registered).save(folder / "copy.png")
    Image.open(art(2)).save(folder / "deeper" / "stranger.jpg", quality=90)
    (folder / "deeper" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not an image, not looked at")
    bare = run("verify", folder)  # a folder without -r: a hint, not a search (a stray '/' must not walk the disk)
    assert bare.exit_code == 5 and bare.stderr == f"Error: {folder}: is a folder; add -r to take the images in it " \
                                                  "(subfolders too)\n"
    result = run("verify", "-r", folder, "--json")
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["data"]["path"] for r in reports] == [str(folder / "copy.png"), str(folder / "deeper" / "broken.png"),
                                                  str(folder / "deeper" / "stranger.jpg")]
    assert result.exit_code == 5  # the most serious outcome: an unreadable image
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ") and "broken.png" in lines[0]
    assert lines[1].startswith("verified 3 images in ") and lines[1].endswith("1 exact-copy, 1 no-match, 1 failed")
    assert lines[2].startswith("slowest: ") and lines[3].startswith("failed: ") and "broken.png" in lines[3]
    assert run("verify", "-r", folder, "-q").stderr.splitlines() == [lines[0]]  # -q: no summary
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run("verify", "--recursive", empty)
    assert refused.exit_code == 5 and "a folder with no images in it" in refused.stderr


def test_batches_of_images_show_progress_on_a_terminal(art, monkeypatch) -> None:
    """Only `train` had a progress bar; register, fingerprint, verify, index rebuild and generate --register
    over many images showed nothing for minutes.  On a terminal each shows a bar with its count."""
    import io

    from rich.console import Console

    import artforge.cli.progress as progress

    run("init", "--no-encrypt")
    paths = [str(art(seed)) for seed in (1, 2, 3)]
    commands = {"register": ["register", *paths, "--license", "CC0-1.0"], "fingerprint": ["fingerprint", *paths],
                "verify": ["verify", *paths], "index": ["index", "rebuild", *(a for p in paths for a in ("--images", p))],
                "generate": ["generate", "builtin:dcgan-digits", "--seeds", "1-3", "--out", str(art(4).parent / "gen"),
                             "--register", "--license", "CC0-1.0"]}
    for name, argv in commands.items():
        screen = io.StringIO()
        monkeypatch.setattr(progress, "stderr", Console(file=screen, force_terminal=True, width=120))
        result = run(*argv)
        assert result.exit_code == 0, (name, result.stderr)
        label = "register" if name == "generate" else name  # generating is quick; registering what it made is not
        assert label in screen.getvalue() and "3/3" in screen.getvalue(), (name, screen.getvalue())
        quiet = io.StringIO()
        monkeypatch.setattr(progress, "stderr", Console(file=quiet, force_terminal=True, width=120))
        assert run(*argv, "-q").exit_code == 0 and quiet.getvalue() == "", name


def test_the_readme_pipeline_generate_register_verify(tmp_path, isolated_home) -> None:
    """README's pipeline, as real processes joined by pipes: paths out of one command, '-' into the next."""
    import subprocess
    import sys

    assert run("init", "--no-encrypt").exit_code == 0
    artforge = [sys.executable, "-m", "artforge"]
    generate = subprocess.Popen([*artforge, "generate", "builtin:dcgan-digits", "--seeds", "1-3", "--out",
                                 str(tmp_path / "art")], stdout=subprocess.PIPE)
    register = subprocess.run([*artforge, "register", "-", "--license", "CC-BY-4.0"], stdin=generate.stdout,
                              capture_output=True, text=True, timeout=600)
    generate.stdout.close()
    assert generate.wait(timeout=600) == 0 and register.returncode == 0, register.stderr
    work_ids = [line.split("\t")[0] for line in register.stdout.splitlines()]  # "work id<TAB>path" per image
    assert len(work_ids) == 3
    verified = subprocess.run([*artforge, "verify", "-r", str(tmp_path / "art"), "--json"], capture_output=True,
                              text=True, timeout=600)
    reports = [json.loads(line)["data"] for line in verified.stdout.splitlines()]
    assert verified.returncode == 0 and [r["verdict"] for r in reports] == ["exact-copy"] * 3
    assert sorted(r["match"]["work_id"] for r in reports) == sorted(work_ids)
