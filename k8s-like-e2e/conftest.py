"""k8s-like-e2e: scenarios against a real cluster brought up with `kctl up`.

One cluster per session on free loopback ports and a temporary data dir;
`kctl down` at the end stops exactly what it started.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from cluster_e2e import BIN, Cluster, kctl_up

from jetkube.services.machinery.store import free_port


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    data_dir = tmp_path_factory.mktemp("e2e") / "jetkube"
    port, nats_port = free_port(), free_port()
    kctl_up(data_dir, port, nats_port)
    c = Cluster(data_dir, data_dir / "kubeconfig", port, nats_port)
    try:
        yield c
    finally:
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(data_dir)],
                       capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def k8s(cluster: Cluster):  # type: ignore[no-untyped-def]
    """The official kubernetes Python client, configured from the cluster's kubeconfig."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield client, api_client
    api_client.close()
