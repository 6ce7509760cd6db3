"""Wall time per phase of a run."""

from __future__ import annotations

import os
import sys
import time
from typing import Dict

# Wall seconds per phase of the last run() in this process (benchmarks/tool_speed.py prints
# them; with ASYNCFIX_PHASES=1 in the environment, run() writes them to stderr at the end).
PHASES: Dict[str, float] = {}


def phase(name: str, started: float) -> float:
    now = time.perf_counter()
    PHASES[name] = PHASES.get(name, 0.0) + now - started
    return now


def print_phases() -> None:
    if os.environ.get("ASYNCFIX_PHASES"):
        shown = (
            f"{k} {v:.0f}" if k.startswith("files") or k == "rounds" else f"{k} {v:.2f} s"
            for k, v in PHASES.items()
        )
        print("asyncfix phases: " + ", ".join(shown), file=sys.stderr)
