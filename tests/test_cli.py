"""Each command through the real CLI: exit codes, stdout data, stderr talk."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cli_helpers import run, run_json
from PIL import Image


def _init() -> None:
    assert run("init", "--no-encrypt").exit_code == 0


def test_init_is_idempotent_and_private(isolated_home: Path) -> None:
    first = run("init", "--no-encrypt")
    assert first.exit_code == 0 and "created" in first.stdout
    again = run("init", "--no-encrypt")
    assert again.exit_code == 0 and "exists" in again.stdout
    assert stat.S_IMODE(isolated_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((isolated_home / "keys" / "default.key").stat().st_mode) == 0o600


def test_home_prints_paths_before_init(isolated_home: Path) -> None:
    code, env = run_json("home")
    assert code == 0 and env["data"]["home"] == str(isolated_home) and env["data"]["initialised"] is False


def test_keys_commands(isolated_home: Path) -> None:
    _init()
    created = run("keys", "create", "studio", "--no-encrypt")
    assert created.exit_code == 0
    code, env = run_json("keys", "list")
    assert [k["name"] for k in env["data"]] == ["default", "studio"]
    shown = run("keys", "show", "studio")
    assert "public key" in shown.stdout
    pem = run("keys", "export-public", "studio")
    assert pem.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    private = (isolated_home / "keys" / "studio.key").read_text()
    for output in (created.stdout, shown.stdout, pem.stdout):
        assert "PRIVATE" not in output and private.splitlines()[1] not in output


def test_encrypted_key_via_environment(isolated_home: Path, art, monkeypatch) -> None:
    _init()
    monkeypatch.setenv("AF_PASS", "horse battery")
    assert run("keys", "create", "locked", "--passphrase-env", "AF_PASS").exit_code == 0
    ok = run("register", art(1), "--license", "CC0-1.0", "--key", "locked", "--passphrase-env", "AF_PASS")
    assert ok.exit_code == 0, ok.stderr
    monkeypatch.setenv("AF_PASS", "wrong horse")
    bad = run("register", art(2), "--license", "CC0-1.0", "--key", "locked", "--passphrase-env", "AF_PASS")
    assert bad.exit_code == 7 and bad.stderr.strip() == "Error: wrong passphrase for key 'locked'"
    assert "horse" not in bad.stderr + bad.stdout


def test_fingerprint_plain_and_json(art) -> None:
    path = art(1)
    plain = run("fingerprint", path)
    header, row = plain.stdout.splitlines()
    assert header.startswith("path\tfile_sha256") and row.startswith(str(path))
    code, env = run_json("fingerprint", path)
    assert code == 0 and len(env["data"][0]["pdq"]) == 64


def test_register_show_history_list(art) -> None:
    _init()
    result = run("register", art(1), "--license", "CC-BY-SA-4.0", "--title", "Tide pools")
    assert result.exit_code == 0 and "registered 1 new work" in result.stderr
    work_id = result.stdout.strip()
    assert len(work_id) == 64
    shown = run("show", work_id[:8])
    assert "title: Tide pools" in shown.stdout and "share-alike: yes" in shown.stdout
    assert "signatures: valid" in shown.stdout
    code, env = run_json("history", work_id[:8])
    assert code == 0 and env["data"]["records"][0]["record_id"] == work_id
    listed = run("list")
    assert listed.stdout.startswith(work_id)


def test_register_same_image_again_warns_on_other_licence(art) -> None:
    _init()
    path = art(2)
    first = run("register", path, "--license", "CC0-1.0").stdout
    again = run("register", path, "--license", "CC-BY-4.0")
    assert again.exit_code == 0 and again.stdout == first
    assert "licence unchanged" in again.stderr


def test_paths_from_stdin(art) -> None:
    _init()
    paths = [art(s) for s in range(3)]
    code, env = run_json("register", "-", "--license", "CC-BY-4.0", input="\n".join(map(str, paths)) + "\n")
    assert code == 0 and [d["path"] for d in env["data"]] == [str(p) for p in paths]


def test_license_commands(tmp_path: Path, art) -> None:
    _init()
    text = tmp_path / "licence.txt"
    text.write_text("Print only.")
    added = run("license", "add", "LicenseRef-Print", "--name", "Print", "--commercial", "--ai-training",
                "constrained", "--constraint", "opt-in per model", "--text", text)
    assert added.exit_code == 0, added.stderr
    code, env = run_json("license", "show", "LicenseRef-Print")
    assert env["data"]["terms"]["ai_training"] == "constrained" and env["data"]["text"] == "Print only."
    listed = run("license", "list")
    assert "CC-BY-NC-ND-4.0" in listed.stdout and "LicenseRef-Print" in listed.stdout
    work_id = run("register", art(3), "--license", "LicenseRef-Print").stdout.strip()
    grant = run("license", "grant", work_id[:10], "--to", "Acme", "--terms", "posters", "--until", "2999-01-01")
    assert grant.exit_code == 0
    assert "grant: Acme: posters (until 2999-01-01)" in run("show", work_id).stdout


def test_transfer_and_permission(art) -> None:
    _init()
    run("keys", "create", "bob", "--no-encrypt")
    work_id = run("register", art(4), "--license", "CC-BY-4.0").stdout.strip()
    moved = run("transfer", work_id, "--to", "bob")
    assert moved.exit_code == 0
    denied = run("license", "grant", work_id, "--to", "X", "--terms", "y", "--key", "default")
    assert denied.exit_code == 9 and denied.stderr.startswith("Error: key 'default' does not own")
    history = run("history", work_id).stdout.splitlines()
    assert [line.split("\t")[2] for line in history] == ["registration", "transfer"]


def test_verify_exit_codes(art, tmp_path: Path) -> None:
    _init()
    run("register", art(1), "--license", "CC-BY-NC-4.0")
    copy = tmp_path / "copy.jpg"
    Image.open(art(1)).resize((240, 180)).save(copy, quality=70)
    matched = run("verify", copy)
    assert matched.exit_code == 0 and "verdict: modified-copy" in matched.stdout
    assert "commercial use: no" in matched.stdout
    unrelated = run("verify", art(50))
    assert unrelated.exit_code == 3 and "verdict: no-match" in unrelated.stdout
    both = run("verify", copy, art(50))
    assert both.exit_code == 3


def test_audit_command(art) -> None:
    _init()
    run("register", art(1), "--license", "CC0-1.0")
    result = run("audit")
    assert result.exit_code == 0 and "all valid" in result.stderr
    code, env = run_json("audit")
    assert env["data"]["ok"] is True and env["data"]["records_checked"] == 1


def test_python_dash_m(isolated_home: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "artforge", "home", "--json"], capture_output=True, text=True,
                            env={**os.environ, "ARTFORGE_HOME": str(isolated_home)})
    assert result.returncode == 0 and json.loads(result.stdout)["command"] == "home"
