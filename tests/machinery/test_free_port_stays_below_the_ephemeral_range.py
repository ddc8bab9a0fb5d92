"""free_port() draws listening ports below the kernel's ephemeral range, so an outgoing
connection can never take one between the draw and the listener's bind, and never hands
out the same port twice in one process."""

from __future__ import annotations

import socket
from pathlib import Path

from jetkube.services.machinery.store import free_port


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(10_000 <= p < low for p in ports)
    with socket.socket() as s:  # and one really binds
        s.bind(("127.0.0.1", ports[-1]))
        s.listen()
