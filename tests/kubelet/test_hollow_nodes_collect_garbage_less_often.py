"""A hollow-node process, once its nodes are registered, freezes what registration left (a
full collection no longer walks it) and collects its young generation and its whole heap
less often than CPython's defaults; cyclic garbage made afterwards is still collected.
Run in a child process: the settings are the interpreter's."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc
from jetkube.services.kubelet.hollow import GC_THRESHOLDS
from jetkube.services.machinery.runtime import tune_gc

kept = [[i] for i in range(1000)]  # what registration leaves
defaults = gc.get_threshold()
tune_gc(GC_THRESHOLDS, freeze=True)
frozen = gc.get_freeze_count()
class Cycle:
    pass
a = Cycle(); b = Cycle(); a.b = b; b.a = a
import weakref
gone = weakref.ref(a)
del a, b
gc.collect()
raised = gc.get_threshold() == GC_THRESHOLDS and all(
    t >= d for t, d in zip(GC_THRESHOLDS, defaults))
print(raised, frozen >= 1000, gone() is None)
"""


def test_registration_is_frozen_thresholds_are_raised_and_cycles_still_collected() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["True", "True", "True"], out
