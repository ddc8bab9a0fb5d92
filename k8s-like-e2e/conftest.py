"""k8s-like-e2e: scenarios against a real cluster brought up with `kctl up`.

One cluster per session on free loopback ports and a temporary data dir;
`kctl down` at the end stops exactly what it started.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_e2e import Cluster, running_cluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("e2e") / "jetkube") as c:
        yield c


@pytest.fixture(scope="session")
def k8s(cluster: Cluster):  # type: ignore[no-untyped-def]
    """The official kubernetes Python client, configured from the cluster's kubeconfig."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield client, api_client
    api_client.close()
