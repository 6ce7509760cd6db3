import os
import subprocess
import sys
from pathlib import Path

from app.cli import main

PROJECT = Path(__file__).resolve().parents[1]


def test_cli_main_in_process(capsys):
    assert main(["add-user", "cli@example.com", "Cli"]) == 0
    created = capsys.readouterr().out
    assert created.startswith("user ")
    user_id = int(created.split()[1])

    assert main(["add-note", str(user_id), "from the cli"]) == 0
    assert main(["add-user", "cli@example.com", "Again"]) == 1
    assert "already registered" in capsys.readouterr().err

    assert main(["list-users"]) == 0
    assert f"{user_id}\tcli@example.com\tCli\t1 notes" in capsys.readouterr().out.splitlines()


def test_cli_as_a_script(tmp_path):
    env = dict(os.environ, NOTES_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")

    def notes(*args):
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
        )

    assert notes("init-db").stdout == "tables created\n"
    assert notes("add-user", "script@example.com", "Script").stdout == "user 1 created\n"
    assert notes("add-note", "1", "hello").stdout == "note 1 created\n"
    failed = notes("add-note", "2", "nobody")
    assert failed.returncode == 1 and "no user 2" in failed.stderr
    assert notes("list-users").stdout == "1\tscript@example.com\tScript\t1 notes\n"
