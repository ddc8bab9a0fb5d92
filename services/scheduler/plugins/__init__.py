"""The in-tree plugins, by name: the registry a profile's configuration refers to.

Each entry names ``module:Class``; a plugin class takes ``(args, handle)``.  The
table is data (as the controller-manager's controller table is): nothing registers
itself on import, and a plugin module is imported only when a profile uses it.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..framework import Handle, Plugin

_PKG = "jetkube.services.scheduler.plugins"

REGISTRY: dict[str, str] = {
    "NodeUnschedulable": f"{_PKG}.node_unschedulable:NodeUnschedulable",
    "NodeName": f"{_PKG}.node_name:NodeName",
    "TaintToleration": f"{_PKG}.taint_toleration:TaintToleration",
    "NodeAffinity": f"{_PKG}.node_affinity:NodeAffinity",
    "NodePorts": f"{_PKG}.node_ports:NodePorts",
    "NodeResourcesFit": f"{_PKG}.node_resources_fit:NodeResourcesFit",
    "PodTopologySpread": f"{_PKG}.pod_topology_spread:PodTopologySpread",
    "InterPodAffinity": f"{_PKG}.inter_pod_affinity:InterPodAffinity",
    "NodeResourcesLeastAllocated":
        f"{_PKG}.node_resources_least_allocated:NodeResourcesLeastAllocated",
    "NodeResourcesBalancedAllocation":
        f"{_PKG}.node_resources_balanced_allocation:NodeResourcesBalancedAllocation",
    "NodeVolumeLimits": f"{_PKG}.node_volume_limits:NodeVolumeLimits",
    "VolumeBinding": f"{_PKG}.volume_binding:VolumeBinding",
    "DefaultBinder": f"{_PKG}.default_binder:DefaultBinder",
}


def build(name: str, args: dict[str, Any], handle: Handle) -> Plugin:
    """Instantiate plugin ``name`` with its args; ``ValueError`` if unknown."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown scheduler plugin {name!r} (known: {', '.join(REGISTRY)})") \
            from None
    module_name, cls_name = target.split(":")
    cls: Any = getattr(importlib.import_module(module_name), cls_name)
    plugin: Plugin = cls(args, handle)
    return plugin
