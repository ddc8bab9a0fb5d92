"""Secrets at rest on a `kctl up` cluster: the JetStream files and a store snapshot hold
no Secret value (neither the text nor its base64), while a ConfigMap's value written
alongside does appear in those same files, so the search looks where objects live;
the API still returns the Secret whole."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from cluster_e2e import Cluster
from polling import wait_until

pytestmark = pytest.mark.e2e


def _found(root: Path, needle: bytes) -> bool:
    return any(needle in p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_no_secret_value_in_the_store_files_or_a_snapshot(cluster: Cluster, tmp_path: Path) -> None:
    visible, hidden = f"cm-{secrets.token_hex(8)}", f"pw-{secrets.token_hex(8)}"
    ns = "e2e-at-rest"
    cluster.kctl("create", "namespace", ns)
    cluster.kctl("apply", "-n", ns, "-f", "-", input=f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: plain}}
data: {{value: {visible}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: sealed-{visible}}}
stringData: {{password: {hidden}}}
""")
    store_dir = cluster.data_dir / "nats"
    assert store_dir.is_dir()
    wait_until(lambda: _found(store_dir, visible.encode()), timeout=60,
               message="the ConfigMap's value in the JetStream files")
    assert _found(store_dir, f"sealed-{visible}".encode())  # the Secret's metadata is there
    for needle in (hidden.encode(), base64.b64encode(hidden.encode())):
        assert not _found(store_dir, needle)

    got = cluster.kctl("get", "secret", f"sealed-{visible}", "-n", ns, "-o",
                       "jsonpath={.data.password}").stdout
    assert base64.b64decode(got).decode() == hidden

    snap = tmp_path / "snap.jsonl"
    cluster.kctl("store", "snapshot", "save", str(snap), "--data-dir", str(cluster.data_dir))
    text = snap.read_bytes()
    # after its header, a snapshot is one {"key", "revision", "value": base64} line per key
    rows = [json.loads(line) for line in text.splitlines()[1:] if line.strip()]
    stored_values = b"".join(base64.b64decode(r["value"]) for r in rows)
    assert visible.encode() in stored_values
    assert hidden.encode() not in stored_values and hidden.encode() not in text
    assert base64.b64encode(hidden.encode()) not in stored_values
