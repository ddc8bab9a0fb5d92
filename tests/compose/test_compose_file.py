"""compose/docker-compose.yml: valid for docker-compose 1.29 (its own validator, when
installed), and the shape the stack relies on: one image, a 3-node NATS store at R3 with
a volume per node, the node side in the host's network without ``privileged``, each
component mounting only its own credentials, ``up`` waiting on health, Jaeger and the
clean-up behind profiles."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dockerfixtures import in_ci

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "compose"

CONTROL_PLANE = ["apiserver-1", "apiserver-2", "controller-manager-1", "controller-manager-2",
                 "scheduler-1", "scheduler-2"]
HOST_NETWORK = ["kubelet-node-1", "kubelet-node-2", "proxy-node-1", "proxy-node-2", "dns"]
NATS = ["nats-1", "nats-2", "nats-3"]


def services(compose_file: dict[str, Any]) -> dict[str, Any]:
    return dict(compose_file["services"])


def argv(svc: dict[str, Any]) -> list[str]:
    return [*svc.get("entrypoint", []), *svc.get("command", [])]


def test_docker_compose_accepts_the_file_with_and_without_jaeger_and_the_clean_up() -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        if in_ci():
            pytest.fail("docker-compose is not installed; CI is set (.ci/run installs it)")
        pytest.skip("docker-compose is not installed")
    env = {**os.environ, "JETKUBE_API_PORT": "16443"}
    for profiles in ([], ["--profile", "cleanup"], ["--env-file", str(COMPOSE_DIR / "jaeger.env")]):
        p = subprocess.run([exe, "-f", str(COMPOSE_DIR / "docker-compose.yml"), *profiles,
                            "config", "--services"], capture_output=True, text=True, env=env,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        assert {*NATS, *CONTROL_PLANE, *HOST_NETWORK, "init"} <= set(p.stdout.split())


def test_every_jetkube_service_runs_the_one_image(compose_file: dict[str, Any]) -> None:
    image = "${JETKUBE_IMAGE:-jetkube/jetkube:dev}"
    for name, svc in services(compose_file).items():
        if name != "jaeger":
            assert svc["image"] == image, name
    build = services(compose_file)["init"]["build"]
    assert build["dockerfile"] == "compose/Dockerfile"
    assert build["args"]["BASE_IMAGE"] == "${JETKUBE_BASE_IMAGE:-python:3.12-slim}"
    assert "version" not in compose_file  # the Compose spec: no file format version


def test_the_store_is_three_nats_nodes_each_with_its_own_volume_and_r3_streams(
        compose_file: dict[str, Any]) -> None:
    svcs = services(compose_file)
    data_volumes = set()
    for i, name in enumerate(NATS, start=1):
        svc = svcs[name]
        assert argv(svc) == ["nats-server", "-c", f"/etc/jetkube/nats-{i}.conf"]
        own = [v.split(":")[0] for v in svc["volumes"] if v.endswith(":/data")]
        assert own == [name]
        data_volumes.add(own[0])
        assert svc["healthcheck"]["test"][-1] == "http://127.0.0.1:8222/healthz"
    assert data_volumes <= set(compose_file["volumes"])
    for name in ("apiserver-1", "apiserver-2"):
        assert "--kv-replicas=3" in argv(svcs[name])
    # as kctl up --ha's: the second API server of the machine caches pods on demand
    assert "--watch-cache-on-demand=pods,events" in argv(svcs["apiserver-2"])
    assert not any(a.startswith("--watch-cache-on-demand") for a in argv(svcs["apiserver-1"]))


def test_the_node_side_is_in_the_host_network_with_net_admin_not_privileged(
        compose_file: dict[str, Any]) -> None:
    svcs = services(compose_file)
    for name in HOST_NETWORK:
        svc = svcs[name]
        assert svc["network_mode"] == "host", name
        assert "NET_ADMIN" in svc["cap_add"] and "privileged" not in svc, name
        assert svc["environment"]["JETKUBE_DOCKER_SCOPE"] == "${JETKUBE_SCOPE:-compose}"
    for name in ("kubelet-node-1", "kubelet-node-2"):
        mounts = svcs[name]["volumes"]
        assert "/var/run/docker.sock:/var/run/docker.sock" in mounts
        root = "${JETKUBE_NODE_ROOT:-/var/lib/jetkube-compose}"
        assert f"{root}:{root}" in mounts  # pod directories: the same path inside and out
    for name in CONTROL_PLANE:
        assert "network_mode" not in svcs[name] and "cap_add" not in svcs[name], name


def test_each_component_mounts_only_its_own_credentials(compose_file: dict[str, Any],
                                                         stack_init: ModuleType) -> None:
    from jetkube.cli.plan import Plan

    svcs = services(compose_file)
    made = {v.name for v in stack_init.volumes(Plan(data_dir=stack_init.STATE, ha=True),
                                               ["node-1", "node-2"])}
    init_mounts = {m.split(":")[0]: m.split(":")[1] for m in svcs["init"]["volumes"]}
    assert {init_mounts[f"cfg-{name}"] for name in made} == {f"/out/{name}" for name in made}
    own = {**{n: "nats" for n in NATS}, "apiserver-1": "apiserver", "apiserver-2": "apiserver",
           "controller-manager-1": "controller-manager", "controller-manager-2":
           "controller-manager", "scheduler-1": "scheduler", "scheduler-2": "scheduler",
           "kubelet-node-1": "node-1", "kubelet-node-2": "node-2", "proxy-node-1": "proxy",
           "proxy-node-2": "proxy", "dns": "dns"}
    for name, volume in own.items():
        creds = [m for m in svcs[name]["volumes"] if m.startswith("cfg-")]
        assert creds == [f"cfg-{volume}:/etc/jetkube:ro"], name


def test_up_waits_for_init_then_healthy_nats_then_healthy_api_servers(
        compose_file: dict[str, Any]) -> None:
    svcs = services(compose_file)
    for name in NATS:
        assert svcs[name]["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    assert svcs["apiserver-1"]["depends_on"] == {n: {"condition": "service_healthy"} for n in NATS}
    assert svcs["apiserver-2"]["depends_on"] == {"apiserver-1": {"condition": "service_healthy"}}
    for name in [*CONTROL_PLANE[2:], *HOST_NETWORK]:
        assert svcs[name]["depends_on"] == {f"apiserver-{i}": {"condition": "service_healthy"}
                                            for i in (1, 2)}, name


def test_jaeger_and_the_clean_up_run_only_when_asked(compose_file: dict[str, Any]) -> None:
    svcs = services(compose_file)
    assert svcs["jaeger"]["profiles"] == ["jaeger"]
    assert "127.0.0.1:16686:16686" in svcs["jaeger"]["ports"]
    assert svcs["cleanup"]["profiles"] == ["cleanup"]
    script = svcs["cleanup"]["command"][-1]
    assert "jetkube-kubelet --cleanup" in script and "jetkube-proxy --cleanup" in script
    assert [n for n, s in svcs.items() if "profiles" in s] == ["jaeger", "cleanup"]
    for name in [*CONTROL_PLANE, *HOST_NETWORK]:  # every service can export its spans
        assert svcs[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
            "${JETKUBE_OTLP_HOST_ENDPOINT:-}" if name in HOST_NETWORK
            else "${JETKUBE_OTLP_ENDPOINT:-}"), name


def test_the_jaeger_env_file_turns_on_its_profile_every_exporter_and_every_trace(
        compose_file: dict[str, Any]) -> None:
    lines = [ln for ln in (COMPOSE_DIR / "jaeger.env").read_text().splitlines()
             if ln and not ln.startswith("#")]
    assert dict(ln.split("=", 1) for ln in lines) == {
        "COMPOSE_PROFILES": "jaeger", "JETKUBE_OTLP_ENDPOINT": "http://jaeger:4318",
        "JETKUBE_OTLP_HOST_ENDPOINT": "http://127.0.0.1:4318", "JETKUBE_TRACE_SAMPLE_RATIO": "1"}
    for name in ("apiserver-1", "kubelet-node-1", "proxy-node-1"):  # both environments
        env = services(compose_file)[name]["environment"]
        assert env["JETKUBE_TRACE_SAMPLE_RATIO"] == "${JETKUBE_TRACE_SAMPLE_RATIO:-0}", name


def test_the_dockerfile_defaults_to_python_slim_and_ships_the_init_program() -> None:
    text = (COMPOSE_DIR / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.12-slim\n" in text
    assert text.count("FROM ${BASE_IMAGE}") == 2  # the venv is built, then copied alone
    assert "COPY compose/stack_init.py /opt/jetkube/compose/stack_init.py\n" in text
    ignored = (COMPOSE_DIR.parent / ".dockerignore").read_text().splitlines()
    assert "compose/kubeconfig" in ignored  # the admin token never enters a build
