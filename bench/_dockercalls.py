"""Docker Engine API calls counted by endpoint: for benchmarks and tests, never production.

:class:`CallCounter` wraps the docker SDK's low-level ``APIClient`` (its ``_get``,
``_post``, ``_put``, ``_delete`` and ``_head``, through which every Engine API request goes,
streams included), either one client (``counter.wrap(client.api)``, in a test or for the
benchmark's own raw calls) or the class (``counter.install()``, for a whole process).
Each request counts once under its endpoint with ids and image names replaced
(``POST /containers/{id}/start``, ``GET /images/{ref}/json``); :func:`kind` groups
endpoints the way the pod startup table shows them.  The calls a node agent makes on its
event loop (the runtime's ``Engine``, docker_engine.py: a pod's create, start and inspect)
are counted the same way: ``counter.wrap_engine(engine)`` for one, and ``install()``
counts every ``Engine`` as well.

Run as a program it runs another Python program (a node agent) in its own process with
the class wrapped, and writes the counts so far as JSON to ``DIR/<pid>.json`` whenever the
process gets SIGUSR1 (:func:`snapshot` sends it and sums the answers)::

    python bench/_dockercalls.py DIR jetkube-kubelet --node-name n1 ...
    python bench/_dockercalls.py DIR python -m jetkube.services.kubelet.main ...
"""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["CallCounter", "endpoint", "kind", "launcher", "per_pod", "snapshot"]

_VERSION = re.compile(r"^/v\d+(\.\d+)?(?=/)")
# (method, path pattern, endpoint); the first match names the request
_ENDPOINTS: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), e) for m, p, e in (
        ("POST", r"^/containers/create$", "POST /containers/create"),
        ("GET", r"^/containers/json$", "GET /containers/json"),
        ("*", r"^/containers/[^/]+/([a-z]+)$", "{method} /containers/{{id}}/{0}"),
        ("DELETE", r"^/containers/[^/]+$", "DELETE /containers/{{id}}"),
        ("*", r"^/images/(create|json|load|search|prune)$", "{method} /images/{0}"),
        ("*", r"^/images/.+/(json|history|push|tag)$", "{method} /images/{{ref}}/{0}"),
        ("DELETE", r"^/images/.+$", "DELETE /images/{{ref}}"),
        ("*", r"^/exec/[^/]+/([a-z]+)$", "{method} /exec/{{id}}/{0}"),
        ("*", r"^/networks/(create|prune)$", "{method} /networks/{0}"),
        ("*", r"^/networks/[^/]+/([a-z]+)$", "{method} /networks/{{id}}/{0}"),
        ("*", r"^/networks/[^/]+$", "{method} /networks/{{id}}"),
    )]
_KINDS = (("containers/create", "create"), ("containers/{id}/start", "start"),
          ("containers/{id}/json", "inspect"), ("images/{ref}/json", "image inspect"),
          ("images/create", "image pull"), ("/networks", "networks"), ("/exec", "exec"),
          ("containers/{id}/exec", "exec"), ("containers/{id}/wait", "wait"),
          ("/events", "events"), ("containers/json", "list"),
          ("containers/{id}/stop", "stop"), ("DELETE /containers", "remove"))


def endpoint(method: str, url: str) -> str:
    """``POST http+docker://localhost/v1.41/containers/ab12/start`` → ``POST
    /containers/{id}/start``."""
    path = re.sub(r"^[a-z+]+://[^/]*", "", url).split("?", 1)[0]
    path = _VERSION.sub("", path)
    for m, pattern, name in _ENDPOINTS:
        hit = pattern.match(path) if m in ("*", method) else None
        if hit:
            return name.format(*hit.groups(), method=method)
    return f"{method} {path}"


def kind(name: str) -> str:
    """The row of the startup table an endpoint counts under."""
    return next((k for part, k in _KINDS if part in name), "other")


class CallCounter:
    """Counts of Engine API requests by endpoint (thread-safe: the SDK runs in threads)."""

    METHODS = (("_get", "GET"), ("_post", "POST"), ("_put", "PUT"), ("_delete", "DELETE"),
               ("_head", "HEAD"))

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, method: str, url: Any) -> None:
        name = endpoint(method, str(url))
        with self._lock:
            self.counts[name] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    def since(self, before: Counter[str]) -> Counter[str]:
        """What was counted after ``before`` (a snapshot)."""
        now = self.snapshot()
        now.subtract(before)
        return +now

    def _counted(self, fn: Callable[..., Any], method: str, bound: bool) -> Callable[..., Any]:
        if bound:
            def one(url: Any, *args: Any, **kw: Any) -> Any:
                self.count(method, url)
                return fn(url, *args, **kw)
            return one

        def every(api: Any, url: Any, *args: Any, **kw: Any) -> Any:
            self.count(method, url)
            return fn(api, url, *args, **kw)
        return every

    def wrap(self, api: Any) -> Any:
        """Count the requests of one ``APIClient`` (``client.api``); returns it."""
        for attr, method in self.METHODS:
            if hasattr(api, attr):
                setattr(api, attr, self._counted(getattr(api, attr), method, True))
        return api

    def wrap_engine(self, engine: Any) -> Any:
        """Count the requests of one node agent ``Engine`` (docker_engine.py); returns it."""
        engine.request = self._counted_request(engine.request)
        return engine

    def _counted_request(self, request: Callable[..., Any]) -> Callable[..., Any]:
        """``Engine.request`` (bound, or the class's: the engine first), counted."""
        async def counted(*args: Any, **kw: Any) -> Any:
            method, path = args[-2:]  # request(method, path, ...): always positional
            self.count(method, path)
            return await request(*args, **kw)
        return counted

    def engine_of(self, api: Any) -> Any:
        """A node agent ``Engine`` on the daemon of ``api`` (an SDK ``APIClient``), counted:
        what a runtime made with ``DockerRuntime(client=..., engine=...)`` starts pods with."""
        from jetkube.services.kubelet.runtimes.docker_engine import Engine
        from jetkube.services.kubelet.runtimes.docker_session import daemon_address

        return self.wrap_engine(Engine(daemon_address(api), f"/v{api._version}"))

    def install(self) -> None:
        """Count the requests of every ``APIClient`` and every ``Engine`` of this process."""
        from docker.api.client import APIClient

        from jetkube.services.kubelet.runtimes.docker_engine import Engine

        for attr, method in self.METHODS:
            if hasattr(APIClient, attr):
                setattr(APIClient, attr, self._counted(getattr(APIClient, attr), method, False))
        Engine.request = self._counted_request(Engine.request)  # type: ignore[method-assign]


def by_kind(counts: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for name, n in counts.items():
        out[kind(name)] += n
    return out


def per_pod(counts: Counter[str], pods: int) -> dict[str, float]:
    """Calls per pod by kind, largest first."""
    return {k: n / max(1, pods) for k, n in by_kind(counts).most_common()}


def launcher(directory: Path) -> list[str]:
    """The command prefix that runs a program with its calls counted into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return [sys.executable, str(Path(__file__).resolve()), str(directory)]


def snapshot(directory: Path, pids: Iterable[int], within: float = 10.0) -> Counter[str]:
    """The counts so far of the launched processes ``pids``, summed (each asked by SIGUSR1)."""
    files = {pid: directory / f"{pid}.json" for pid in pids}
    for pid, f in files.items():
        f.unlink(missing_ok=True)
        os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + within
    total: Counter[str] = Counter()
    for pid, f in files.items():
        while not f.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"process {pid} wrote no Docker call counts to {f}")
            time.sleep(0.01)
        total.update(json.loads(f.read_text()))
    return total


def _run(directory: Path, cmd: list[str]) -> None:
    counter = CallCounter()
    counter.install()
    out = directory / f"{os.getpid()}.json"

    def dump(_sig: int, _frame: Any) -> None:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(counter.snapshot()))
        os.replace(tmp, out)

    signal.signal(signal.SIGUSR1, dump)
    if len(cmd) > 2 and cmd[1] == "-m":  # python -m module args...
        sys.argv = [cmd[2], *cmd[3:]]
        runpy.run_module(cmd[2], run_name="__main__", alter_sys=True)
    else:  # a console script (a Python file)
        sys.argv = list(cmd)
        runpy.run_path(cmd[0], run_name="__main__")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    _run(Path(sys.argv[1]), sys.argv[2:])
