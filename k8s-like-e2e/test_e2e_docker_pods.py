"""Pods on real containers: a `kctl up` cluster whose node agents run the Docker runtime.

Scenarios: two containers sharing localhost and an emptyDir; env from a ConfigMap
and a Secret; a crashing container in CrashLoopBackOff with growing delays; a
failing liveness probe restarting its container; a readiness probe toggling Ready;
deletes honouring the grace period; ``kctl logs -f`` streaming; ``kctl exec``; the
pod's /etc/hosts with its host aliases; a burst of pods on one node started a few
sandboxes at a time (``--max-parallel-sandbox-starts``).

The cluster is private to this module (its own ports and data dir; its node agents'
containers carry the data dir's scope label, so they never meet another cluster's
``node-1``).  Images are built locally from busybox (no registry).  Without Docker
the module is skipped, unless CI is set (then it fails).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest
from docker_e2e import IMAGE, DockerCluster, docker_cluster, ready, running, simple_pod, status_of
from polling import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCluster]:
    yield from docker_cluster(tmp_path_factory, ["node-a", "node-b"])


# --- scenarios ----------------------------------------------------------------------------


def test_two_containers_share_localhost_and_an_empty_dir(dc: DockerCluster) -> None:
    dc.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "duo"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "volumes": [{"name": "shared", "emptyDir": {}}],
        "containers": [
            {"name": "web", "image": IMAGE, "volumeMounts": [{"name": "shared",
                                                              "mountPath": "/www"}],
             "command": ["sh", "-c", "echo hello-from-web > /www/index.html; "
                                     "exec httpd -f -p 127.0.0.1:8080 -h /www"]},
            {"name": "client", "image": IMAGE, "volumeMounts": [{"name": "shared",
                                                                 "mountPath": "/shared"}],
             "command": ["sh", "-c", "until wget -qO- http://127.0.0.1:8080/; do sleep 0.2; "
                                     "done; echo file: $(cat /shared/index.html); sleep 3600"]}]}})
    wait_until(lambda: running(dc.pod_or_none("duo")), timeout=60.0, message="duo Running")
    out = wait_until(lambda: "file:" in (
        o := dc.kctl("logs", "duo", "-c", "client", check=False).stdout) and o,
                     timeout=60.0, message="the client's output")
    assert out == "hello-from-web\nfile: hello-from-web\n"  # over localhost, then the volume


def test_env_from_a_configmap_and_a_secret(dc: DockerCluster) -> None:
    dc.kctl("create", "configmap", "app-config", "--from-literal", "GREETING=hello")
    dc.kctl("create", "secret", "generic", "app-secret", "--from-literal", "PASSWORD=s3cret")
    dc.apply(simple_pod("envy", 'echo "$GREETING $PASSWORD $PLAIN"; sleep 3600', container={
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {
            "name": "app-config", "key": "GREETING"}}}, {"name": "PLAIN", "value": "plain"}],
        "envFrom": [{"secretRef": {"name": "app-secret"}}]}))
    wait_until(lambda: running(dc.pod_or_none("envy")), timeout=60.0, message="envy Running")
    wait_until(lambda: dc.kctl("logs", "envy").stdout == "hello s3cret plain\n",
               timeout=60.0, message="envy's line")


def test_a_crashing_container_backs_off_with_growing_delays(dc: DockerCluster) -> None:
    dc.apply(simple_pod("crasher", "echo crashing; exit 1"))
    runs: dict[str, str] = {}  # each run's startedAt -> finishedAt (from lastState)
    reasons: set[str] = set()

    def backed_off_twice() -> bool:
        cs = status_of(dc.pod("crasher"))
        reasons.add(((cs.get("state") or {}).get("waiting") or {}).get("reason", ""))
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last.get("startedAt") and last.get("finishedAt"):
            runs[last["startedAt"]] = last["finishedAt"]
        return any(d >= 15 for d in delays())

    def delays() -> list[float]:
        ts = sorted((_t(a), _t(b)) for a, b in runs.items())
        return [ts[i + 1][0] - ts[i][1] for i in range(len(ts) - 1)]

    wait_until(backed_off_twice, timeout=150, interval=0.3, message="the 20 s back-off")
    assert "CrashLoopBackOff" in reasons, reasons
    got = delays()
    assert len(got) >= 2 and 8 <= got[-2] <= 14 and 17 <= got[-1] <= 26, got  # 10 s, 20 s
    assert dc.kctl("logs", "crasher", "--previous").stdout == "crashing\n"
    assert status_of(dc.pod("crasher"))["lastState"]["terminated"]["exitCode"] == 1


def _t(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_a_failing_liveness_probe_restarts_the_container(dc: DockerCluster) -> None:
    dc.apply(simple_pod("lively", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600",
                        container={"livenessProbe": {
                            "exec": {"command": ["cat", "/tmp/healthy"]},
                            "periodSeconds": 1, "failureThreshold": 2}}))
    wait_until(lambda: status_of(dc.pod("lively")).get("restartCount", 0)
             >= 1, timeout=60, message="a liveness restart")
    cs = status_of(dc.pod("lively"))
    assert cs["lastState"]["terminated"]["exitCode"] in (137, 143)


def test_a_readiness_probe_toggles_ready(dc: DockerCluster) -> None:
    dc.apply(simple_pod("toggler", "touch /tmp/ready; sleep 3600", container={
        "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]},
                           "periodSeconds": 1, "failureThreshold": 1, "successThreshold": 1}}))
    wait_until(lambda: ready(dc.pod("toggler")), timeout=60.0, message="Ready")
    dc.kctl("exec", "toggler", "--", "rm", "/tmp/ready")
    wait_until(lambda: not ready(dc.pod("toggler")), timeout=20, message="not Ready")
    dc.kctl("exec", "toggler", "--", "touch", "/tmp/ready")
    wait_until(lambda: ready(dc.pod("toggler")), timeout=20, message="Ready again")
    assert status_of(dc.pod("toggler"))["restartCount"] == 0


def test_delete_honours_the_grace_period(dc: DockerCluster) -> None:
    dc.apply(simple_pod("polite", "trap 'echo bye; exit 0' TERM; while :; do sleep 0.2; done",
                        terminationGracePeriodSeconds=30))
    dc.apply(simple_pod("stubborn", "trap '' TERM; while :; do sleep 0.2; done",
                        terminationGracePeriodSeconds=4))
    for name in ("polite", "stubborn"):
        wait_until(lambda n=name: running(dc.pod_or_none(n)),
                   timeout=60.0, message=f"{name} Running")  # type: ignore[misc]
    time.sleep(0.5)  # scenario: let the shells install their traps (nothing to observe through the API)
    took = {}
    for name in ("polite", "stubborn"):
        t0 = time.monotonic()
        dc.kctl("delete", "pod", name, "--wait=false")
        wait_until(lambda n=name: dc.pod_or_none(n) is None, timeout=40, message=f"{name} gone")
        took[name] = time.monotonic() - t0
    assert took["polite"] < 8, took  # it exits on SIGTERM: no need to wait 30 s
    assert 3.5 <= took["stubborn"] < 15, took  # SIGKILL after its 4 s


def test_kctl_logs_follow_streams_new_lines(dc: DockerCluster) -> None:
    import threading

    dc.apply(simple_pod("ticker", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.5; done"))
    wait_until(lambda: running(dc.pod_or_none("ticker")), timeout=60.0, message="ticker Running")
    p = dc.kctl_popen("logs", "-f", "ticker")
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert p.stdout is not None
        for line in p.stdout:
            lines.append((time.monotonic(), line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_until(lambda: lines, timeout=20, message="the first lines")
        time.sleep(3.5)  # scenario: follow for a while; the lines' arrival times are asserted below
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(10)
    numbers = [int(line.split()[1]) for _, line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), lines
    first = lines[0][0]
    later = [t for t, _ in lines if t - first > 1.0]
    assert len(later) >= 4, lines  # new lines kept arriving, ~0.5 s apart, while following


def test_kctl_exec_returns_output_and_exit_code(dc: DockerCluster) -> None:
    dc.apply(simple_pod("shell", "sleep 3600"))
    wait_until(lambda: running(dc.pod_or_none("shell")), timeout=60.0, message="shell Running")
    p = dc.kctl("exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; exit 3",
                check=False)
    # streamed as kubectl does: stdout and stderr apart, kubectl's message for the code
    assert (p.returncode, p.stdout, p.stderr) == (
        3, "out\n", "err\ncommand terminated with exit code 3\n"), p
    assert dc.kctl("exec", "shell", "-c", "app", "--", "hostname").stdout == "shell\n"
    p = dc.kctl("exec", "shell", "--", "/no/such/binary", check=False)
    assert p.returncode != 0


def test_a_pods_hosts_file_names_it_and_its_host_aliases(dc: DockerCluster) -> None:
    """The node agent writes the pod's /etc/hosts as the kubelet does (its sandbox is wired
    by the agent, not by Docker): the pod's address, its FQDN (it has a subdomain) and
    hostname, then spec.hostAliases, as its container reads it."""
    dc.apply(simple_pod("aliased", "sleep 3600", hostname="web-0", subdomain="nginx",
                        hostAliases=[{"ip": "127.0.0.1", "hostnames": ["foo.local", "bar.local"]}]))
    wait_until(lambda: running(dc.pod_or_none("aliased")), timeout=60.0,
               message="aliased Running")
    pod = dc.pod("aliased")
    ip, ns = pod["status"]["podIP"], pod["metadata"]["namespace"]
    hosts = dc.kctl("exec", "aliased", "--", "cat", "/etc/hosts").stdout
    assert hosts.startswith("# Kubernetes-managed hosts file.\n"), hosts
    assert f"{ip}\tweb-0.nginx.{ns}.svc.cluster.local\tweb-0\n" in hosts, hosts
    assert dc.kctl("exec", "aliased", "--", "hostname").stdout.strip() == "web-0"
    # setHostnameAsFQDN: the FQDN is the pod's hostname
    dc.apply(simple_pod("fqdn", "sleep 3600", hostname="fqdn-0", subdomain="nginx",
                        setHostnameAsFQDN=True))
    wait_until(lambda: running(dc.pod_or_none("fqdn")), timeout=60.0, message="fqdn Running")
    assert dc.kctl("exec", "fqdn", "--", "hostname").stdout.strip() == (
        f"fqdn-0.nginx.{ns}.svc.cluster.local")
    assert hosts.endswith("# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n")
    # and names resolve through it
    got = dc.kctl("exec", "aliased", "--", "ping", "-c", "1", "-W", "2", "foo.local",
                  check=False)
    assert got.returncode == 0 and "127.0.0.1" in got.stdout, got


def test_a_node_starts_no_more_sandboxes_at_once_than_its_bound(dc: DockerCluster) -> None:
    """A burst of pods on one node: every one runs, and the agent never had more than
    ``max_parallel_sandbox_starts`` sandboxes between their create and their start (read
    from the daemon's own event times; the agents run with the default, one per CPU)."""
    from jetkube.services.kubelet.config import MAX_PARALLEL_SANDBOX_STARTS
    from jetkube.services.kubelet.runtime import LABEL_KIND, LABEL_NODE, LABEL_POD_NAME

    bound = MAX_PARALLEL_SANDBOX_STARTS
    names = [f"burst-{i}" for i in range(bound + 3)]
    since = time.time() - 1
    dc.kctl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        simple_pod(n, "sleep 3600", nodeName="node-a") for n in names]}))
    wait_until(lambda: all(running(dc.pod_or_none(n)) for n in names), timeout=120.0,
               message="every pod of the burst Running")
    spans: dict[str, dict[str, float]] = {}  # sandbox id -> its create and start times
    pods: dict[str, str] = {}
    for ev in dc.docker.api.events(since=since, until=time.time() + 1, decode=True, filters={
            "type": "container", "event": ["create", "start"],
            "label": [f"{LABEL_NODE}=node-a", f"{LABEL_KIND}=sandbox"]}):
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        spans.setdefault(ev["id"], {})[ev["status"]] = ev["timeNano"] / 1e9
        pods[ev["id"]] = attrs.get(LABEL_POD_NAME, "")
    assert sorted(pods[i] for i in spans if pods[i] in names) == sorted(names)  # one each
    edges = sorted((t, +1 if kind == "create" else -1) for s in spans.values()
                   if {"create", "start"} <= s.keys() for kind, t in s.items())
    at_once, most = 0, 0
    for _, step in edges:  # a start at the same instant as a create ends first (-1 < +1)
        at_once += step
        most = max(most, at_once)
    assert 1 <= most <= bound, (most, bound, spans)
    dc.kctl("delete", "pod", *names, "--grace-period=0", "--force", check=False)
