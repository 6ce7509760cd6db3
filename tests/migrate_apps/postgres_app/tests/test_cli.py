from click.testing import CliRunner

from app.cli import cli


def test_commands_run_one_after_another_in_one_process():
    runner = CliRunner()
    first = runner.invoke(cli, ["add-author", "Cli Author One"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["add-author", "Cli Author Two"])
    assert second.exit_code == 0, second.output
    again = runner.invoke(cli, ["add-author", "Cli Author One"])
    assert again.exit_code == 1
    assert "Cli Author One is already registered" in again.output
    listed = runner.invoke(cli, ["authors"])
    assert listed.exit_code == 0, listed.output
    assert "\tCli Author One\t0 books" in listed.output
    assert "\tCli Author Two\t0 books" in listed.output
