"""The API server's pod proxy and the node agent's face speak one protocol.

Services never import each other, so the subject prefix and header names are
written in both (apiserver/podproxy.py and podstreams.py; kubelet/streamwire.py and
sessions.py): they must agree.
"""

from __future__ import annotations

from jetkube.services.apiserver import podproxy, podstreams
from jetkube.services.kubelet import logstream, sessions, streamwire


def test_subjects_and_headers_match() -> None:
    assert podproxy.SUBJECT_PREFIX == streamwire.SUBJECT_PREFIX
    for name in ("H_SEQ", "H_END", "H_EXIT", "H_ERROR", "H_CODE", "H_CHANNEL"):
        assert getattr(podproxy, name) == getattr(streamwire, name), name
    assert streamwire.node_subject("node-1.example", "logs") == \
        "jetkube.kubelet.node-1_example.logs"


def test_session_channels_match() -> None:
    assert (podstreams.STDIN, podstreams.RESIZE, podstreams.CLOSE) == (
        sessions.STDIN, sessions.RESIZE, sessions.CLOSE)


def test_the_proxy_idles_longer_than_the_node_pings() -> None:
    import inspect

    ping = inspect.signature(logstream.NodeRequests).parameters["ping_interval"].default
    assert podproxy.IDLE_TIMEOUT > 3 * ping
