"""A service process (runtime.tune_gc: the API server, the controller-manager, the
scheduler, the hollow nodes) collects its young generation and its whole heap less often
than CPython's defaults (its caches hold thousands of pods without cycles), unless
JETKUBE_GC_DEFAULT=1; with ``freeze`` what it holds then is never walked again; cyclic
garbage is still collected.  Run in a child process: the settings are the interpreter's."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import gc, sys, weakref
from jetkube.services.machinery.runtime import GC_THRESHOLDS, tune_gc

hollow = sys.argv[1] == "hollow"
want = GC_THRESHOLDS
kept = [[i] for i in range(1000)]  # what a start-up leaves
defaults = gc.get_threshold()
tune_gc(want, freeze=hollow)
frozen = gc.get_freeze_count()
class Cycle:
    pass
a = Cycle(); b = Cycle(); a.b = b; b.a = a
gone = weakref.ref(a)
del a, b
gc.collect()
raised = gc.get_threshold() == want and all(t >= d for t, d in zip(want, defaults))
print(raised, gc.get_threshold() == defaults, gone() is None, frozen >= 1000)
"""


def _child(kind: str, **env: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", CHILD, kind], capture_output=True,
                          text=True, timeout=60, check=True,
                          env={**os.environ, **env}).stdout.split()


def test_thresholds_are_raised_and_cycles_still_collected() -> None:
    assert _child("service", JETKUBE_GC_DEFAULT="0") == ["True", "False", "True", "False"]


def test_a_freeze_leaves_what_start_up_built_out_of_every_walk() -> None:
    assert _child("hollow", JETKUBE_GC_DEFAULT="0") == ["True", "False", "True", "True"]


def test_the_defaults_stay_when_asked_for() -> None:
    assert _child("hollow", JETKUBE_GC_DEFAULT="1") == ["False", "True", "True", "False"]
