"""The NATS store rides out a stream leader election: transient failures (no responders,
no answer) are retried within a deadline, a write whose acknowledgement was lost is not
applied twice (same Nats-Msg-Id), and only after the deadline does it give up with
Unavailable, which the API answers 503; a value too big for one NATS message is refused
(413) without costing the connection."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from apiharness import make_api
from nats import errors as nats_errors

from jetkube.services.machinery.store import (
    NODE_PODS_STREAM,
    NatsStore,
    NodePodStream,
    TooLarge,
    Unavailable,
    connect,
)
from jetkube.services.machinery.store._nodestream import node_subject
from jetkube.services.machinery.store._retry import ride_out

pytestmark = pytest.mark.integration


async def test_transient_failures_are_retried_until_an_answer() -> None:
    calls: list[float] = []

    async def op(wait: float) -> str:
        calls.append(wait)
        if len(calls) < 4:
            raise nats_errors.NoRespondersError
        return "ok"

    assert await ride_out(op, "write k", deadline=5) == "ok"
    assert len(calls) == 4 and all(0 < w <= 2.0 for w in calls)


async def test_a_write_still_in_process_on_a_leader_without_quorum_is_retried() -> None:
    from nats.js import errors as jserr
    calls = 0

    async def op(wait: float) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:  # the first attempt is still being proposed to the replicas
            raise jserr.APIError(code=409, err_code=10158,
                                 description="duplicate message id is in process")
        return "ok"

    assert await ride_out(op, "write k", deadline=5) == "ok" and calls == 3
    conflicts = 0

    async def wrong_seq(wait: float) -> str:
        nonlocal conflicts
        conflicts += 1
        raise jserr.APIError(code=400, err_code=10071, description="wrong last sequence")

    with pytest.raises(jserr.APIError):
        await ride_out(wrong_seq, "write k")
    assert conflicts == 1  # a "no" is not retried


async def test_after_the_deadline_it_is_unavailable_and_other_errors_pass_at_once() -> None:
    async def never(wait: float) -> None:
        raise nats_errors.TimeoutError

    with pytest.raises(Unavailable, match=r"write k: the store did not answer within 0\.3s"):
        await ride_out(never, "write k", deadline=0.3)
    tries = 0

    async def broken(wait: float) -> None:
        nonlocal tries
        tries += 1
        raise ValueError("not transient")

    with pytest.raises(ValueError, match="not transient"):
        await ride_out(broken, "write k")
    assert tries == 1


async def test_a_write_whose_ack_was_lost_is_applied_once(nats_store: NatsStore) -> None:
    real = nats_store._requests.publish
    sent: list[dict[str, str]] = []

    async def lose_first_ack(subject: str, payload: bytes, **kw: Any) -> Any:
        sent.append(dict(kw["headers"]))
        ack = await real(subject, payload, **kw)
        if len(sent) == 1:  # it landed, but the caller never hears so
            raise nats_errors.TimeoutError
        return ack

    nats_store._requests.publish = lose_first_ack  # type: ignore[method-assign]
    rev = await nats_store.create("cm.a", b"v1")
    nats_store._requests.publish = real  # type: ignore[method-assign]
    assert len(sent) == 2 and sent[0]["Nats-Msg-Id"] == sent[1]["Nats-Msg-Id"]
    assert (await nats_store.get("cm.a")).revision == rev  # the first write's revision
    info = await nats_store.js.stream_info(nats_store.stream, subjects_filter="$KV.*.cm.a")
    assert info.state.subjects == {f"$KV.{nats_store.bucket}.cm.a": 1}  # applied once


async def test_a_value_too_big_for_one_message_is_refused_and_the_connection_stays(
        nats_store: NatsStore) -> None:
    limit = nats_store.nc.max_payload
    with pytest.raises(TooLarge, match=r"cm\.big"):
        await nats_store.create("cm.big", b"x" * (limit - 100))
    assert nats_store.nc.is_connected
    await nats_store.create("cm.small", b"x" * (limit // 2))  # what fits still goes in


async def test_the_api_answers_503_while_the_store_is_unavailable() -> None:
    api = await make_api()
    api.token = None

    async def unavailable(key: str, value: bytes, **kw: Any) -> int:
        raise Unavailable(f"write {key}: the store did not answer within 8s")

    api.store.create = unavailable  # type: ignore[method-assign]
    code, status = await api.call("POST", "/api/v1/namespaces/default/configmaps",
                                  {"metadata": {"name": "c"}})
    assert code == 503 and status["reason"] == "ServiceUnavailable", status
    assert "did not answer" in status["message"]


async def test_a_node_event_rides_out_an_election_and_lands_once(nats_url: str) -> None:
    """The pod events the API server publishes to a node agent's stream are retried through
    an election too (a dropped one left a bound pod unstarted until the agent's resync)."""
    nc = await connect(nats_url)
    try:
        stream = NodePodStream(nc)
        await stream.ensure()
        real = stream._requests.publish
        calls = 0

        async def no_leader_at_first(subject: str, payload: bytes, **kw: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls <= 2:
                raise nats_errors.NoRespondersError
            if calls == 3:  # lands, but its acknowledgement is lost
                await real(subject, payload, **kw)
                raise nats_errors.TimeoutError
            return await real(subject, payload, **kw)

        stream._requests.publish = no_leader_at_first  # type: ignore[method-assign]
        node = f"node-{uuid.uuid4().hex[:6]}"
        stream.publish(node, b'{"type":"ADDED"}', f"pods.default.p@{node}")
        await stream.flush()
        assert calls == 4
        info = await nc.jetstream().stream_info(NODE_PODS_STREAM, subjects_filter=node_subject(node))
        assert info.state.subjects == {node_subject(node): 1}  # delivered, and only once
    finally:
        await nc.close()


async def test_every_write_has_its_own_message_id(nats_store: NatsStore) -> None:
    real = nats_store._requests.publish
    sent: list[str] = []

    async def seen(subject: str, payload: bytes, **kw: Any) -> Any:
        sent.append(kw["headers"]["Nats-Msg-Id"])
        return await real(subject, payload, **kw)

    nats_store._requests.publish = seen  # type: ignore[method-assign]
    rev = await nats_store.create("cm.ids", b"v1")
    for i in range(20):
        rev = await nats_store.update("cm.ids", b"v%d" % i, rev)
    other = await NatsStore.open(nats_store.nc, nats_store.bucket, create=False)
    other._requests.publish = seen  # type: ignore[method-assign]
    await other.create("cm.ids2", b"x")
    assert len(sent) == 22 and len(set(sent)) == 22  # two stores never share one either
    assert (await nats_store.get("cm.ids")).value == b"v19"
