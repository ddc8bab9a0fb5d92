"""Several proxies of one host (``kctl up --nodes N``) share the ClusterIP link: an address
another proxy added (or deleted) between our read and our write is no error, while any other
failure of ``ip addr`` still is."""

from __future__ import annotations

import json

import pytest

from jetkube.services.machinery.hostnet import HostNet, HostNetError


class RacingHost:
    """``ip addr show`` answers ``shown``; ``ip addr add/del`` fail with ``error``."""

    def __init__(self, shown: list[str], error: str) -> None:
        self.shown, self.error, self.calls = shown, error, []  # type: list[list[str]]

    async def __call__(self, argv: list[str], stdin: str | None = None) -> str:
        self.calls.append(argv)
        if argv[:4] == ["ip", "-j", "-4", "addr"]:
            info = [{"family": "inet", "local": a.split("/")[0], "prefixlen": 32}
                    for a in self.shown]
            return json.dumps([{"addr_info": info}])
        raise HostNetError(argv, self.error)


async def test_an_address_a_sibling_just_added_counts_as_added() -> None:
    host = RacingHost([], "Error: ipv4: Address already assigned.")
    added, removed = await HostNet(host).sync_addresses("jk0", ["10.96.0.10/32"])
    assert (added, removed) == ({"10.96.0.10/32"}, set())
    assert ["ip", "addr", "add", "10.96.0.10/32", "dev", "jk0"] in host.calls


async def test_an_address_a_sibling_just_deleted_counts_as_removed() -> None:
    host = RacingHost(["10.96.0.11/32"], "Error: ipv4: Address not found.")
    added, removed = await HostNet(host).sync_addresses("jk0", [])
    assert (added, removed) == (set(), {"10.96.0.11/32"})
    assert ["ip", "addr", "del", "10.96.0.11/32", "dev", "jk0"] in host.calls


async def test_any_other_failure_still_raises() -> None:
    host = RacingHost([], "Cannot find device \"jk0\"")
    with pytest.raises(HostNetError, match="Cannot find device"):
        await HostNet(host).sync_addresses("jk0", ["10.96.0.10/32"])
