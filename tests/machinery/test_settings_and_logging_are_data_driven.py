"""Settings come from JETKUBE_* variables and overrides; logs are structured, with trace ids."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry import trace

from jetkube.services.machinery.runtime import Backoff, Settings, setup_logging, telemetry

telemetry.setup_telemetry("jetkube-tests")


def test_defaults_match_kubernetes() -> None:
    s = Settings.from_env({})
    assert s.nats_url == "nats://127.0.0.1:4222" and s.bucket == "jetkube" and s.kv_history == 8
    assert s.api_subject_prefix == "jetkube.api"
    assert (s.queue_backoff.base_seconds, s.queue_backoff.cap_seconds) == (0.005, 1000.0)
    assert (s.queue_rate_limit.qps, s.queue_rate_limit.burst) == (10.0, 100)
    le = s.leader_election
    assert (le.lease_duration_seconds, le.renew_deadline_seconds,
            le.retry_period_seconds) == (15, 10, 2)
    assert s.informer_resync_seconds == 600


def test_environment_and_overrides() -> None:
    env = {
        "JETKUBE_NATS_URL": "nats://10.0.0.1:4222",
        "JETKUBE_KV_HISTORY": "16",
        "JETKUBE_QUEUE_BACKOFF__CAP_SECONDS": "60",
        "JETKUBE_LEADER_ELECTION__LEASE_DURATION_SECONDS": "30",
        "JETKUBE_LOG_LEVEL": "debug",
        "JETKUBE_LOG_FORMAT": "JSON",
        "JETKUBE_NODE_NAME": "belongs-to-the-kubelet",  # unknown here: ignored
    }
    s = Settings.from_env(env, kv_history=4, queue_backoff={"base_seconds": 0.5})
    assert s.nats_url == "nats://10.0.0.1:4222"
    assert s.kv_history == 4  # the override wins
    assert s.queue_backoff == Backoff(base_seconds=0.5, cap_seconds=60)  # merged
    assert s.leader_election.lease_duration_seconds == 30
    assert (s.log_level, s.log_format) == ("DEBUG", "json")


def test_bad_values_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="kv_history"):
        Settings.from_env({"JETKUBE_KV_HISTORY": "100"})
    with pytest.raises(ValueError, match="unknown setting: nope"):
        Settings.from_env({}, nope=1)
    with pytest.raises(ValueError, match="renew_deadline_seconds must be greater"):
        Settings.from_env({"JETKUBE_LEADER_ELECTION__RETRY_PERIOD_SECONDS": "12"})


def test_subclasses_add_their_own_settings() -> None:
    class KubeletSettings(Settings):
        node_name: str = "node-0"

    s = KubeletSettings.from_env({"JETKUBE_NODE_NAME": "n7"})
    assert s.node_name == "n7" and s.bucket == "jetkube"


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_service_and_trace_ids(root_logging: None) -> None:
    out = io.StringIO()
    setup_logging("jetkube-scheduler", "INFO", "json", out)
    log = logging.getLogger("jetkube.test")
    with trace.get_tracer("t").start_as_current_span("bind") as span:
        log.info("bound %s", "web-1", extra={"node": "n1"})
    log.debug("hidden")
    (line,) = out.getvalue().splitlines()
    rec = orjson.loads(line)
    assert rec["msg"] == "bound web-1" and rec["level"] == "info" and rec["node"] == "n1"
    assert rec["service"] == "jetkube-scheduler" and rec["logger"] == "jetkube.test"
    assert rec["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert rec["ts"].endswith("Z")


def test_key_value_lines_quote_what_needs_quoting(root_logging: None) -> None:
    out = io.StringIO()
    setup_logging("jetkube-apiserver", "INFO", "kv", out)
    setup_logging("jetkube-apiserver", "INFO", "kv", out)  # replaces, does not duplicate
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("x").exception('failed "create"')
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ts=")
    assert 'msg="failed \\"create\\""' in lines[0] and "service=jetkube-apiserver" in lines[0]
    assert "exc=" in lines[0] and "RuntimeError: boom" in lines[0]
    assert "trace_id" not in lines[0]
    assert len(lines) == 1


def test_a_partly_set_group_keeps_the_fields_own_defaults() -> None:
    """Only the base of the relist backoff is set: its cap stays the field's 30 s (not
    Backoff's class default), and the Job backoff's 600 s cap likewise."""
    s = Settings.from_env({"JETKUBE_INFORMER_RELIST_BACKOFF__BASE_SECONDS": "1",
                           "JETKUBE_JOB_POD_FAILURE_BACKOFF__BASE_SECONDS": "5"})
    assert s.informer_relist_backoff.base_seconds == 1.0
    assert s.informer_relist_backoff.cap_seconds == 30.0
    assert s.job_pod_failure_backoff.base_seconds == 5.0
    assert s.job_pod_failure_backoff.cap_seconds == 600.0
    assert Backoff().cap_seconds != 30.0  # the class default differs, so the check has teeth
