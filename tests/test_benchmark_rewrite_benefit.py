"""Smoke test of benchmarks/rewrite_benefit.py: its sample app is one asyncfix rewrites fully.

No server and no load here (the benchmark is a script, run by hand): only that the app writer
produces a project in which asyncfix rewrites every family the benchmark measures, that both
versions compile, and that the answers the script expects agree with the seeded SQLite file.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import sys

from asyncfix.cli import main
from click.testing import CliRunner
from conftest import REPO


def load_script():
    spec = importlib.util.spec_from_file_location(
        "rewrite_benefit", REPO / "benchmarks" / "rewrite_benefit.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_sample_app_is_rewritten_into_its_async_version(tmp_path):
    bench = load_script()
    root = bench.write_app(tmp_path / "app")
    before = {path.name: path.read_text() for path in root.glob("*.py")}
    assert bench.rewrite_problems(root, {"summary": {"rewrites": {}, "failed": 0}})  # not yet

    result = CliRunner().invoke(
        main,
        ["--apply", "--jobs", "1", "--output-format", "json", str(root)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert bench.rewrite_problems(root, document) == []
    assert document["diagnostics"] == []
    assert {"aiosqlite", "greenlet"} <= set(document["summary"]["requirements"])
    for path in root.glob("*.py"):
        compile(path.read_text(), str(path), "exec")
        compile(before[path.name], path.name, "exec")
    assert "time.sleep" not in (root / "main.py").read_text()
    main_text = (root / "main.py").read_text()
    # no use and no import of requests left (the shared client's docstring may name it)
    assert "requests." not in main_text
    assert not re.search(r"^\s*(import requests|from requests\b)", main_text, re.M)

    expected = bench.expected_bodies()
    with sqlite3.connect(root / "bench.db") as db:
        rows = db.execute(
            "SELECT id, name, price FROM items WHERE price >= ? ORDER BY name DESC LIMIT 5",
            (bench.MIN_PRICE,),
        ).fetchall()
    db.close()
    assert expected["/db"] == [{"id": i, "name": n, "price": p} for i, n, p in rows]
    assert len(rows) == 5
