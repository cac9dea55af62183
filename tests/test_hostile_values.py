"""Hostile values through the real CLI, each on a fresh home: SQL and control characters in free text, path
separators in output names, very long strings and file names that are not UTF-8.

Every value is either stored and shown back exactly as the project cleans it (artforge.textutil.clean_text:
control and format characters dropped, whitespace collapsed) or refused with one ``Error:`` line; the
registry's tables survive and ``artforge audit`` passes afterwards.  Nothing ends in exit 1 (internal error).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import run, run_json

from artforge.errors import UsageError
from artforge.textutil import clean_text

TITLE_LIMIT, FIELD_LIMIT = 500, 2000  # artforge.usecases.register.MAX_TITLE_LENGTH, artforge.usecases.licensing.MAX_FIELD_LENGTH

HOSTILE_TEXT = {
    "sql-drop": "'); DROP TABLE works; --",
    "sql-or": "x' OR '1'='1",
    "sql-comment": "a /* b */ -- c",
    "like-wildcards": "100% _match_",
    "double-quote": '"',
    "backslash": "C:\\art\\",
    "nul": "\x00",
    "nul-inside": "before\x00after",
    "ansi-colour": "\x1b[31mred\x1b[0m",
    "osc-hyperlink": "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "crlf": "line one\r\nline two",
    "tab": "a\tb",
    "rtl-override": "\u202eevil.png\u202c",
    "zero-width": "zero\u200bwidth\u200cjoin\u200d",
    "bom": "\ufeffbom",
    "emoji": "palette \U0001f3a8 artist \U0001f469\u200d\U0001f3a8",
    "cjk": "\u65e5\u672c\u8a9e\u306e\u984c",
    "only-whitespace": " \t\r\n ",
    "only-controls": "\x00\x01\x1b\x7f",
}


def _cleaned(value: str, limit: int) -> str | None:
    """What the project stores for a free-text value, or None when it refuses it."""
    try:
        return clean_text(value, "text", limit)
    except UsageError:
        return None


def _one_line_error(result, code: int) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def _tables(home: Path) -> list[str]:
    conn = sqlite3.connect(home / "registry.db")
    try:
        return [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    finally:
        conn.close()


@pytest.fixture
def cli(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home, initialised through the CLI with an unencrypted key; yields the home folder."""
    monkeypatch.delenv("ARTFORGE_PASSPHRASE", raising=False)
    assert run("init", "--no-encrypt").exit_code == 0
    return isolated_home


@pytest.fixture
def intact(cli: Path):
    """After the test: every table is still there and ``artforge audit`` finds nothing wrong."""
    tables = _tables(cli)
    yield cli
    assert _tables(cli) == tables
    audit = run("audit")
    assert audit.exit_code == 0, audit.stdout + audit.stderr


def _register(path: Path, *extra: str) -> str:
    code, envelope = run_json("register", path, "--license", "CC-BY-4.0", *extra)
    assert code == 0, envelope
    return envelope["data"][0]["work_id"]


# --- Free text: titles, grantees and terms, custom licence names ------------------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXT))
def test_hostile_title(intact: Path, art, name: str) -> None:
    value, expected = HOSTILE_TEXT[name], _cleaned(HOSTILE_TEXT[name], TITLE_LIMIT)
    result = run("register", art(1), "--license", "CC0-1.0", "--title", value)
    if expected is None:
        _one_line_error(result, 2)
        assert run_json("list")[1]["data"] == []
        return
    assert result.exit_code == 0, result.stderr
    work_id = result.stdout.strip()
    # Shown back exactly as stored, by every view, and signed as stored.
    assert run_json("show", work_id)[1]["data"]["work"]["title"] == expected
    assert [w["title"] for w in run_json("list")[1]["data"]] == [expected]
    assert run_json("history", work_id)[1]["data"]["records"][0]["payload"]["work"]["title"] == expected
    shown = run("show", work_id).stdout
    assert f"title: {expected}\n" in shown
    assert not any(ord(c) < 32 and c != "\n" for c in shown)  # no escape sequence reaches the terminal


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXT))
def test_hostile_grantee_and_terms(intact: Path, art, name: str) -> None:
    work_id = _register(art(2))
    value = HOSTILE_TEXT[name]
    expected = _cleaned(value, FIELD_LIMIT)
    result = run("license", "grant", work_id, "--to", value, "--terms", f"terms {value}")
    if expected is None:
        _one_line_error(result, 2)
        assert run_json("show", work_id)[1]["data"]["active_grants"] == []
        return
    assert result.exit_code == 0, result.stderr
    (grant,) = run_json("show", work_id)[1]["data"]["active_grants"]
    assert (grant["grantee"], grant["terms"]) == (expected, _cleaned(f"terms {value}", FIELD_LIMIT))
    payload = run_json("history", work_id)[1]["data"]["records"][1]["payload"]
    assert payload["grant"]["to"] == expected


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXT))
def test_hostile_custom_licence_name(intact: Path, name: str) -> None:
    value = HOSTILE_TEXT[name]
    expected = _cleaned(value, FIELD_LIMIT)
    result = run("license", "add", "LicenseRef-Hostile", "--name", value)
    if expected is None:
        _one_line_error(result, 2)
        _one_line_error(run("license", "show", "LicenseRef-Hostile"), 6)
        return
    assert result.exit_code == 0, result.stderr
    assert run_json("license", "show", "LicenseRef-Hostile")[1]["data"]["name"] == expected
    assert f"LicenseRef-Hostile\t{expected}\n" in run("license", "list").stdout


@pytest.mark.parametrize("licence_id", [
    "LicenseRef-'); DROP TABLE licences; --", "LicenseRef-\x00", "LicenseRef-\x1b[31m", "LicenseRef-a/b",
    "LicenseRef-\u202e", "LicenseRef-\U0001f3a8", "licenseref-lower", "LicenseRef-", "CC0-1.0",
])
def test_hostile_custom_licence_ids_are_refused(intact: Path, art, licence_id: str) -> None:
    _one_line_error(run("license", "add", licence_id), 2)
    _one_line_error(run("register", art(3), "--license", licence_id[:11] + "'; DROP TABLE works; --"), 6)
    _one_line_error(run("license", "show", licence_id + "' OR '1'='1"), 6)



@pytest.mark.parametrize("name", sorted(HOSTILE_TEXT))
def test_hostile_licence_constraint_and_url(intact: Path, art, name: str) -> None:
    # Free text like the name (one printable line): the constraint is signed into every registration under the
    # licence, and `license show` prints both to a terminal.
    value = HOSTILE_TEXT[name]
    expected = _cleaned(value, FIELD_LIMIT) or ""  # blank means "none"
    result = run("license", "add", "LicenseRef-Raw", "--constraint", value, "--url", value)
    if value.strip() and not expected:  # only characters that are dropped: refused, not silently emptied
        _one_line_error(result, 2)
        return
    assert result.exit_code == 0, result.stderr
    data = run_json("license", "show", "LicenseRef-Raw")[1]["data"]
    assert (data["terms"]["constraint_info"], data["url"]) == (expected, expected)
    assert not any(ord(c) < 32 and c != "\n" for c in run("license", "show", "LicenseRef-Raw").stdout)
    work_id = run("register", art(14), "--license", "LicenseRef-Raw", "-q").stdout.strip()
    payload = run_json("history", work_id)[1]["data"]["records"][0]["payload"]
    assert payload["licence"]["terms"]["constraint_info"] == expected


@pytest.mark.parametrize("args", [
    ["register", "{image}", "--license", "CC-\udcff"],
    ["license", "show", "LicenseRef-\udcff"],
    ["license", "add", "LicenseRef-Url", "--url", "https://\udcff"],
    ["license", "add", "LicenseRef-Constraint", "--constraint", "caf\udce9"],
])
def test_undecodable_licence_values(intact: Path, art, args: list[str]) -> None:
    # argv holds undecodable bytes as U+DC80-U+DCFF (surrogateescape), e.g. `--license $'\xff'` in bash; SQLite
    # cannot bind them (this was 'internal error (UnicodeEncodeError)', exit 1).
    result = run(*[a.replace("{image}", str(art(4))) for a in args])
    if result.exit_code:
        _one_line_error(result, 6)
    else:  # url and constraint are cleaned like other free text: the bytes become U+FFFD
        data = run_json("license", "show", args[2])[1]["data"]
        assert "\ufffd" in data["url"] + data["terms"]["constraint_info"]


# --- Path separators and traversal in output names ------------------------------------------------------


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    result = run("train", "--steps", "1", "--size", "16", "--batch-size", "16", "--width", "8", "--data-limit", "64",
                 "--out", run_dir, "-q")
    assert result.exit_code == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.mark.slow
def test_generate_prefix_cannot_leave_the_output_folder(intact: Path, tiny_checkpoint: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # File names are <prefix>-seed<NNNNNN>.png inside --out (artforge/generation/sampling.py): the prefix is the only
    # name part a user controls, and it may hold only letters, digits, '.', '_' and '-'.
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    monkeypatch.chdir(work)
    before = _files(tmp_path)
    for prefix in ["../evil", "a/b", "/abs", "..\\x", "x\x00y", "", "\u202eevil", "a" * 65]:
        _one_line_error(run("generate", tiny_checkpoint, "-n", "1", "--out", "out", "--prefix", prefix), 2)
    assert _files(tmp_path) == before
    for prefix in ["..", ".", "-", "...", "a.b"]:  # dots alone are file names, not directories, here
        result = run("generate", tiny_checkpoint, "-n", "1", "--out", "out", "--prefix", prefix)
        assert result.exit_code == 0, result.stderr
    new = _files(tmp_path) - before
    assert len(new) == 5 and all(p.parent == work / "out" for p in new), new
    assert {p.name for p in new} == {f"{p}-seed000000.png" for p in ["..", ".", "-", "...", "a.b"]}


def test_export_bundle_goes_exactly_where_it_is_told(intact: Path, art, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    work_id = _register(art(5))
    (tmp_path / "work" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    for given, lands in [("sub/../b1.json", tmp_path / "work" / "b1.json"),
                         ("../b2.json", tmp_path / "b2.json"),  # the user's own choice of folder
                         ("new/dir/b3.json", tmp_path / "work" / "new" / "dir" / "b3.json")]:
        before = _files(tmp_path)
        result = run("export", work_id, "--bundle", given)
        assert result.exit_code == 0, result.stderr
        assert _files(tmp_path) - before == {lands}, given  # no stray temporary file either
        assert json.loads(lands.read_text())["work_id"] == work_id


@pytest.mark.parametrize("target", ["folder", "", ".", "file/x.json", "x" * 300 + ".json"])
def test_export_bundle_to_an_unusable_path(intact: Path, art, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           target: str) -> None:
    # A folder, no name, a path under a file, a name too long: a one-line error, nothing written (these were
    # 'internal error (IsADirectoryError / OSError / FileExistsError)', exit 1).
    work_id = _register(art(6))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    before = _files(tmp_path)
    result = run("export", work_id, "--bundle", target)
    _one_line_error(result, 5)
    assert _files(tmp_path) == before


def test_verify_diff_names_stay_in_the_diff_folder(intact: Path, art, tmp_path: Path) -> None:
    # Several images: --diff is a folder of <stem>.diff.png, the stem taken from the file name only.
    originals = [art(7), art(8)]
    for path in originals:
        _register(path)
    odd = tmp_path / "odd"
    odd.mkdir()
    names = ["..png", "...png", "-x.png", "a b.png"]
    copies = [odd / name for name in names]
    for source, target in zip(originals + originals, copies):
        target.write_bytes(source.read_bytes())
    diffs = tmp_path / "diffs"
    before = _files(tmp_path)
    paths = [str(odd / ".." / "odd" / copies[0].name)] + [str(p) for p in copies[1:]]  # with a '..' in the path
    result = run("verify", *paths, "--diff", diffs)
    assert result.exit_code == 0, result.stderr
    new = _files(tmp_path) - before
    assert new and all(p.parent == diffs for p in new), new
    assert {p.name for p in new} == {Path(n).stem + ".diff.png" for n in names}


def test_verify_diff_with_a_very_long_name(intact: Path, art, tmp_path: Path) -> None:
    # Was 'internal error (OSError: File name too long)', exit 1, after the verdict was computed.
    image = art(9)
    _register(image)
    result = run("verify", image, "--diff", tmp_path / ("d" * 300 + ".png"))
    _one_line_error(result, 5)
    assert list(tmp_path.glob("*.png")) == []


# --- Very long strings ------------------------------------------------------------------------------------


def test_100kb_title_is_refused(intact: Path, art) -> None:
    result = run("register", art(10), "--license", "CC0-1.0", "--title", "T" * 100_000)
    _one_line_error(result, 2)
    assert f"longer than {TITLE_LIMIT} characters" in result.stderr
    assert run_json("list")[1]["data"] == []
    # At the limit it is accepted and kept whole.
    result = run("register", art(10), "--license", "CC0-1.0", "--title", "T" * TITLE_LIMIT)
    assert result.exit_code == 0 and run_json("show", result.stdout.strip())[1]["data"]["work"]["title"] == "T" * 500


def test_10kb_work_id_prefix(intact: Path, art, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work_id = _register(art(11))
    monkeypatch.chdir(tmp_path)
    long_prefix = (work_id * 200)[:10_000]  # starts with the real id, but no id is 10,000 characters long
    for command in (["show"], ["history"], ["log", "prove"], ["export"], ["license", "grant"], ["transfer"]):
        extra = {"export": ["--bundle", "x.json"], "grant": ["--to", "a", "--terms", "b"],
                 "transfer": ["--to", "ff" * 32]}.get(command[-1], [])
        result = run(*command, long_prefix, *extra)
        assert result.exit_code in (2, 6), (command, result.exit_code, result.stderr[:200])
        _one_line_error(result, result.exit_code)
    assert not Path("x.json").exists()


@pytest.mark.parametrize("reference", ["0" * 10_000, "0" * 300, "a/" * 3000, "a\x00b"])
def test_mint_with_a_very_long_reference(intact: Path, reference: str) -> None:
    # WORK is an image path or a work id; a name over the file-name limits is neither (Path.is_file() raised
    # ENAMETOOLONG: 'internal error', exit 1).
    result = run("mint", reference)
    _one_line_error(result, result.exit_code)
    assert result.exit_code in (2, 6)


def test_5000_character_licence_id(intact: Path, art) -> None:
    licence_id = "LicenseRef-" + "x" * 4989
    _one_line_error(run("license", "add", licence_id), 2)  # custom ids are at most 64 characters after the prefix
    _one_line_error(run("register", art(12), "--license", licence_id), 6)
    _one_line_error(run("license", "show", licence_id), 6)
    # 64 is the documented limit: accepted whole.
    assert run("license", "add", "LicenseRef-" + "x" * 64).exit_code == 0


def test_very_long_grantee_and_name(intact: Path, art) -> None:
    work_id = _register(art(13))
    _one_line_error(run("license", "grant", work_id, "--to", "g" * 10_000, "--terms", "t"), 2)
    _one_line_error(run("license", "grant", work_id, "--to", "g", "--terms", "t" * (FIELD_LIMIT + 1)), 2)
    _one_line_error(run("license", "add", "LicenseRef-Long", "--name", "n" * 100_000), 2)
    assert run("license", "grant", work_id, "--to", "g" * FIELD_LIMIT, "--terms", "t").exit_code == 0


# --- File names that are not UTF-8 ------------------------------------------------------------------------

# Bytes a Linux file name may hold; Python shows them as U+DC80-U+DCFF (os.fsdecode, surrogateescape).
RAW_NAMES = [b"\xff\xfe.png", b"caf\xe9.png"]


@pytest.fixture
def raw_named(tmp_path: Path, art) -> list[Path]:
    """PNG files whose names are not UTF-8, with distinct pixels."""
    folder = tmp_path / "raw"
    folder.mkdir()
    paths = []
    for seed, raw in enumerate(RAW_NAMES, start=20):
        path = folder / os.fsdecode(raw)
        path.write_bytes(art(seed).read_bytes())
        paths.append(path)
    return paths


def test_non_utf8_names_register_and_verify_through_argv(intact: Path, raw_named: list[Path]) -> None:
    for path in raw_named:
        result = run("register", path, "--license", "CC0-1.0")  # one image: prints only the work id
        assert result.exit_code == 0, result.stderr
        work_id = result.stdout.strip()
        # The default title is the file name, its undecodable bytes shown as U+FFFD (textutil.clean_text).
        title = run_json("show", work_id)[1]["data"]["work"]["title"]
        assert title == path.stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    # An unreadable one is a one-line error that names it (stderr escapes what it cannot print).
    missing = raw_named[0].with_name(os.fsdecode(b"gone\xff.png"))
    _one_line_error(run("fingerprint", missing), 5)


def test_non_utf8_name_on_stdin(intact: Path, raw_named: list[Path]) -> None:
    # Paths on stdin are bytes, as file names are (text-mode stdin made this 'internal error
    # (UnicodeDecodeError)', exit 1, under a UTF-8 locale's strict stdin).
    listing = b"".join(os.fsencode(p) + b"\n" for p in raw_named)
    code, envelope = run_json("register", "-", "--license", "CC0-1.0", input=listing)
    assert code == 0, envelope
    assert [w["path"] for w in envelope["data"]] == [str(p) for p in raw_named]  # they round-trip
    result = run("fingerprint", "-", input=listing + os.fsencode(raw_named[0].with_name("gone\udcff.png")) + b"\n")
    _one_line_error(result, 5)


@pytest.mark.parametrize("command", [["fingerprint", "--json"], ["verify", "--json"], ["register", "--json"],
                                     ["fingerprint"], ["verify"], ["register", "{second}"]])
def test_output_with_undecodable_file_name(intact: Path, raw_named: list[Path], command: list[str]) -> None:
    # Under a UTF-8 locale's strict stdout these were a traceback (UnicodeEncodeError, exit 1), and under
    # C.UTF-8 invalid UTF-8 in the JSON; `register` had already committed when the output failed.
    first, second = raw_named
    if command[0] == "verify":
        assert run("register", first, "--license", "CC0-1.0").exit_code == 0
    args = [str(second) if a == "{second}" else a for a in command[1:]]
    extra = ["--license", "CC0-1.0"] if command[0] == "register" else []
    result = run(command[0], first, *args, *extra)
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    if "--json" in command:
        for line in result.stdout_bytes.splitlines():
            envelope = json.loads(line.decode("utf-8"))  # JSON text is UTF-8 (RFC 8259)
            data = envelope["data"][0] if isinstance(envelope["data"], list) else envelope["data"]
            assert data["path"] == str(first)  # the name's bytes come back through the \udcXX escapes
    else:
        assert os.fsencode(first) in result.stdout_bytes or command[0] == "verify"


def test_an_error_about_a_hostile_file_name_does_not_send_its_escape_sequence_to_the_terminal(intact: Path) -> None:
    result = run("fingerprint", "\x1b[31mred.png")
    _one_line_error(result, 5)
    assert "\x1b" not in result.stderr and "\\x1b[31mred.png" in result.stderr
