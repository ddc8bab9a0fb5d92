"""``kctl get pods`` over HTTPS, as a user runs it (a kubeconfig with the cluster CA and a
token), imports no HTTP library, no rich, no pydantic and no OpenTelemetry (issue 16:
httpx and its stack were most of what was left of its 0.15 s budget; its requests go
over http.client, cli/_http.py).  ``-o yaml`` and ``-o json`` are held to the same; a
regression here shows up as a module name, not as a slower benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kctl_httpserver import TlsApi

from jetkube.cli.kubeconfig import new_config, write_file

NEVER = ("httpx", "httpcore", "h11", "anyio", "sniffio", "certifi", "idna", "rich", "pydantic",
         "opentelemetry", "click", "pygments", "nats", "cryptography")

_CODE = """import json, sys
from jetkube.cli.main import main
sys.argv = ['kctl', *json.loads(sys.argv[1])]
code = main()
print('\\n' + json.dumps([code, sorted(k for k, m in sys.modules.items() if m is not None)]))
"""


def _run(argv: list[str], kubeconfig: Path) -> tuple[int, str, set[str]]:
    drop = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["KUBECONFIG"] = str(kubeconfig)
    p = subprocess.run([sys.executable, "-c", _CODE, json.dumps(argv)], capture_output=True,
                       text=True, timeout=60, env=env)
    *out, last = p.stdout.splitlines()
    code, modules = json.loads(last)
    assert code == 0, p.stderr
    return code, "\n".join(out), set(modules)


@pytest.mark.parametrize("output", [None, "yaml", "json"])
def test_get_pods_over_https_imports_no_http_library(tmp_path: Path, output: str | None) -> None:
    with TlsApi(tmp_path / "pki") as api:
        kubeconfig = tmp_path / "kubeconfig"
        write_file(kubeconfig, new_config(server=api.url, token="tok",
                                          ca_pem=api.ca.read_bytes()))
        _, out, modules = _run(["get", "pods", *(["-o", output] if output else [])],
                               kubeconfig)
    assert "web" in out  # it did talk to the server, over TLS with the token
    assert {s.headers["authorization"] for s in api.seen} == {"Bearer tok"}
    assert "http.client" in modules and "ssl" in modules
    heavy = sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NEVER))
    assert heavy == []
