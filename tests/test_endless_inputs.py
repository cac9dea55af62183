"""Inputs that never end: FIFOs, devices, sockets, oversized files and endless stdin.

Each is refused with one ``Error:`` line and exit 5 before it is opened or read through, and the registry is
unchanged.  The CLI runs as a real process with a timeout, so a regression (an open that blocks on a FIFO, a
read of /dev/zero that grows until the kernel kills it) fails the test instead of hanging the suite.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run, run_process
from registry_helpers import registry_state

from artforge.config import DEFAULT_MAX_FILE_BYTES, MAX_STDIN_BYTES, MAX_STDIN_LINE_BYTES, MAX_STDIN_LINES
from artforge.errors import BadInput
from artforge.fsutil import read_path_lines, read_regular_file

BAD_INPUT = 5


@pytest.fixture
def registry(isolated_home: Path, art) -> Path:
    """A home with one registered work: refusals must leave it exactly as it is."""
    assert run("init", "--no-encrypt").exit_code == 0
    assert run("register", art(0), "--license", "CC0-1.0").exit_code == 0
    return isolated_home


def _refused(result, *words: str) -> None:
    assert result.returncode == BAD_INPUT, (result.returncode, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


IMAGE_COMMANDS = [["fingerprint"], ["verify"], ["register", "--license", "CC0-1.0"]]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", IMAGE_COMMANDS, ids=lambda c: c[0])
def test_a_fifo_is_refused_without_blocking(registry: Path, fifo: Path, command: list[str]) -> None:
    before = registry_state(registry)
    # No writer ever opens the FIFO: an open() for reading would wait for one forever.
    _refused(run_process(command[0], fifo, *command[1:], timeout=600), str(fifo), "FIFO")
    assert registry_state(registry) == before


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
@pytest.mark.parametrize("command", IMAGE_COMMANDS, ids=lambda c: c[0])
def test_character_devices_are_refused(registry: Path, device: str, command: list[str]) -> None:
    before = registry_state(registry)
    _refused(run_process(command[0], device, *command[1:], timeout=600), device, "character device")
    assert registry_state(registry) == before


def test_a_unix_socket_is_refused(registry: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.png"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        server.listen()
        before = registry_state(registry)
        for command in IMAGE_COMMANDS:
            _refused(run_process(command[0], path, *command[1:], timeout=600), "socket")
        assert registry_state(registry) == before
    finally:
        server.close()


def test_an_oversized_file_is_refused_before_it_is_read(registry: Path, tmp_path: Path, art) -> None:
    big = tmp_path / "big.png"
    with open(big, "wb") as handle:  # sparse: takes no disk space
        handle.truncate(DEFAULT_MAX_FILE_BYTES + 1)
    before = registry_state(registry)
    for command in IMAGE_COMMANDS:
        # With a good image beside it, so a register batch is refused as a whole.
        _refused(run_process(command[0], art(1), big, *command[1:], timeout=600), "over the", "byte limit")
    assert registry_state(registry) == before


def test_mint_and_generate_refuse_a_fifo(registry: Path, fifo: Path, art) -> None:
    work_id = run("register", art(0), "--license", "CC0-1.0").stdout.strip()
    for args in (["mint", fifo], ["mint", work_id, "--image", fifo], ["mint", work_id, "--image", "/dev/zero"],
                 ["generate", fifo], ["generate", "/dev/zero"]):
        _refused(run_process(*args, timeout=120), "not a regular file")


# --- Paths on stdin --------------------------------------------------------------------------------------


def test_an_over_long_stdin_line_is_refused(registry: Path) -> None:
    before = registry_state(registry)
    result = run_process("register", "-", "--license", "CC0-1.0", input=b"a" * (MAX_STDIN_LINE_BYTES + 1) + b"\n")
    _refused(result, "stdin", "line 1", f"over {MAX_STDIN_LINE_BYTES} bytes")
    assert registry_state(registry) == before


def test_too_many_stdin_lines_are_refused(registry: Path, art) -> None:
    before = registry_state(registry)
    lines = f"{art(1)}\n".encode() * (MAX_STDIN_LINES + 1)
    _refused(run_process("register", "-", "--license", "CC0-1.0", input=lines), f"more than {MAX_STDIN_LINES}")
    assert registry_state(registry) == before


def test_the_longest_path_and_crlf_lines_are_read(art) -> None:
    longest = b"/" + b"x" * (MAX_STDIN_LINE_BYTES - 1)
    stream = io.BytesIO(f"{art(1)}\r\n\n   \n".encode() + longest + b"\r\n" + b"last")
    assert read_path_lines(stream) == [str(art(1)), os.fsdecode(longest), "last"]


# Writers that go on far past every cap; the CLI must refuse them having read only up to its cap.
ENDLESS = {
    "zeros-no-newline": "import sys\nwhile True: sys.stdout.buffer.write(bytes(1 << 16))",  # the line cap
    "yes": "import sys\nwhile True: sys.stdout.buffer.write(b'y\\n' * 32768)",  # the line-count cap
    "long-lines": "import sys\nline = b'/' + b'p' * 4000 + b'\\n'\n"  # the byte cap, under the others
                  "while True: sys.stdout.buffer.write(line * 16)",
}


@pytest.mark.parametrize("writer", sorted(ENDLESS))
def test_endless_stdin_is_refused_without_reading_it_all(isolated_home: Path, writer: str) -> None:
    producer = subprocess.Popen([sys.executable, "-c", ENDLESS[writer]], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    try:
        result = run_process("fingerprint", "-", stdin=producer.stdout, timeout=120)
    finally:
        producer.stdout.close()
        producer.kill()
        producer.wait()
    expected = {"zeros-no-newline": "line 1 is over", "yes": f"more than {MAX_STDIN_LINES} lines",
                "long-lines": f"over {MAX_STDIN_BYTES} bytes"}[writer]
    _refused(result, "stdin", expected)


def test_dev_zero_on_stdin(isolated_home: Path) -> None:
    with open("/dev/zero", "rb") as zeros:
        _refused(run_process("verify", "-", stdin=zeros, timeout=600), "stdin", "line 1 is over")


# --- The helper itself ----------------------------------------------------------------------------------


def test_read_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(b"hello")
    assert read_regular_file(path, 5) == b"hello"
    with pytest.raises(BadInput, match="over the 4-byte limit for a licence text"):
        read_regular_file(path, 4, "a licence text")
    with pytest.raises(BadInput, match="is a directory, not a licence text"):
        read_regular_file(tmp_path, 100, "a licence text")
    with pytest.raises(BadInput, match="no such file"):
        read_regular_file(tmp_path / "absent", 100)
    with pytest.raises(BadInput, match="character device"):
        read_regular_file("/dev/zero", 100)
    with pytest.raises(BadInput, match="not a valid file name"):
        read_regular_file("bad\0name", 100)


def test_a_file_longer_than_its_stated_size_is_read_no_further_than_the_limit() -> None:
    # /proc files state a size of 0 and hold more, like a file that grows while it is read.
    status = Path("/proc/self/status")
    if not status.exists() or status.stat().st_size != 0:
        pytest.skip("needs Linux /proc")
    assert read_regular_file(status, 1 << 20).startswith(b"Name:")
    with pytest.raises(BadInput, match="grew over the 10-byte limit"):
        read_regular_file(status, 10)


def test_read_regular_file_refuses_a_fifo_unopened(fifo: Path) -> None:
    # In a child with a deadline: an open() of the FIFO here would block this test for ever.
    code = ("import sys\nfrom artforge.fsutil import read_regular_file\nfrom artforge.errors import BadInput\n"
            f"try: read_regular_file({str(fifo)!r}, 100)\nexcept BadInput as exc: print(exc)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert "FIFO (named pipe), not a regular file" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("source", ["fifo", "/dev/zero"])
def test_licence_texts_and_saved_checkpoints_are_read_as_bounded_regular_files(registry: Path, fifo: Path,
                                                                              source: str) -> None:
    path = fifo if source == "fifo" else Path(source)
    before = registry_state(registry)
    _refused(run_process("license", "add", "LicenseRef-Endless", "--text", path, timeout=600), str(path))
    _refused(run_process("audit", "--against", path, timeout=600), str(path))
    assert registry_state(registry) == before
