"""The API server's pod proxy and the node agent's face speak one protocol.

Services never import each other, so the subject prefix and header names are
written in both (apiserver/podproxy.py, kubelet/logstream.py): they must agree.
"""

from __future__ import annotations

from jetkube.services.apiserver import podproxy
from jetkube.services.kubelet import logstream


def test_subjects_and_headers_match() -> None:
    assert podproxy.SUBJECT_PREFIX == logstream.SUBJECT_PREFIX
    for name in ("H_SEQ", "H_END", "H_EXIT", "H_ERROR", "H_CODE"):
        assert getattr(podproxy, name) == getattr(logstream, name), name
    assert logstream.node_subject("node-1.example", "logs") == \
        "jetkube.kubelet.node-1_example.logs"


def test_the_proxy_idles_longer_than_the_node_pings() -> None:
    import inspect

    ping = inspect.signature(logstream.NodeRequests).parameters["ping_interval"].default
    assert podproxy.IDLE_TIMEOUT > 3 * ping
