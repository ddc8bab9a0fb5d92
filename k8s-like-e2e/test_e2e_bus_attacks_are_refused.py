"""The attacks of issue 10, replayed against a `kctl up` cluster (2 sim nodes): each is
refused by the bus now.  Every test first shows that its target exists (the admin
identity, or the legitimate owner, reaches it), so none can pass because the target
was missing.  The attacker holds a real component's credentials (the strongest case:
a compromised node agent or proxy), except where the attack is to have none."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import Cluster, running_cluster
from nats.js.errors import KeyNotFoundError, NotFoundError
from polling import until
from test_e2e_kubectl_drives_the_cluster import kubectl

from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.store import NatsStore, connect

BUCKET = "jetkube"
NODE_PODS_STREAM = "JETKUBE_NODE_PODS"


@pytest.fixture(scope="module")
def bus_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("bus") / "jetkube", nodes=2,
                         runtime="sim") as c:
        yield c


class Bus:
    """One nats-py connection as ``identity`` that records the server's async errors
    (a permissions violation is one: nats-server answers ``-ERR 'Permissions Violation
    for Publish to …'`` and keeps the connection)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: Any = None

    async def open(self, cluster: Cluster, identity: str) -> Bus:
        async def on_error(err: Exception) -> None:
            self.errors.append(str(err))

        self.nc = await connect(cluster.nats_url, **cluster.nats_options(identity),
                                error_cb=on_error, max_reconnect_attempts=0,
                                connect_timeout=5)
        return self

    async def violation(self, what: str) -> None:
        """Wait for the server's refusal naming ``what`` (nats-py lowercases the -ERR)."""
        want = what.lower()
        await until(lambda: any("permissions violation" in e.lower() and want in e.lower()
                                for e in self.errors),
                    timeout=5, message=f"a permissions violation naming {what}; "
                                       f"errors seen: {self.errors}")

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


@contextlib.asynccontextmanager
async def bus(cluster: Cluster, identity: str) -> AsyncIterator[Bus]:
    b = await Bus().open(cluster, identity)
    try:
        yield b
    finally:
        await b.close()


def _apply(cluster: Cluster, obj: dict[str, Any]) -> None:
    cluster.kctl("apply", "-f", "-", input=json.dumps(obj))


async def test_no_connection_without_credentials_or_the_cluster_ca(bus_cluster: Cluster) -> None:
    async with bus(bus_cluster, "admin") as admin:  # the target: the bus answers its owner
        assert admin.nc.is_connected
    with pytest.raises(Exception, match="Authorization Violation"):  # anonymous
        await connect(bus_cluster.nats_url, max_reconnect_attempts=0, connect_timeout=5,
                      allow_reconnect=False,
                      tls=ssl.create_default_context(cafile=bus_cluster.nats_options()["ca_file"]))
    with pytest.raises(ssl.SSLCertVerificationError):  # a server it cannot verify
        await connect(bus_cluster.nats_url, max_reconnect_attempts=0, connect_timeout=5,
                      allow_reconnect=False, nkeys_seed=bus_cluster.nats_options()["creds_file"],
                      tls=ssl.create_default_context())


async def test_a_component_cannot_read_write_or_delete_the_store(bus_cluster: Cluster) -> None:
    _apply(bus_cluster, {"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": "crown-jewels", "namespace": "default"},
                         "data": {"pw": base64.b64encode(b"hunter2").decode()}})
    _apply(bus_cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "keep-me", "namespace": "default"}})
    async with bus(bus_cluster, "admin") as admin:  # the targets exist in the bucket
        kv = await admin.nc.jetstream().key_value(BUCKET)
        assert (await kv.get("secrets.default.crown-jewels")).value
        assert (await kv.get("configmaps.default.keep-me")).value
    async with bus(bus_cluster, "kube-proxy") as proxy:
        js = proxy.nc.jetstream(timeout=2)
        with pytest.raises(Exception):  # noqa: B017 - denied: no answer, a violation
            await js.get_msg(f"KV_{BUCKET}", subject=f"$KV.{BUCKET}.secrets.default.crown-jewels")
        await proxy.violation("$JS.API.STREAM.MSG.GET")
        with pytest.raises(Exception):  # noqa: B017
            await js.publish(f"$KV.{BUCKET}.clusterrolebindings._.evil", b"{}")
        await proxy.violation(f"$KV.{BUCKET}.clusterrolebindings")
        with pytest.raises(Exception):  # noqa: B017
            await js.publish(f"$KV.{BUCKET}.configmaps.default.keep-me", b"",
                             headers={"KV-Operation": "DEL"})
        # and a watch of Secrets in the store: its consumer may not be created
        store = NatsStore(proxy.nc, js, None, BUCKET)  # type: ignore[arg-type]
        with pytest.raises(Exception):  # noqa: B017
            await asyncio.wait_for(store.watch("secrets.", lambda ev: None), 5)
        await proxy.violation("CONSUMER.CREATE")
    assert "keep-me" in bus_cluster.kctl("get", "configmaps", "-o", "name").stdout
    p = bus_cluster.kctl("get", "clusterrolebinding", "evil", check=False)
    assert p.returncode != 0 and "not found" in (p.stdout + p.stderr).lower()


async def test_server_made_replies_never_reach_the_store(bus_cluster: Cluster) -> None:
    """nats-server sends its own answers (a JetStream API reply, a stream's publish ack) to
    whatever reply subject the client named; naming a key of the bucket stored the answer
    there while store and readers shared one account.  The store has its own account now,
    and the readers' copy is a mirror, which stores nothing published to it."""
    _apply(bus_cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "untouched", "namespace": "default"},
                         "data": {"v": "1"}})
    async with bus(bus_cluster, "kube-proxy") as proxy:
        # the targets exist: the server answers both requests (into the proxy's inbox)
        info = await proxy.nc.request(f"$JS.API.STREAM.INFO.KV_{BUCKET}", b"", timeout=5)
        assert json.loads(info.data)["config"]["name"] == f"KV_{BUCKET}"
        ack = await proxy.nc.request("jetkube.traces.attack", b"{}", timeout=5)
        assert json.loads(ack.data)["stream"] == "JETKUBE_TRACES"
        for key in ("configmaps.default.untouched", "clusterrolebindings._.reply-attack"):
            await proxy.nc.publish(f"$JS.API.STREAM.INFO.KV_{BUCKET}", b"",
                                   reply=f"$KV.{BUCKET}.{key}")
            await proxy.nc.publish("jetkube.traces.attack", b"{}", reply=f"$KV.{BUCKET}.{key}")
        await proxy.nc.flush()
    # a write after the attack, through the API: once it is visible, so would the attack be
    _apply(bus_cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "after-attack", "namespace": "default"}})
    got = json.loads(bus_cluster.kctl("get", "configmap", "untouched", "-o", "json").stdout)
    assert got["data"] == {"v": "1"}
    p = bus_cluster.kctl("get", "clusterrolebinding", "reply-attack", check=False)
    assert p.returncode != 0 and "not found" in (p.stdout + p.stderr).lower()
    async with bus(bus_cluster, "admin") as admin:  # nor in the readers' mirror
        kv = await admin.nc.jetstream().key_value(BUCKET)
        assert json.loads((await kv.get("configmaps.default.untouched")).value)["data"] == {
            "v": "1"}
        with pytest.raises(KeyNotFoundError):
            await kv.get("clusterrolebindings._.reply-attack")


async def test_nobody_but_the_api_server_hears_api_requests(bus_cluster: Cluster) -> None:
    async with bus(bus_cluster, "admin") as admin:  # the target: requests flow (kubelets)
        heard: list[str] = []
        await admin.nc.subscribe("jetkube.api.>", cb=_collect(heard))
        await until(lambda: heard, timeout=20, message="API requests on the bus")
    async with bus(bus_cluster, "node:node-1") as node:
        sniffed: list[str] = []
        await node.nc.subscribe("jetkube.api.>", cb=_collect(sniffed))
        await node.violation("Subscription to \"jetkube.api.>\"")
        await node.nc.subscribe("jetkube.api.*.>", queue="apiserver", cb=_collect(sniffed))
        await node.violation("jetkube.api.*.>")
        # the node's own requests are still answered, by the real API server
        got = await ApiClient(node.nc, "node:node-1").get("nodes", None, "node-1")
        assert got["metadata"]["name"] == "node-1"
        assert sniffed == []


def _collect(into: list[str]) -> Any:
    async def cb(msg: Any) -> None:
        into.append(msg.subject)
    return cb


async def test_a_component_cannot_act_as_another(bus_cluster: Cluster) -> None:
    async with bus(bus_cluster, "kube-proxy") as proxy:
        api = ApiClient(proxy.nc, "kube-proxy", timeout=2, retries=1)
        assert (await api.get("nodes", None, "node-1"))["metadata"]["name"] == "node-1"
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "proxy-is-admin"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "cluster-admin"},
                   "subjects": [{"kind": "User", "name": "system:kube-proxy",
                                 "apiGroup": "rbac.authorization.k8s.io"}]}
        with pytest.raises(apierrors.ApiError) as err:  # as itself: RBAC says no
            await api.create("clusterrolebindings", None, binding)
        assert err.value.code == 403
        with pytest.raises(Exception):  # noqa: B017 - as admin: the bus drops the request
            await proxy.nc.request(
                "jetkube.api.admin.create.rbac_authorization_k8s_io.v1.clusterrolebindings",
                json.dumps(binding).encode(), timeout=2)
        await proxy.violation("jetkube.api.admin.")
    p = bus_cluster.kctl("get", "clusterrolebinding", "proxy-is-admin", check=False)
    assert p.returncode != 0


async def test_a_batched_create_is_authorized_object_by_object(bus_cluster: Cluster) -> None:
    """A batch (natsbatch.py) is no way around authorization: each object in it is a create
    of its own.  The target exists: the controller-manager's batch makes its pods."""
    def pod(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    async with bus(bus_cluster, "kube-controller-manager") as cm:
        api = ApiClient(cm.nc, "kube-controller-manager", timeout=5, retries=1)
        made = await api.create_many("pods", "default", [pod("batched-a"), pod("batched-b")])
        assert [m["metadata"]["name"] for m in made if isinstance(m, dict)] == [
            "batched-a", "batched-b"]
    async with bus(bus_cluster, "kube-proxy") as proxy:
        api = ApiClient(proxy.nc, "kube-proxy", timeout=5, retries=1)
        refused = await api.create_many("pods", "default", [pod("proxy-a"), pod("proxy-b")])
        assert [getattr(r, "code", None) for r in refused] == [403, 403]
    names = bus_cluster.kctl("get", "pods", "-o", "name").stdout.split()
    assert {"pod/batched-a", "pod/batched-b"} <= set(names)
    assert not {"pod/proxy-a", "pod/proxy-b"} & set(names)
    bus_cluster.kctl("delete", "pod", "batched-a", "batched-b", "--wait=false")


async def test_a_batch_of_binds_is_authorized_bind_by_bind(bus_cluster: Cluster) -> None:
    """Binds asked for in one turn of the event loop go in one batched request, each line
    naming its pod (natsbatch.py): each is still a bind of its own, authorized as the
    sender.  The target exists: the scheduler's identity binds both pods in one batch
    (after the proxy's batch was refused, so the refusal is not the pods' being bound)."""
    node = bus_cluster.kctl("get", "nodes", "-o", "name").stdout.split()[0].split("/")[1]
    for name in ("bind-a", "bind-b"):  # a scheduler nobody runs: the cluster's leaves them
        _apply(bus_cluster, {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": name, "namespace": "default"},
                             "spec": {"schedulerName": "nobody", "containers": [
                                 {"name": "c", "image": "busybox"}]}})
    async with bus(bus_cluster, "kube-proxy") as proxy:
        api = ApiClient(proxy.nc, "kube-proxy", timeout=5, retries=1)
        refused = await asyncio.gather(api.bind("default", "bind-a", node),
                                       api.bind("default", "bind-b", node),
                                       return_exceptions=True)
        assert [getattr(r, "code", None) for r in refused] == [403, 403], refused
    assert not bus_cluster.kctl("get", "pod", "bind-a", "bind-b", "-o",
                                "jsonpath={.items[*].spec.nodeName}").stdout.strip()
    async with bus(bus_cluster, "kube-scheduler") as sched:
        api = ApiClient(sched.nc, "kube-scheduler", timeout=5, retries=1)
        bound = await asyncio.gather(api.bind("default", "bind-a", node),
                                     api.bind("default", "bind-b", node))
        assert [b["status"] for b in bound] == ["Success", "Success"]
    assert bus_cluster.kctl("get", "pod", "bind-a", "bind-b", "-o",
                            "jsonpath={.items[*].spec.nodeName}").stdout.split() == [node, node]
    bus_cluster.kctl("delete", "pod", "bind-a", "bind-b", "--wait=false")


async def test_a_batch_of_status_patches_is_authorized_patch_by_patch(
        bus_cluster: Cluster) -> None:
    """A node agent's status writes of one turn go in one batched patch (natsbatch.py): a
    node still writes only the status of pods bound to it.  The target exists: the same
    batch writes node-1's own pod."""
    for pod, node in (("status-mine", "node-1"), ("status-theirs", "node-2")):
        _apply(bus_cluster, {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": pod, "namespace": "default"},
                             "spec": {"nodeName": node, "containers": [
                                 {"name": "c", "image": "busybox"}]}})
    condition = {"status": {"conditions": [{"type": "example.com/Batched", "status": "True"}]}}
    async with bus(bus_cluster, "node:node-1") as node:
        api = ApiClient(node.nc, "node:node-1", timeout=5, retries=1)
        got = await asyncio.gather(
            *(api.patch_together("pods", "default", pod, condition, subresource="status",
                                 patch_type="application/strategic-merge-patch+json")
              for pod in ("status-mine", "status-theirs")), return_exceptions=True)
    assert isinstance(got[0], dict) and got[0]["metadata"]["name"] == "status-mine", got
    assert isinstance(got[1], apierrors.ApiError) and got[1].code == 403, got
    theirs = json.loads(bus_cluster.kctl("get", "pod", "status-theirs", "-o", "json").stdout)
    assert "example.com/Batched" not in {
        c.get("type") for c in theirs.get("status", {}).get("conditions") or []}
    bus_cluster.kctl("delete", "pod", "status-mine", "status-theirs", "--wait=false")


async def test_a_minimal_answer_is_the_same_write_under_the_same_authorization(
        bus_cluster: Cluster) -> None:
    """``Prefer: return=minimal`` (what node agents send with their status writes) only
    shortens the answer: the patch is authorized as before (a node's write of another
    node's pod is refused whole, with its Status) and lands whole.  The target exists:
    the same batch writes node-1's own pod, and kubectl reads the whole status back."""
    for pod, node in (("minimal-mine", "node-1"), ("minimal-theirs", "node-2")):
        _apply(bus_cluster, {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": pod, "namespace": "default"},
                             "spec": {"nodeName": node, "containers": [
                                 {"name": "c", "image": "busybox"}]}})
    def phase(pod: str) -> str:
        return bus_cluster.kctl("get", "pod", pod, "-o", "jsonpath={.status.phase}",
                                check=False).stdout.strip()

    # node-1's agent writes its pod's status until it runs: patch it after that
    await until(lambda: phase("minimal-mine") == "Running", timeout=60, interval=0.5,
                message="minimal-mine never ran on node-1")
    condition = {"status": {"conditions": [{"type": "example.com/Minimal", "status": "True"}]}}
    async with bus(bus_cluster, "node:node-1") as node:
        api = ApiClient(node.nc, "node:node-1", timeout=5, retries=1)
        got = await asyncio.gather(
            *(api.patch_together("pods", "default", pod, condition, subresource="status",
                                 patch_type="application/strategic-merge-patch+json",
                                 minimal=True)
              for pod in ("minimal-mine", "minimal-theirs")), return_exceptions=True)
    assert isinstance(got[0], dict) and set(got[0]) == {"apiVersion", "kind", "metadata"}, got
    assert got[0]["metadata"]["name"] == "minimal-mine" and "status" not in got[0]
    assert isinstance(got[1], apierrors.ApiError) and got[1].code == 403, got
    mine = json.loads(bus_cluster.kctl("get", "pod", "minimal-mine", "-o", "json").stdout)
    assert {"type": "example.com/Minimal", "status": "True"}.items() <= next(
        c for c in mine["status"]["conditions"] if c["type"] == "example.com/Minimal").items()
    assert int(mine["metadata"]["resourceVersion"]) >= int(got[0]["metadata"]["resourceVersion"])
    assert mine["spec"]["containers"][0]["image"] == "busybox"
    theirs = json.loads(bus_cluster.kctl("get", "pod", "minimal-theirs", "-o", "json").stdout)
    assert "example.com/Minimal" not in {
        c.get("type") for c in theirs.get("status", {}).get("conditions") or []}
    bus_cluster.kctl("delete", "pod", "minimal-mine", "minimal-theirs", "--wait=false")


async def pod_names_on(b: Bus, subject: str) -> set[str]:
    """The pod names of every event the node pod stream holds on ``subject``."""
    js = b.nc.jetstream()
    info = await js.stream_info(NODE_PODS_STREAM)
    names: set[str] = set()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(NODE_PODS_STREAM, seq)
        except NotFoundError:  # a gap: a message that expired or was removed
            continue
        if msg.subject == subject:
            event = json.loads(msg.data or b"{}")
            names.add(str(((event.get("object") or {}).get("metadata") or {}).get("name")))
    return names


async def test_forged_pod_events_do_not_reach_a_node(bus_cluster: Cluster) -> None:
    subject = "jetkube.watch.nodes.node-1.pods"
    async with bus(bus_cluster, "admin") as admin:  # the target: node-1's stream holds events
        _apply(bus_cluster, {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": "real", "namespace": "default"},
                             "spec": {"nodeName": "node-1",
                                      "containers": [{"name": "c", "image": "busybox"}]}})
        names = await until(lambda: pod_names_on(admin, subject), accept=lambda n: "real" in n,
                            timeout=10, message="the real pod's events on node-1's stream")
        assert "fake" not in names
    fake = {"type": "ADDED", "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "fake", "namespace": "default", "uid": "f", "resourceVersion": "999999999"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}]}}}
    for identity in ("node:node-1", "node:node-2", "kube-scheduler"):
        async with bus(bus_cluster, identity) as attacker:
            with pytest.raises(Exception):  # noqa: B017 - no publish ack: it was dropped
                await attacker.nc.jetstream(timeout=2).publish(subject, json.dumps(fake).encode())
            await attacker.violation(subject)
    async with bus(bus_cluster, "admin") as admin:
        # every event the stream holds for node-1 is the API server's: none names the fake
        # (the real pod's own events keep coming as its node agent reports its status)
        assert "fake" not in await pod_names_on(admin, subject)
    p = bus_cluster.kctl("get", "pod", "fake", check=False)
    assert p.returncode != 0


def _post_exec(c: Cluster, pod: str, *command: str) -> dict[str, Any]:
    """``POST .../pods/<pod>/exec?command=…``: the API server's run-to-completion exec."""
    query = urllib.parse.urlencode([("command", part) for part in command])
    req = urllib.request.Request(f"{c.api_url}/api/v1/namespaces/default/pods/{pod}/exec?{query}",
                                 method="POST", headers={"Authorization": f"Bearer {c.token}"})
    with urllib.request.urlopen(req, context=c.verify(), timeout=30) as r:
        return dict(json.loads(r.read()))


@pytest.mark.parametrize("verb", ["exec", "session", "stream.x.in"])
async def test_kubelet_exec_only_through_the_api_server(bus_cluster: Cluster, verb: str) -> None:
    """``exec`` runs a command, ``session`` opens an interactive one (kubectl exec -i,
    attach, port-forward: kubelet/sessions.py), ``stream.<id>.in`` is a session's stdin:
    only the API server may publish any of them to node-1's agent."""
    subject = f"jetkube.kubelet.node-1.{verb}"
    _apply(bus_cluster, {"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "exec-target", "namespace": "default"},
                         "spec": {"nodeName": "node-1",
                                  "containers": [{"name": "c", "image": "busybox"}]}})
    await until(lambda: "Running" in bus_cluster.kctl("get", "pod", "exec-target").stdout,
                timeout=30, message="exec-target Running")
    # the target: node-1's agent runs a command when the API server asks it (the plain
    # POST .../exec, answered on the exec subject), and an interactive session (kubectl
    # and kctl exec: the session subject, stdin on stream.<id>.in)
    ran = await asyncio.to_thread(_post_exec, bus_cluster, "exec-target", "id")
    assert (ran["kind"], ran["exitCode"], ran["command"]) == ("ExecResult", 0, ["id"]), ran
    assert bus_cluster.kctl("exec", "exec-target", "--", "id").returncode == 0
    echoed = kubectl(bus_cluster.kubeconfig, "exec", "-i", "exec-target", "--", "cat",
                     input="through the API server\n", check=False)
    assert echoed.returncode == 0 and "through the API server" in echoed.stdout
    for identity in ("node:node-2", "kube-proxy", "kube-controller-manager"):
        async with bus(bus_cluster, identity) as attacker:
            with pytest.raises(Exception):  # noqa: B017 - timeout: the request never went
                await attacker.nc.request(subject, json.dumps({
                    "namespace": "default", "pod": "real", "container": "c",
                    "inbox": "jetkube.kubelet.node-1.stream.x", "command": ["id"]}).encode(),
                    timeout=2)
            await attacker.violation(subject)


async def test_kubelet_stats_only_through_the_api_server(bus_cluster: Cluster) -> None:
    subject = "jetkube.kubelet.node-1.stats"
    # the target: node-1's agent answers the API server (the Metrics API, kubectl top)
    raw = await until(lambda: kubectl(bus_cluster.kubeconfig, "get", "--raw",
                                      "/apis/metrics.k8s.io/v1beta1/nodes/node-1", check=False),
                      accept=lambda p: p.returncode == 0, timeout=30,
                      message="node-1's metrics through the API server")
    assert json.loads(raw.stdout)["kind"] == "NodeMetrics"
    for identity in ("node:node-2", "kube-proxy", "kube-scheduler"):
        async with bus(bus_cluster, identity) as attacker:
            with pytest.raises(Exception):  # noqa: B017 - timeout: the request never went
                await attacker.nc.request(subject, b'{"pods": null, "node": true}', timeout=2)
            await attacker.violation(subject)


async def test_a_node_reads_only_the_secrets_of_its_own_pods(bus_cluster: Cluster) -> None:
    for name in ("mine", "theirs"):
        _apply(bus_cluster, {"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": name, "namespace": "default"},
                             "data": {"k": base64.b64encode(name.encode()).decode()}})
    for pod, node, secret in (("uses-mine", "node-1", "mine"), ("uses-theirs", "node-2", "theirs")):
        _apply(bus_cluster, {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": pod, "namespace": "default"},
                             "spec": {"nodeName": node, "containers": [{
                                 "name": "c", "image": "busybox", "env": [{
                                     "name": "K", "valueFrom": {"secretKeyRef": {
                                         "name": secret, "key": "k"}}}]}]}})
    async with bus(bus_cluster, "node:node-1") as node:
        api = ApiClient(node.nc, "node:node-1", retries=1)
        got = await until(lambda: _get_or_none(api, "mine"), timeout=10,
                          message="node-1 reading the secret of its pod")
        assert base64.b64decode(got["data"]["k"]) == b"mine"
        with pytest.raises(apierrors.ApiError) as err:
            await api.get("secrets", "default", "theirs")
        assert err.value.code == 403
        with pytest.raises(apierrors.ApiError) as err:
            await api.list("secrets", "default")
        assert err.value.code == 403
    async with bus(bus_cluster, "node:node-2") as other:  # the target exists, for its node
        theirs = await ApiClient(other.nc, "node:node-2").get("secrets", "default", "theirs")
        assert base64.b64decode(theirs["data"]["k"]) == b"theirs"


async def _get_or_none(api: ApiClient, name: str) -> Any:
    try:
        return await api.get("secrets", "default", name)
    except apierrors.ApiError as err:
        if err.code == 403:  # the API server's graph has not seen the pod yet
            return None
        raise


def test_the_data_dir_keeps_every_credential_private(bus_cluster: Cluster) -> None:
    d = bus_cluster.data_dir
    secret_files = [*sorted((d / "creds").glob("*.nk")), d / "pki" / "ca.key",
                    d / "pki" / "nats.key", d / "tokens.csv", d / "encryption-config.yaml"]
    assert len(secret_files) >= 9  # 6 control-plane identities + 2 nodes + keys
    for f in secret_files:
        assert Path(f).stat().st_mode & 0o077 == 0, f"{f} is readable by others"
