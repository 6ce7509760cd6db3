"""A throwaway PostgreSQL cluster for the test session: initdb, pg_ctl start, pg_ctl stop."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple


def find_bindir() -> Optional[Path]:
    """Where initdb and pg_ctl are: ``pg_config --bindir``, else Debian's versioned directories."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        bindir = Path(found.stdout.strip())
        if found.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def unavailable() -> Optional[str]:
    """Why a cluster cannot be started here, or None."""
    if find_bindir() is None:
        return "PostgreSQL is not installed (no pg_config, no /usr/lib/postgresql/*/bin/initdb)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """initdb in a temporary directory, a server on a free port of 127.0.0.1 (trust auth)."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.directory = Path(tempfile.mkdtemp(prefix="pg-tests-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self.user = "postgres"

    def _command(self, program: str, *args: str) -> List[str]:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, program: str, *args: str) -> Tuple[int, str]:
        process = subprocess.run(
            self._command(program, *args), capture_output=True, text=True, timeout=120
        )
        return process.returncode, process.stdout + process.stderr

    def start(self) -> str:
        if os.geteuid() == 0:
            shutil.chown(self.directory, user="postgres")
        code, output = self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust",
            "--encoding=UTF8", "--no-sync",
        )
        if code:
            raise RuntimeError(f"initdb failed:\n{output}")
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        code, output = self._run(
            "pg_ctl", "start", "-w", "-D", str(self.data), "-o", options,
            "-l", str(self.directory / "server.log"),
        )
        if code:
            log = (self.directory / "server.log")
            raise RuntimeError(
                f"pg_ctl start failed:\n{output}\n{log.read_text() if log.exists() else ''}"
            )
        return self.url()

    def url(self, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", "fast")
        shutil.rmtree(self.directory, ignore_errors=True)
