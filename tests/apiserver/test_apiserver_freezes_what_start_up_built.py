"""The API server process, once ready, moves what start-up built out of the collector's
walks (runtime.tune_gc with freeze); a server that fails before it is ready raises its
error and freezes nothing.  Run in a child process: the collector's state is the
interpreter's, and the in-process API servers of other tests must not freeze pytest's."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import asyncio, gc, sys
from jetkube.services.apiserver import main

class Server:
    def __init__(self, cfg):
        self.ready = asyncio.Event()
        self.frozen_before_ready = None
    async def run(self):
        if sys.argv[1] == "fail":
            raise OSError("address in use")
        self.frozen_before_ready = gc.get_freeze_count()
        self.ready.set()
        await asyncio.sleep(0.05)
        print("frozen while serving", gc.get_freeze_count() > 0)
    def stop(self):
        pass

main.ApiServer = Server
before = gc.get_freeze_count()
try:
    asyncio.run(main._run(None))
except OSError as err:
    print("raised", err)
print("frozen at the start", before > 0, "at the end", gc.get_freeze_count() > 0)
"""


def _child(kind: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind], capture_output=True, text=True,
                         timeout=60, check=True,
                         env={**os.environ, "JETKUBE_GC_DEFAULT": "0"}).stdout
    return out.strip().splitlines()


def test_a_ready_server_freezes_what_start_up_built() -> None:
    assert _child("ok") == ["frozen while serving True",
                            "frozen at the start False at the end True"]


def test_a_server_that_fails_before_ready_raises_and_freezes_nothing() -> None:
    assert _child("fail") == ["raised address in use",
                              "frozen at the start False at the end False"]
