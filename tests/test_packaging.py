"""What `pip install artforge` gives: the offline verifiers ship in the wheel, and the wheel runs the quick start.

The wheel test builds the wheel from this checkout, installs it (without dependencies) into a fresh venv whose
dependencies come from the project's own venv, and runs the README's quick start from an empty folder, so a
file missing from the wheel (a weight, a built-in model, the contract) fails here, not on a user's machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from cli_helpers import run

ROOT = Path(__file__).resolve().parents[1]
GUARD_S = 1800  # a guard against a hang only


def _bundle(art, tmp_path: Path) -> Path:
    run("init", "--no-encrypt")
    work_id = run("register", art(1), "--license", "CC0-1.0").stdout.strip()
    path = tmp_path / "evidence.json"
    assert run("export", work_id, "--bundle", path).exit_code == 0
    return path


def test_verifiers_run_as_copies_that_cannot_import_artforge(art, tmp_path: Path) -> None:
    """The two verifier files, copied anywhere, check a bundle with only the standard library and cryptography."""
    bundle = _bundle(art, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("verify_record.py", "verify_bundle.py"):
        shutil.copy(ROOT / "artforge" / name, elsewhere / name)
    blocked = "; ".join(f"sys.modules[{m!r}] = None" for m in ("artforge", "torch", "numpy", "PIL", "rfc8785"))
    code = (f"import sys, runpy; {blocked}; sys.argv = ['verify_bundle.py', {str(bundle)!r}]; "
            f"runpy.run_path({str(elsewhere / 'verify_bundle.py')!r}, run_name='__main__')")
    checked = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=GUARD_S,
                             cwd=elsewhere)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK") and "FAIL" not in checked.stdout


def test_verifiers_are_modules_and_commands(art, tmp_path: Path) -> None:
    bundle = _bundle(art, tmp_path)
    as_module = subprocess.run([sys.executable, "-m", "artforge.verify_bundle", str(bundle)], capture_output=True,
                               text=True, timeout=GUARD_S)
    assert as_module.returncode == 0, as_module.stdout + as_module.stderr
    command = Path(sys.executable).parent / "artforge-verify-bundle"
    if command.exists():  # the console script, where this venv has the project installed
        assert subprocess.run([str(command), str(bundle)], capture_output=True, timeout=GUARD_S).returncode == 0


@pytest.mark.slow
def test_the_built_wheel_runs_the_quick_start(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(dist), str(ROOT)], capture_output=True, text=True, timeout=GUARD_S)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = dist.glob("artforge-*.whl")
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=GUARD_S)
    python = fresh / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # Dependencies from the project's venv (a path line in a .pth: its own .pth files, such as the editable
    # install of this checkout, are not run, so `artforge` can only come from the wheel).
    Path(site, "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=GUARD_S)
    assert installed.returncode == 0, installed.stderr[-2000:]

    work = tmp_path / "empty"
    work.mkdir()
    env = {**os.environ, "ARTFORGE_HOME": str(tmp_path / "home")}
    env.pop("PYTHONPATH", None)

    def artforge(*args: str, command: str = "artforge", stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([str(fresh / "bin" / command), *args], input=stdin, capture_output=True, text=True,
                              cwd=work, env=env, timeout=GUARD_S)
        assert done.returncode == 0, f"{command} {args}: {done.stderr[-2000:]}"
        return done

    where = subprocess.run([str(python), "-c", "import artforge, sys; print(artforge.__file__)"], cwd=work,
                           capture_output=True, text=True, env=env, check=True).stdout
    assert where.startswith(site), where  # the wheel's copy, not this checkout
    assert artforge("--version").stdout.startswith("artforge ")
    artforge("init", "--no-encrypt")
    made = artforge("generate", "builtin:dcgan-digits", "--seeds", "1-2", "--out", "art", "--register",
                    "--license", "CC-BY-4.0", "--json")
    images = json.loads(made.stdout)["data"]["images"]
    assert len(images) == 2 and all(image["work_id"] for image in images)
    verdicts = [json.loads(line)["data"]["verdict"] for line in artforge("verify", "-r", "art", "--json").stdout.splitlines()]
    assert verdicts == ["exact-copy", "exact-copy"]
    bundle = artforge("export", images[0]["work_id"], "--bundle", "-").stdout
    assert artforge("-", command="artforge-verify-bundle", stdin=bundle).stdout.startswith("OK")
