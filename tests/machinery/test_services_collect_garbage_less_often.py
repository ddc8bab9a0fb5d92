"""A service process (the API server, the scheduler: runtime.tune_gc) collects its young
generation and its whole heap less often than CPython's defaults (its caches hold
thousands of pods without cycles), unless JETKUBE_GC_DEFAULT=1; cyclic garbage is still
collected.  Run in a child process: the settings are the interpreter's."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import gc, weakref
from jetkube.services.machinery.runtime import GC_THRESHOLDS, tune_gc

defaults = gc.get_threshold()
tune_gc()
class Cycle:
    pass
a = Cycle(); b = Cycle(); a.b = b; b.a = a
gone = weakref.ref(a)
del a, b
gc.collect()
raised = gc.get_threshold() == GC_THRESHOLDS and all(
    t >= d for t, d in zip(GC_THRESHOLDS, defaults))
print(raised, gc.get_threshold() == defaults, gone() is None)
"""


def _child(**env: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=60, check=True, env={**os.environ, **env}).stdout.split()


def test_thresholds_are_raised_and_cycles_still_collected() -> None:
    assert _child(JETKUBE_GC_DEFAULT="0") == ["True", "False", "True"]


def test_the_defaults_stay_when_asked_for() -> None:
    assert _child(JETKUBE_GC_DEFAULT="1") == ["False", "True", "True"]
