"""compose/stack_init.py, the stack's ``init`` service, run here on temporary directories:
kctl up's secured configuration with the stack's addresses, each component's volume
holding only its own files, a kubeconfig for the host, and a second run keeping the CA,
the seeds and the token."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from cryptography import x509

from jetkube.cli import natsconf


@pytest.fixture
def dirs(tmp_path: Path, stack_init: ModuleType) -> dict[str, Path]:
    d = {k: tmp_path / k for k in ("state", "out", "host")}
    d["host"].mkdir()
    assert stack_init.main(["--state", str(d["state"]), "--out", str(d["out"]),
                            "--host-dir", str(d["host"]), "--api-port", "16443"]) == 0
    return d


def names_in(cert: Path) -> set[str]:
    c = x509.load_pem_x509_certificate(cert.read_bytes())
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n.value) for n in san}


def test_each_component_volume_holds_only_its_own_files(dirs: dict[str, Path]) -> None:
    files = {p.name: sorted(f.name for f in p.iterdir()) for p in dirs["out"].iterdir()}
    assert files == {
        "nats": ["ca.crt", "nats-1.conf", "nats-2.conf", "nats-3.conf", "nats-route.crt",
                 "nats-route.key", "nats.crt", "nats.key"],
        "apiserver": ["apiserver.crt", "apiserver.key", "bus.nk", "ca.crt",
                      "encryption-config.yaml", "sa.key", "store.nk", "tokens.csv"],
        **{c: ["bus.nk", "ca.crt"] for c in ("controller-manager", "scheduler", "proxy", "dns",
                                             "node-1", "node-2")}}
    seeds = {c: natsconf.public_key(dirs["out"] / c / "bus.nk") for c in files if c != "nats"}
    assert len(set(seeds.values())) == len(seeds)  # one identity each
    assert not any(f.stat().st_mode & 0o077 for f in dirs["out"].rglob("*.nk"))
    assert not any(f.stat().st_mode & 0o077 for f in dirs["out"].rglob("*.key"))


def test_every_nats_node_routes_to_the_other_two_and_admits_every_identity(
        dirs: dict[str, Path]) -> None:
    keys = {natsconf.public_key(p) for p in dirs["out"].glob("*/bus.nk")}
    keys.add(natsconf.public_key(dirs["out"] / "apiserver" / "store.nk"))
    for i in (1, 2, 3):
        text = (dirs["out"] / "nats" / f"nats-{i}.conf").read_text()
        assert 'listen: "0.0.0.0:4222"' in text and 'store_dir: "/data"' in text
        assert f'server_name: "jetkube-nats-{i}"' in text
        peers = {f'"nats-route://nats-{j}:6222"' for j in (1, 2, 3) if j != i}
        assert all(p in text for p in peers) and f"nats-{i}:6222" not in text
        assert "no_advertise: true" in text  # clients keep to the URLs they were given
        assert 'cert_file: "/etc/jetkube/nats.crt"' in text
        assert all(f'nkey: "{k}"' in text for k in keys)


def test_the_certificates_name_the_stack_hosts_and_127_0_0_1(dirs: dict[str, Path]) -> None:
    nats = names_in(dirs["out"] / "nats" / "nats.crt")
    assert {"nats-1", "nats-2", "nats-3", "127.0.0.1"} <= nats
    api = names_in(dirs["out"] / "apiserver" / "apiserver.crt")
    assert {"apiserver-1", "apiserver-2", "127.0.0.1", "kubernetes.default.svc",
            str(ipaddress.ip_network("10.96.0.0/16")[1])} <= api


def test_the_host_kubeconfig_reaches_the_published_api_with_the_ca_and_admin_token(
        dirs: dict[str, Path]) -> None:
    path = dirs["host"] / "kubeconfig"
    assert path.stat().st_mode & 0o777 == 0o600
    cfg = yaml.safe_load(path.read_text())
    cluster = cfg["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:16443"
    ca = (dirs["out"] / "apiserver" / "ca.crt").read_bytes()
    assert base64.b64decode(cluster["certificate-authority-data"]) == ca
    token = cfg["users"][0]["user"]["token"]
    assert f"{token},admin,admin," in (dirs["out"] / "apiserver" / "tokens.csv").read_text()


def test_a_second_run_keeps_the_ca_the_seeds_and_the_token(dirs: dict[str, Path],
                                                           stack_init: ModuleType) -> None:
    before = {p: p.read_bytes() for p in dirs["out"].rglob("*")
              if p.name in ("ca.crt", "bus.nk", "store.nk", "tokens.csv")}
    assert stack_init.main(["--state", str(dirs["state"]), "--out", str(dirs["out"])]) == 0
    assert {p: p.read_bytes() for p in before} == before
