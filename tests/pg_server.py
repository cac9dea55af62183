"""A throwaway PostgreSQL server for the tests: Debian's binaries, a fresh cluster in a temporary folder.

``make test`` installs Debian's ``postgresql`` with apt when run as root (as CI is).  ``initdb`` refuses
root, so as root the cluster belongs to the ``postgres`` user (``runuser``); elsewhere to whoever runs the
tests.  The server listens only on a Unix socket in its own folder (no port to collide with), trusts local
connections, and is stopped (and its folder removed) when the session ends.  Each test that asks gets a
database of its own.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

START_GUARD_S = 120  # a generous bound for initdb + start on a loaded 2-core machine
PORT = 5432  # only names the socket file: the server opens no TCP port


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), or None when not installed."""
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().with_name("initdb").exists():
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    return None


@dataclass
class PgServer:
    """A running cluster: URLs to its databases, and a way to make a fresh one."""

    folder: Path
    bin: Path
    run_as: list[str]
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://artforge@/{database}?host={self.socket_dir}&port={PORT}"

    def new_database(self, prefix: str = "t") -> str:
        """CREATE a fresh database; returns its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                        "immediate", "stop"], capture_output=True, timeout=START_GUARD_S)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server(durable: bool = False) -> PgServer:
    """initdb + pg_ctl start; raises RuntimeError with the server's own words when it cannot.

    Tests run without fsync (nothing of theirs must survive a power cut); benchmarks ask for ``durable``, so
    PostgreSQL flushes as a production server does and is compared with SQLite fairly."""
    binaries = postgres_bin()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="artforge-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres", "postgres")
    os.chmod(folder, 0o755)
    server = PgServer(folder, binaries, run_as)
    steps = [
        [str(binaries / "initdb"), "-D", str(folder / "data"), "-U", "artforge", "-A", "trust", "--locale=C",
         "-E", "UTF8", "--no-sync"],
        ["mkdir", "-p", str(server.socket_dir)],
        [str(binaries / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "server.log"), "-w", "-o",
         f"-k {server.socket_dir} -c listen_addresses='' -p {PORT} -c max_connections=60"
         + ("" if durable else " -c fsync=off"), "start"],
    ]
    for step in steps:
        done = subprocess.run([*run_as, *step], capture_output=True, text=True, timeout=START_GUARD_S)
        if done.returncode != 0:
            log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
            server.stop()
            raise RuntimeError(f"{Path(step[0]).name} failed: {done.stderr.strip() or done.stdout.strip()} {log}")
    return server
