"""``kctl up --ha`` as a plan: three NATS nodes (ports, data dirs, configs routed to each
other over mutual TLS, the store at R3), two API servers, controller-managers and
schedulers; nats-server accepts each node's config; a single-node store is not silently
turned into a cluster; the supervisor's backoff; the Lease holder's PID."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from jetkube.cli import natsconf
from jetkube.cli.bussecurity import ensure_bus_security
from jetkube.cli.components import COMPONENTS
from jetkube.cli.errors import CliError
from jetkube.cli.localinfo import leader_pid
from jetkube.cli.plan import Plan
from jetkube.cli.supervisor import RestartPolicy
from jetkube.cli.up import up
from jetkube.services.machinery.store import find_nats_server


def _plan(tmp_path: Path, **kw: object) -> Plan:
    return Plan(data_dir=tmp_path, nats_port=14222, nats_monitor_port=18222,
                nats_cluster_port=16222, api_port=16443, **kw)  # type: ignore[arg-type]


def test_ha_plans_three_nats_nodes_and_two_replicas_of_each_control_plane_part(
        tmp_path: Path) -> None:
    p = _plan(tmp_path, ha=True, nodes=2)
    assert p.nats_url == "nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224"
    assert p.replicas == 3 and _plan(tmp_path).replicas == 1
    assert _plan(tmp_path, ha=True, kv_replicas=5).replicas == 5
    assert [p.nats_node_dir(i).name for i in range(3)] == ["nats-1", "nats-2", "nats-3"]
    names = {c.name: [n for _, n in c.names(p)] for c in COMPONENTS}
    assert names["nats"] == ["nats-1", "nats-2", "nats-3"]
    assert names["apiserver"] == ["apiserver-1", "apiserver-2"]
    assert names["controller-manager"] == ["controller-manager-1", "controller-manager-2"]
    assert names["scheduler"] == ["scheduler-1", "scheduler-2"]
    api = next(c for c in COMPONENTS if c.name == "apiserver")
    second = api.argv(p, 1)
    assert second[second.index("--port") + 1] == "16444"
    assert second[second.index("--kv-replicas") + 1] == "3"
    assert second[second.index("--nats-url") + 1] == p.nats_url
    # the second holds pods and events only while watched (ondemand.py); the first, all
    assert second[second.index("--watch-cache-on-demand") + 1] == "pods,events"
    assert "--watch-cache-on-demand" not in api.argv(p, 0)
    nats = next(c for c in COMPONENTS if c.name == "nats")
    assert sorted(nats.ports(p)) == [14222, 14223, 14224, 16222, 16223, 16224,
                                     18222, 18223, 18224]
    # without --ha nothing changes: one of each, the names and paths of before
    single = {c.name: [n for _, n in c.names(_plan(tmp_path))] for c in COMPONENTS}
    assert single["nats"] == ["nats"] and single["apiserver"] == ["apiserver"]
    assert _plan(tmp_path).nats_node_conf(0) == tmp_path / "nats.conf"


def test_each_node_routes_to_the_other_two_over_mutual_tls(tmp_path: Path) -> None:
    p = _plan(tmp_path, ha=True)
    assert ensure_bus_security(p) is True
    for i in range(3):
        text = p.nats_node_conf(i).read_text()
        assert f'server_name: "jetkube-nats-{i + 1}"' in text
        assert f'listen: "127.0.0.1:{14222 + i}"' in text
        assert f'store_dir: "{tmp_path / f"nats-{i + 1}"}"' in text
        routes = re.search(r"routes: \[(.*)\]", text)
        assert routes is not None
        want = {f"nats-route://127.0.0.1:{16222 + j}" for j in range(3) if j != i}
        assert set(re.findall(r'"([^"]+)"', routes.group(1))) == want
        cluster = text[text.index("cluster {"):]
        assert "verify: true" in cluster and str(p.ca_file) in cluster
    cert = x509.load_pem_x509_certificate((tmp_path / "pki" / "nats-route.crt").read_bytes())
    usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert ensure_bus_security(p) is False  # nothing changed: no reload


def test_nats_server_accepts_each_nodes_config(tmp_path: Path) -> None:
    p = _plan(tmp_path, ha=True, nats_sync="always")
    ensure_bus_security(p)
    for i in range(3):
        check = subprocess.run([find_nats_server(), "-c", str(p.nats_node_conf(i)), "-t"],
                               capture_output=True, text=True, timeout=20)
        assert check.returncode == 0, check.stdout + check.stderr
        assert 'sync_interval: "always"' in p.nats_node_conf(i).read_text()
    default = natsconf.render_nats_conf(
        host="127.0.0.1", port=1, monitor_port=2, store_dir=tmp_path, server_name="x",
        bucket="jetkube", users={"admin": natsconf.public_key(
            natsconf.ensure_identity(tmp_path / "c", "admin"))}, tls=None)
    assert "sync_interval" not in default and "cluster {" not in default
    with pytest.raises(ValueError, match="nats sync"):
        natsconf.render_nats_conf(host="127.0.0.1", port=1, monitor_port=2, store_dir=tmp_path,
                                  server_name="x", bucket="b", users={"admin": "U" * 56},
                                  tls=None, sync="sometimes")


def test_ha_on_a_single_node_store_is_refused_not_converted(tmp_path: Path) -> None:
    (tmp_path / "nats" / "jetstream").mkdir(parents=True)
    with pytest.raises(CliError, match="is on one NATS node"):
        up(tmp_path, {"ha": True, "nats_port": 14222})
    assert not (tmp_path / "nats-1").exists()


def test_restart_delay_doubles_per_quick_death_up_to_a_cap() -> None:
    policy = RestartPolicy(first_delay=1.0, max_delay=30.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize(("holder", "pid"), [
    ("vm_4242_0d9b5a9e-1111-2222-3333-444455556666", 4242),
    ("my_host_name_17_0d9b5a9e", 17),
    ("vm_0d9b5a9e-1111-2222-3333-444455556666", None),  # the form without a PID
    ("", None),
])
def test_the_lease_holder_names_its_pid(holder: str, pid: int | None) -> None:
    assert leader_pid({"spec": {"holderIdentity": holder}}) == pid
    assert leader_pid(None) is None
