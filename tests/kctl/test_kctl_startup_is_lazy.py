"""kctl starts light (issue 16): the parser lists every command from the table in
cli/commands/__init__.py and imports a command's module only when that command runs, so
``kctl --help`` and ``kctl version --client`` import none of the heavy libraries, and
``kctl get pods`` only what it needs.  What is imported is checked here; how long it
takes is measured by bench/kctl_startup.py, not by a timed test."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jetkube.cli.commands import COMMANDS
from jetkube.cli.main import build_parser

HEAVY = ("httpx", "httpcore", "yaml", "rich", "click", "pygments", "pydantic", "opentelemetry",
         "nats", "cryptography", "nkeys", "faststream", "docker", "jetkube.schemas",
         "jetkube.services", "importlib.metadata")
"""What ``kctl --help`` and ``kctl version --client`` must not import."""

NOT_FOR_GET = ("httpx", "httpcore", "h11", "anyio", "rich", "click", "pygments",
               "opentelemetry", "nats", "cryptography", "nkeys",
               "faststream", "docker", "jetkube.services.machinery.store",
               "jetkube.services.machinery.client", "jetkube.cli.up", "jetkube.cli.pki")
"""What ``kctl get pods`` must not import (its table needs neither rich nor the bus, and its
requests go over http.client: cli/_http.py)."""


class _Recorder:
    """Stands in for the subparsers action: records what a module's register() adds."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str | None]] = []

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        self.added.append((name, kwargs.pop("help", None)))
        kwargs.pop("aliases", None)
        return argparse.ArgumentParser(prog=f"kctl {name}", **kwargs)


def test_the_table_lists_what_each_module_registers_with_its_help() -> None:
    for module in dict.fromkeys(m for _, m, _ in COMMANDS):
        rec = _Recorder()
        importlib.import_module(f"jetkube.cli.commands.{module}").register(rec)
        listed = [(name, help_text) for name, m, help_text in COMMANDS if m == module]
        assert rec.added == listed, module


def test_the_client_version_is_the_installed_packages() -> None:
    from importlib.metadata import version

    from jetkube.cli.commands.info import client_version

    assert client_version() == "v" + version("jetkube")


def test_help_lists_every_command_in_the_tables_order() -> None:
    text = build_parser().format_help()
    where = [text.index(f"\n    {name} ") for name, _, _ in COMMANDS]
    assert where == sorted(where)


def test_a_command_is_registered_when_chosen_and_keeps_its_place() -> None:
    p = build_parser()
    args = p.parse_args(["-n", "x", "get", "pods", "-o", "name", "--namespace", "y"])
    assert (args.command, args.args, args.output, args.namespace) == ("get", ["pods"], "name", "y")
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == [name for name, _, _ in COMMANDS]


def _imported(argv: list[str], *, env: dict[str, str] | None = None) -> set[str]:
    """The modules a kctl process (its console-script entry, main()) has imported at exit."""
    code = ("import json, sys\n"
            "from jetkube.cli.main import main\n"
            f"sys.argv = ['kctl', *{argv!r}]\n"
            "try:\n    code = main()\nexcept SystemExit as e:\n    code = e.code\n"
            "loaded = sorted(k for k, m in sys.modules.items() if m is not None)\n"
            "print('\\n' + json.dumps([code, loaded]))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, env=env)
    exit_code, modules = json.loads(p.stdout.splitlines()[-1])
    assert exit_code in (0, None), (p.stdout, p.stderr)
    return set(modules)


def _no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """No kubeconfig of this machine, and no OTLP endpoint (kctl's span imports OpenTelemetry)."""
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)


def _heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("argv", [["--help"], ["version", "--client"],
                                  ["version", "--client", "-o", "json"]])
def test_help_and_client_version_import_nothing_heavy(
        argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cluster(monkeypatch)
    assert _heavy(_imported(argv), HEAVY) == []


class _Api(BaseHTTPRequestHandler):
    """Just enough of an API server for ``kctl get pods``: core discovery and one pod."""

    DOCS: dict[str, Any] = {
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
             "shortNames": ["po"], "verbs": ["get", "list"]}]},
        "/api/v1/namespaces/default/pods": {"kind": "PodList", "apiVersion": "v1",
                                            "metadata": {"resourceVersion": "7"}, "items": [
            {"metadata": {"name": "web", "namespace": "default",
                          "creationTimestamp": "2024-01-01T00:00:00Z"},
             "spec": {"containers": [{"name": "c", "image": "i"}]},
             "status": {"phase": "Pending"}}]},
    }

    paths: list[str] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        doc = self.DOCS.get(self.path.split("?")[0])
        body = json.dumps(doc or {"kind": "Status", "code": 404, "reason": "NotFound"}).encode()
        self.send_response(200 if doc else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_get_pods_imports_neither_rich_nor_the_bus(api_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cluster(monkeypatch)
    _Api.paths.clear()
    modules = _imported(["--server", api_url, "get", "pods"])
    assert "jetkube.services.machinery.printers" in modules  # it did print the table
    assert _heavy(modules, NOT_FOR_GET) == []
    # pods are found in the core group: no discovery of every other group
    assert _Api.paths == ["/api/v1", "/api/v1/namespaces/default/pods"]


def test_get_pods_imports_no_pydantic_model(api_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cluster(monkeypatch)
    assert _heavy(_imported(["--server", api_url, "get", "pods"]), ("pydantic",)) == []
