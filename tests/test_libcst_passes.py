"""What a file that changes costs in libcst: passes that add nothing are not made.

The same import is scheduled for removal once per use a codemod replaced; one pass of the
import remover (with its scope analysis) per distinct removal, not per request. Codemods are
plain transformers: libcst's matcher-decorator base walks every new instance's ~1,700
attributes for decorators no codemod uses."""

from __future__ import annotations

from asyncfix.codemods import import_removal
from asyncfix.codemods.engine import transform_standalone
from asyncfix.codemods.registry import REGISTRY
from conftest import DEFAULT_SETTINGS
from libcst.matchers import MatcherDecoratableTransformer

SOURCE = b"import time\n\n\nasync def f():\n" + b"    time.sleep(1)\n" * 14


def test_one_removal_pass_for_an_import_scheduled_many_times(monkeypatch):
    passes = []
    original = import_removal.RemoveImports.transform_module

    def counting(self, tree):
        passes.append(self)
        return original(self, tree)

    monkeypatch.setattr(import_removal.RemoveImports, "transform_module", counting)
    outcome = transform_standalone(SOURCE, "app.py", DEFAULT_SETTINGS)
    assert (
        outcome.new
        == b"import asyncio\n\n\nasync def f():\n" + b"    await asyncio.sleep(1)\n" * 14
    )
    # One pass per round that rewrote (the second round, on the output, schedules nothing).
    assert len(passes) == 1


def test_two_aliases_of_one_module_are_still_two_passes():
    source = (
        b"async def f():\n    import time\n    time.sleep(1)\n\n\n"
        b"async def g():\n    import time as t\n    t.sleep(1)\n    t.sleep(2)\n"
    )
    outcome = transform_standalone(source, "app.py", DEFAULT_SETTINGS)
    assert b"import time" not in outcome.new and b"sleep(1)" in outcome.new
    assert outcome.new.count(b"await asyncio.sleep(") == 3


def test_codemods_are_not_matcher_decoratable():
    for codemod in REGISTRY:
        assert not issubclass(codemod, MatcherDecoratableTransformer), codemod.NAME
