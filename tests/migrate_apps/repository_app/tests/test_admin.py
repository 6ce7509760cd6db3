import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app.admin import cli, count_notes

PROJECT = Path(__file__).resolve().parents[1]


def test_admin_commands_in_process():
    runner = CliRunner()
    created = runner.invoke(cli, ["add-user", "admin@example.com", "Admin"])
    assert created.exit_code == 0, created.output
    user_id = int(created.output.split()[1])

    again = runner.invoke(cli, ["add-user", "admin@example.com", "Again"])
    assert again.exit_code == 1 and "already registered" in again.output

    renamed = runner.invoke(cli, ["rename-user", str(user_id), "Root"])
    assert renamed.output == f"user {user_id} renamed to Root\n"
    missing = runner.invoke(cli, ["rename-user", "9999", "Nobody"])
    assert missing.exit_code == 1 and "no user 9999" in missing.output

    assert runner.invoke(cli, ["count-notes", "--author", str(user_id)]).output == "0 notes\n"
    listed = runner.invoke(cli, ["list-users"]).output.splitlines()
    assert f"{user_id}\tadmin@example.com\tRoot\t0 notes" in listed


def test_a_command_called_as_a_function_still_runs():
    # click commands are callable objects; their callback is the plain function
    assert count_notes.callback(author_id=9999) == 0


def test_admin_as_a_script(tmp_path):
    env = dict(os.environ, NOTES_DATABASE_URL=f"sqlite:///{tmp_path / 'admin.db'}")

    def admin(*args):
        return subprocess.run(
            [sys.executable, "-m", "app.admin", *args],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
        )

    assert admin("reset-db", "--yes").stdout == "tables reset\n"
    assert admin("add-user", "script@example.com", "Script").stdout == "user 1 created\n"
    assert admin("count-notes").stdout == "0 notes\n"
    assert admin("rename-user", "1", "Renamed").stdout == "user 1 renamed to Renamed\n"
    assert admin("list-users").stdout == "1\tscript@example.com\tRenamed\t0 notes\n"
