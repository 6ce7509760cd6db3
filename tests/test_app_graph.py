"""Where an app's shared resource lives (codemods/app_graph.py): the host is a module the app
imports whose own imports reach none of the modules that will import from it, so no import
asyncfix adds closes a cycle."""

from __future__ import annotations

from codemods.app_graph import choose_host, reach

GRAPH = {
    "main.py": {"services.py", "reports.py"},
    "services.py": {"settings.py"},
    "reports.py": {"services.py"},
    "settings.py": set(),
}


def test_reach_follows_imports_through_other_modules():
    assert reach(GRAPH, "main.py") == {"services.py", "reports.py", "settings.py"}
    assert reach(GRAPH, "settings.py") == set()


def test_the_host_imports_none_of_the_modules_that_will_import_it():
    # reports imports services: reports as host would make services import reports back.
    assert (
        choose_host(["reports.py", "services.py"], ["main.py", "reports.py", "services.py"], GRAPH)
        == "services.py"
    )
    assert choose_host(["services.py"], ["main.py", "services.py"], GRAPH) == "services.py"


def test_no_host_when_every_choice_makes_a_cycle():
    cycle = {"a.py": {"b.py"}, "b.py": {"a.py"}, "app.py": {"a.py"}}
    assert choose_host(["a.py", "b.py"], ["app.py", "a.py", "b.py"], cycle) is None
