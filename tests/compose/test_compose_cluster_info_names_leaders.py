"""``kctl cluster-info`` on a cluster kctl up did not start here (the compose stack): the
leader of each leader-elected component, named by the host in its Lease's holder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jetkube.cli.localinfo import local_cluster_rows


def test_cluster_info_names_the_leading_replicas_by_their_host(tmp_path: Path) -> None:
    holders = {"kube-controller-manager": "controller-manager-2_1_5b0c", "kube-scheduler": ""}

    def get_lease(name: str) -> dict[str, Any] | None:
        return {"spec": {"holderIdentity": holders[name]}} if name in holders else None
    rows: list[list[str]] = []
    assert local_cluster_rows(tmp_path / "kubeconfig", "https://127.0.0.1:6443", get_lease, rows)
    assert rows == [["controller-manager", "lease kube-system/kube-controller-manager", "running",
                     "", "leader controller-manager-2"]]  # no scheduler leader yet: no row
