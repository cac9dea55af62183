"""The layer rules of README's "Architecture" section hold: import-linter checks the contracts in pyproject.toml."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "artforge"
MAX_MODULE_LINES = 400
# The offline verifiers: programs of their own (argparse flags), each one file that anyone can copy and run
# with only the standard library and cryptography, so they are neither split nor held to library wording.
STANDALONE = {"verify_record.py", "verify_bundle.py"}


def test_the_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout or "broken" not in done.stdout.split("Contracts:")[-1], done.stdout


def test_every_wing_says_what_it_owns() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init.relative_to(ROOT)} needs a docstring saying what the package owns"


def test_module_names_are_unique_across_the_tree() -> None:
    seen: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        assert path.stem not in seen, f"{path.relative_to(ROOT)} and {seen[path.stem].relative_to(ROOT)} share a name"
        seen[path.stem] = path


def test_no_module_is_over_the_size_limit() -> None:
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if p.name not in STANDALONE and (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules (over {MAX_MODULE_LINES} lines): {long}"


def test_time_limits_in_tests_only_guard_against_hangs() -> None:
    """A test must not fail because the machine is slow (the demo test once hit its own 300 s limit on a busy
    machine): every literal time limit in tests/ is a generous guard, 120 s or more; timing is for benchmarks/."""
    pattern = re.compile(r"(?:timeout=|_wait_until\(.*, |time\.monotonic\(\) \+ )(\d+(?:\.\d+)?)")
    tight = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            tight += [f"{path.name}:{number}: {line.strip()}" for value in pattern.findall(line) if float(value) < 120]
    assert not tight, "time limits too tight for a busy machine:\n" + "\n".join(tight)


def test_library_errors_do_not_speak_of_command_line_flags() -> None:
    """A Python caller has parameters, not flags: the library writes `name` (artforge.errors), the CLI shows
    --name (artforge.cli.output.cli_wording).  A command to run ('artforge index rebuild --images') may stay."""
    flag = re.compile(r"(?<![\w'`-])--[a-z][a-z0-9-]*")
    found = []
    for path in sorted((ROOT / "artforge").rglob("*.py")):
        if "cli" in path.relative_to(ROOT / "artforge").parts or path.name in STANDALONE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Raise) and node.exc is not None) and not (
                    isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("check_env_name", "check_address")):
                continue
            text = "".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))
            if flag.search(text) and not re.search(r"artforge [a-z]", text):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:100]}")
    assert not found, "library errors naming CLI flags:\n" + "\n".join(found)


def test_help_and_completion_load_no_heavy_library() -> None:
    """Cold `artforge --help` took ~0.6 s here, most of it numpy, Pillow, the database and cryptography, none
    of which help or tab completion needs: the command modules import their use cases when they run."""
    heavy = ["numpy", "PIL", "torch", "sqlite_utils", "cryptography", "faiss", "cv2", "web3", "scipy", "sklearn"]
    code = ("import sys; from artforge.cli import app; import typer.main; typer.main.get_command(app); "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]", f"imported by the CLI's command tree: {loaded.stdout.strip()}"
