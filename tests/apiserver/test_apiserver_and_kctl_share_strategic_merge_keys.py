"""One table of strategic merge keys (machinery.apimachinery.STRATEGIC_MERGE_KEYS)
for the API server's strategic merge patch and kctl apply's three-way merge.
Where the two old tables disagreed, Kubernetes' patchMergeKey tags win:
tolerations and taints are atomic (replaced), volumeDevices merge by devicePath,
topologySpreadConstraints by topologyKey, a Node's addresses by type."""

from __future__ import annotations

from typing import Any

import pytest

from jetkube.cli.merge import three_way_merge
from jetkube.services.apiserver.patch import strategic_merge_patch


@pytest.mark.parametrize(("field", "key", "current", "patch", "merged"), [
    ("containers", "name", [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}],
     [{"name": "b", "image": "z"}],
     [{"name": "a", "image": "x"}, {"name": "b", "image": "z"}]),
    ("volumeDevices", "devicePath", [{"devicePath": "/dev/a", "name": "v1"}],
     [{"devicePath": "/dev/b", "name": "v2"}],
     [{"devicePath": "/dev/a", "name": "v1"}, {"devicePath": "/dev/b", "name": "v2"}]),
    ("topologySpreadConstraints", "topologyKey", [{"topologyKey": "zone", "maxSkew": 1}],
     [{"topologyKey": "host", "maxSkew": 2}],
     [{"topologyKey": "zone", "maxSkew": 1}, {"topologyKey": "host", "maxSkew": 2}]),
    ("addresses", "type", [{"type": "InternalIP", "address": "10.0.0.1"},
                           {"type": "Hostname", "address": "n1"}],
     [{"type": "InternalIP", "address": "10.0.0.2"}],
     [{"type": "InternalIP", "address": "10.0.0.2"}, {"type": "Hostname", "address": "n1"}]),
    ("ports", "port", [{"name": "http", "port": 80, "targetPort": 8080}],
     [{"port": 443, "targetPort": 8443}],
     [{"name": "http", "port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]),
])
def test_keyed_lists_merge_by_their_key(field: str, key: str, current: list[Any],
                                        patch: list[Any], merged: list[Any]) -> None:
    # the server: a strategic merge patch updates the element with the same key
    assert strategic_merge_patch({field: current}, {field: patch})[field] == merged
    # kctl apply: the key decides which live element a configured one updates, so
    # what only the live element has (a server default) is kept on it
    live = [{**e, "live": True} for e in current]
    applied = three_way_merge({}, {field: merged}, {field: live})[field]
    old = {e[key] for e in current}
    assert applied == [{**e, "live": True} if e[key] in old else e for e in merged]


@pytest.mark.parametrize("field", ["tolerations", "taints"])
def test_tolerations_and_taints_are_atomic(field: str) -> None:
    current = [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]
    patch = [{"key": "a", "effect": "NoExecute"}]
    assert strategic_merge_patch({field: current}, {field: patch})[field] == patch
