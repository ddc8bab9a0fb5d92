"""Settings tell the truth: every field of every settings object is read by the code.

A field nobody reads is a knob that turns nothing: an operator sets its
``JETKUBE_*`` variable (or a flag fills a config field) and nothing changes.
For each settings class and each of its fields, the installed source
(``schemas/``, ``services/``, ``cli/``; never ``tests/``) must read the field
somewhere: an attribute load ``<expr>.field`` or ``getattr(<expr>,
"field")``.  Declaring the field (``field: int = 1``) is no read, and neither
is passing it as a constructor keyword (``Config(field=...)``: that sets it).

A service's own configuration (a class in ``services/<service>/``) counts as
read only by reads in that service's folder: services never import each other
(import-linter), so the API server reading its ``default_toleration_seconds``
says nothing about the controller-manager's.  Machinery's ``Settings`` counts
reads anywhere.  The check is by name, not by type (``.port`` anywhere in scope
counts for every class with a ``port``), so it can miss a dead field with a
common name; it never reports a field that is read.  Fields read only through a
computed ``getattr`` are listed in ``DYNAMIC_READS``, and that test checks the
computed read is really there.  The second test plants dead fields and shows
that the checker reports them, so the first cannot pass vacuously.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel

from jetkube.services.apiserver.admission import AdmissionConfig
from jetkube.services.apiserver.server import ServerConfig
from jetkube.services.controllers.context import ControllerManagerOptions
from jetkube.services.dns.server import Listen
from jetkube.services.dns.service import DnsConfig
from jetkube.services.kubelet.config import AgentConfig
from jetkube.services.machinery.runtime import Backoff, LeaderElection, RateLimit, Settings
from jetkube.services.proxy.config import ProxyConfig
from jetkube.services.scheduler.config import (
    EXTENSION_POINTS,
    PluginConfig,
    PluginRef,
    Plugins,
    PluginSet,
    ProfileConfig,
    SchedulerConfig,
    resolve,
)

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("schemas", "services", "cli")  # what installs under `jetkube`; tests excluded

SETTINGS_CLASSES: tuple[type, ...] = (
    # machinery/runtime/_settings.py: shared by every process, JETKUBE_* variables
    Settings, Backoff, RateLimit, LeaderElection,
    # per-service configuration
    ServerConfig, AdmissionConfig,  # apiserver
    ControllerManagerOptions,  # controller-manager
    SchedulerConfig, ProfileConfig, Plugins, PluginSet, PluginRef, PluginConfig,  # scheduler
    AgentConfig,  # kubelet
    ProxyConfig,  # proxy
    DnsConfig, Listen,  # dns
)

# fields read only through a computed name: class -> (the function that reads them, the
# code that must be in it, the field names); the test checks the code is still there
DYNAMIC_READS: dict[type, tuple[Callable[..., object], tuple[str, ...], tuple[str, ...]]] = {
    Plugins: (resolve, ("for point in EXTENSION_POINTS", "getattr(profile.plugins, point)"),
              EXTENSION_POINTS),
}


def field_names(cls: type) -> list[str]:
    """The declared fields of a pydantic model or a dataclass."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return list(cls.model_fields)
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    raise TypeError(f"{cls.__qualname__} is neither a pydantic model nor a dataclass")


def _flag_namespaces(func: ast.AST) -> set[str]:
    """Names bound to an argparse result in ``func`` (``a = p.parse_args(argv)``)."""
    return {t.id for node in ast.walk(func) if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "parse_args"
            for t in node.targets if isinstance(t, ast.Name)}


def attribute_reads(source: str) -> set[str]:
    """Every attribute name the source reads: ``x.name`` loads and ``getattr(x, "name")``.

    A parsed flag (``a.ttl`` after ``a = p.parse_args()``) is no read of a field of the
    same name: copying a flag into a config is setting the field, not obeying it."""
    tree = ast.parse(source)
    flags: set[int] = set()  # id() of the attribute nodes that read parsed flags
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            namespaces = _flag_namespaces(func)
            flags |= {id(n) for n in ast.walk(func) if isinstance(n, ast.Attribute)
                      and isinstance(n.value, ast.Name) and n.value.id in namespaces}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            if id(node) not in flags:
                names.add(node.attr)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "getattr" and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            names.add(node.args[1].value)
    return names


def read_scope(cls: type) -> str:
    """The folder whose source may read ``cls``'s fields: a service's own configuration is
    read by that service only; anything else (machinery, tests' classes) anywhere ("")."""
    parts = cls.__module__.split(".")
    if parts[:2] == ["jetkube", "services"] and len(parts) > 3 and parts[2] != "machinery":
        return f"services/{parts[2]}/"
    return ""


def unread_fields(classes: Iterable[type], sources: Mapping[str, str]) -> list[str]:
    """``Class.field`` for every field of ``classes`` that no source in its scope reads."""
    reads = {path: attribute_reads(text) for path, text in sources.items()}
    out: list[str] = []
    for cls in classes:
        scope = read_scope(cls)
        read: set[str] = set().union(*(r for path, r in reads.items() if path.startswith(scope)))
        out += [f"{cls.__qualname__}.{name}" for name in field_names(cls) if name not in read]
    return out


def installed_sources() -> dict[str, str]:
    out: dict[str, str] = {}
    for d in SOURCE_DIRS:
        for path in sorted((REPO / d).rglob("*.py")):
            out[str(path.relative_to(REPO))] = path.read_text()
    return out


def test_every_settings_field_is_read_somewhere() -> None:
    sources = installed_sources()
    assert len(sources) > 50, "the source tree was not found"
    dynamic: set[str] = set()
    for cls, (func, reads, names) in DYNAMIC_READS.items():
        code = inspect.getsource(func)
        assert all(r in code for r in reads), f"{func.__name__} no longer does {reads}"
        assert set(names) <= set(field_names(cls)), f"{cls.__qualname__} lost fields of {names}"
        dynamic |= {f"{cls.__qualname__}.{name}" for name in names}
    unread = [f for f in unread_fields(SETTINGS_CLASSES, sources) if f not in dynamic]
    assert unread == [], (
        "settings fields that no code reads (wire each to the code that should obey it, "
        f"or delete it): {unread}")


def undocumented_fields(cls: type) -> list[str]:
    """Fields of ``cls`` without an attribute docstring (a string right under the field)."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    documented = {
        stmt.target.id for stmt, after in zip(body.body, [*body.body[1:], None], strict=True)
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
        and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
        and isinstance(after.value.value, str)}
    return [f"{cls.__qualname__}.{name}" for name in field_names(cls) if name not in documented]


def test_every_settings_field_has_a_docstring() -> None:
    missing = [f for cls in SETTINGS_CLASSES for f in undocumented_fields(cls)]
    assert missing == [], f"settings fields without a docstring under them: {missing}"
    # pydantic models turn those docstrings into the fields' descriptions
    assert Settings.model_fields["api_subject_prefix"].description
    assert SchedulerConfig.model_fields["maxInFlightBinds"].description


def test_the_checker_finds_a_planted_dead_field() -> None:
    @dataclasses.dataclass
    class Planted:
        used: float = 1.0
        """Read below."""
        planted_dead_knob: float = 2.0
        """Declared, set through a constructor keyword, never read."""

    class PlantedModel(BaseModel):
        wired: int = 0
        also_planted_dead: int = 0

    snippet = (
        "def run(cfg):\n"
        "    cfg2 = Planted(planted_dead_knob=3.0)  # setting is no read\n"
        "    planted_dead_knob = 4  # nor is a local of the same name\n"
        "    return cfg.used + getattr(cfg2, 'wired')\n")
    assert unread_fields([Planted, PlantedModel], {"snippet.py": snippet}) == [
        "test_the_checker_finds_a_planted_dead_field.<locals>.Planted.planted_dead_knob",
        "test_the_checker_finds_a_planted_dead_field.<locals>.PlantedModel.also_planted_dead",
    ]

    # and on the real tree: a field added to Settings and read nowhere is reported
    class WithDeadField(Settings):
        planted_dead_setting_xyz: float = 1.0
        """Read by nothing."""

    assert ("test_the_checker_finds_a_planted_dead_field.<locals>.WithDeadField."
            "planted_dead_setting_xyz") in unread_fields([WithDeadField], installed_sources())

    # a parsed flag copied into a config is no read of the config's field
    flags = ("def parse_args(argv):\n"
             "    a = p.parse_args(argv)\n"
             "    return Planted(planted_dead_knob=a.planted_dead_knob, used=a.used)\n")
    assert unread_fields([Planted], {"main.py": flags}) == [
        "test_the_checker_finds_a_planted_dead_field.<locals>.Planted.used",
        "test_the_checker_finds_a_planted_dead_field.<locals>.Planted.planted_dead_knob"]

    # a service's configuration is read by that service only (services never import each other)
    assert read_scope(ControllerManagerOptions) == "services/controllers/"
    assert read_scope(Settings) == ""

    @dataclasses.dataclass
    class ServiceOptions:
        default_toleration_seconds: float = 300.0
        """Set by a flag; only another service reads a field of this name."""

    ServiceOptions.__module__ = "jetkube.services.controllers.context"
    elsewhere = {"services/apiserver/admission.py": "x = cfg.default_toleration_seconds\n",
                 "services/controllers/main.py": "def f(): return 1\n"}
    assert unread_fields([ServiceOptions], elsewhere) == [
        "test_the_checker_finds_a_planted_dead_field.<locals>.ServiceOptions."
        "default_toleration_seconds"]
