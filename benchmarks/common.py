"""What the benchmarks share: stage clocks, peak RSS, timed calls and fresh child processes.

The benchmarks live outside the runtime package (docs/benchmarks.md); `hotspots bench ...` puts the repository
root on sys.path and imports them as ``benchmarks.<name>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]


class StageClock:
    """Wall time per stage: wraps named functions in their modules and adds up their seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def _add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def wrap(self, module: Any, name: str, stage: str) -> None:
        """Time every call of module.name (replaced in place, behaviour unchanged)."""
        inner = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self._add(stage, time.perf_counter() - started)

        setattr(module, name, timed)

    def wrap_context(self, module: Any, name: str, stage: str) -> None:
        """The same for a context manager: the time to enter and to exit it (not its body)."""
        inner = getattr(module, name)
        clock = self

        @contextlib.contextmanager
        def timed(*args: Any, **kwargs: Any) -> Any:
            manager = inner(*args, **kwargs)
            started = time.perf_counter()
            value = manager.__enter__()
            clock._add(stage, time.perf_counter() - started)
            try:
                yield value
            except BaseException:
                if not manager.__exit__(*sys.exc_info()):
                    raise
            else:
                started = time.perf_counter()
                manager.__exit__(None, None, None)
                clock._add(stage, time.perf_counter() - started)

        setattr(module, name, timed)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, MB (a fresh process measures only its own work)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timing:
    """One timed call: what, how many items, how long."""

    name: str
    items: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.items / self.seconds


def timed(name: str, items: int, fn: Callable[[], Any]) -> tuple[Any, Timing]:
    """fn's result and its wall time."""
    started = time.perf_counter()
    result = fn()
    return result, Timing(name, items, time.perf_counter() - started)


def median_run(runs: list[Any], seconds: Callable[[Any], float]) -> Any:
    """The median of several timed runs (the upper one of an even count)."""
    return sorted(runs, key=seconds)[len(runs) // 2]


def run_child(module: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """``python -m benchmarks.<module> ARGS`` in a fresh process (its peak RSS is its own); returns the JSON
    object on its last line of output."""
    path = os.pathsep.join(p for p in (str(ROOT), (env or os.environ).get("PYTHONPATH", "")) if p)
    out = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        env={**(os.environ if env is None else env), "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"benchmarks.{module} {' '.join(args)[:200]} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
