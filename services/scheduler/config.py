"""The scheduler's configuration, as data (a subset of KubeSchedulerConfiguration).

A YAML/JSON file given with ``--config`` looks like Kubernetes'::

    profiles:
    - schedulerName: default-scheduler
      plugins:
        multiPoint:
          enabled: [{name: NodePorts}]
          disabled: [{name: PodTopologySpread}]
        score:
          enabled: [{name: TaintToleration, weight: 5}]
      pluginConfig:
      - name: NodeResourcesFit
        args: {ignoredResources: [example.com/foo]}
    percentageOfNodesToScore: 0      # 0: adaptive (50% at 100 nodes .. 5% at 5000)
    podInitialBackoffSeconds: 1
    podMaxBackoffSeconds: 10

Each profile starts from kube-scheduler's default plugin set (``DEFAULT_PLUGINS``:
every plugin runs at each extension point it implements, with these score weights);
``multiPoint.disabled`` removes plugins (``*``: all defaults), ``multiPoint.enabled``
adds plugins or sets weights, and per-point ``enabled``/``disabled`` add or remove a
plugin at one extension point only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

EXTENSION_POINTS = ("preFilter", "filter", "preScore", "score", "bind")
API_GROUP = "kubescheduler.config.k8s.io"
KIND = "KubeSchedulerConfiguration"

# kube-scheduler's default profile, as far as jetkube has those plugins (name, weight)
DEFAULT_PLUGINS: tuple[tuple[str, int], ...] = (
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 0),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("NodeResourcesLeastAllocated", 1),
    ("NodeResourcesBalancedAllocation", 1),
    ("NodeVolumeLimits", 0),
    ("VolumeBinding", 0),
    ("DefaultBinder", 0),
)


class _Model(BaseModel):
    # each field's docstring (the string right under it) is its description
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PluginRef(_Model):
    name: str
    """The plugin's name (``*`` in ``disabled``: every default plugin)."""
    weight: int | None = Field(None, ge=0)
    """Its score weight; None: the default plugin's weight, else 1."""


class PluginSet(_Model):
    enabled: list[PluginRef] = Field(default_factory=list)
    """Plugins added (or re-weighted) at this extension point."""
    disabled: list[PluginRef] = Field(default_factory=list)
    """Plugins removed at this extension point."""


class Plugins(_Model):
    multiPoint: PluginSet = Field(default_factory=PluginSet)
    """Plugins enabled or disabled at every extension point they implement."""
    preFilter: PluginSet = Field(default_factory=PluginSet)
    """Changes at the preFilter point only (read by ``resolve`` through ``EXTENSION_POINTS``)."""
    filter: PluginSet = Field(default_factory=PluginSet)
    """Changes at the filter point only."""
    preScore: PluginSet = Field(default_factory=PluginSet)
    """Changes at the preScore point only."""
    score: PluginSet = Field(default_factory=PluginSet)
    """Changes at the score point only; a weight here sets the plugin's score weight."""
    bind: PluginSet = Field(default_factory=PluginSet)
    """Changes at the bind point only."""


class PluginConfig(_Model):
    name: str
    """The plugin these arguments are for."""
    args: dict[str, Any] = Field(default_factory=dict)
    """The plugin's arguments, as Kubernetes spells them (e.g. ``ignoredResources``)."""


class ProfileConfig(_Model):
    schedulerName: str = "default-scheduler"
    """Pods whose ``spec.schedulerName`` is this are scheduled with this profile."""
    plugins: Plugins = Field(default_factory=Plugins)
    """Changes to the default plugin set (``DEFAULT_PLUGINS``)."""
    pluginConfig: list[PluginConfig] = Field(default_factory=list)
    """Arguments of the profile's plugins."""
    percentageOfNodesToScore: int | None = Field(None, ge=0, le=100)
    """This profile's share of feasible nodes to find before scoring; None: the global one."""


class SchedulerConfig(_Model):
    apiVersion: str | None = None
    """``kubescheduler.config.k8s.io/<version>`` when given (a file's type header)."""
    kind: str | None = None
    """``KubeSchedulerConfiguration`` when given (a file's type header)."""
    profiles: list[ProfileConfig] = Field(default_factory=lambda: [ProfileConfig()])
    """One profile per scheduler name this scheduler serves."""
    percentageOfNodesToScore: int = Field(0, ge=0, le=100)
    """Share of the nodes to find feasible before scoring; 0: adaptive (50% at 100 nodes,
    falling to 5% at 5000)."""
    podInitialBackoffSeconds: float = Field(1.0, gt=0)
    """The backoff of a pod after its first failed attempt, doubling with each further one."""
    podMaxBackoffSeconds: float = Field(10.0, gt=0)
    """The longest backoff of a pod that failed to schedule."""
    podMaxInUnschedulablePodsSeconds: float = Field(300.0, gt=0)
    """How long a pod may sit unschedulable before it is retried anyway (kube-scheduler: 5 min)."""
    assumedPodTTLSeconds: float = Field(30.0, gt=0)
    """An assumed pod whose bind finished but was never seen bound is forgotten after this."""
    maxInFlightBinds: int = Field(256, ge=1)
    """Binds in flight at once (the bind round trip overlaps the next scheduling cycles)."""

    @model_validator(mode="after")
    def _check_type(self) -> SchedulerConfig:
        """A file that names its type must name this one (kube-scheduler rejects others)."""
        if self.kind is not None and self.kind != KIND:
            raise ValueError(f"kind must be {KIND}, not {self.kind!r}")
        if self.apiVersion is not None and self.apiVersion.partition("/")[0] != API_GROUP:
            raise ValueError(f"apiVersion must be {API_GROUP}/<version>, not {self.apiVersion!r}")
        return self

    @classmethod
    def load(cls, path: str | Path) -> SchedulerConfig:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a scheduler configuration must be a mapping")
        return cls.model_validate(data)


class ResolvedProfile(_Model):
    """One profile after merging with the defaults: who runs where, with what weight."""

    scheduler_name: str
    plugins: list[str]  # every plugin to build, in order
    points: dict[str, list[str]]  # extension point -> plugin names (None: as implemented)
    explicit: dict[str, list[str]]  # plugins enabled at one point only
    weights: dict[str, int]
    args: dict[str, dict[str, Any]]
    percentage_of_nodes_to_score: int


def resolve(profile: ProfileConfig, global_percentage: int = 0) -> ResolvedProfile:
    mp = profile.plugins.multiPoint
    disabled = {p.name for p in mp.disabled}
    base: dict[str, int] = {} if "*" in disabled else {
        n: w for n, w in DEFAULT_PLUGINS if n not in disabled}
    for ref in mp.enabled:
        base[ref.name] = ref.weight if ref.weight is not None else base.get(ref.name, 1) or 1
    weights = dict(base)
    points: dict[str, list[str]] = {}
    explicit: dict[str, list[str]] = {}
    order = list(base)
    for point in EXTENSION_POINTS:
        ps: PluginSet = getattr(profile.plugins, point)
        off = {p.name for p in ps.disabled}
        names = [] if "*" in off else [n for n in base if n not in off]
        extra = [p.name for p in ps.enabled if p.name not in names]
        for ref in ps.enabled:
            if point == "score" and ref.weight is not None:
                weights[ref.name] = ref.weight
            elif point == "score":
                weights.setdefault(ref.name, 1)
            if ref.name not in order:
                order.append(ref.name)
        points[point] = names
        explicit[point] = extra
    args = {c.name: c.args for c in profile.pluginConfig}
    pct = profile.percentageOfNodesToScore
    return ResolvedProfile(
        scheduler_name=profile.schedulerName, plugins=order, points=points, explicit=explicit,
        weights=weights, args=args,
        percentage_of_nodes_to_score=global_percentage if pct is None else pct)
