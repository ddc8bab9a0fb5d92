"""A batched create over the NATS face (``Jetkube-Batch``, natsbatch.py): each object is
created as its own create would be (validated, authorized as the sender, its own store
write and revision), one failing leaves the others made, and the answers come back in
order; a batch that is not one is refused whole, before anything is written; an answer
that would not fit a NATS message is cut to each item's identity or failure."""

from __future__ import annotations

from typing import Any

import orjson
from apiharness import make_api
from ctrlharness import LocalApiClient

from jetkube.services.apiserver.natsbatch import ITEM_ROOM, MAX_BATCH
from jetkube.services.apiserver.natsface import handle
from jetkube.services.machinery.apimachinery import apierrors

CREATE = "jetkube.api.{who}.create.core.v1.configmaps"
NS = {"Jetkube-Namespace": "default"}


def cm(name: str, size: int = 10, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta},
            "data": {"v": "x" * size}}


def lines(*objs: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(o) for o in objs)


async def batch(api: Any, body: bytes, count: int | str, who: str = "admin",
                max_payload: int | None = None) -> tuple[int, Any]:
    out, headers = await handle(api.front, CREATE.format(who=who),
                                {**NS, "Jetkube-Batch": str(count)}, body,
                                max_payload=max_payload)
    return int(headers["Jetkube-Code"]), orjson.loads(out)


async def test_each_object_is_its_own_create_and_one_failing_leaves_the_others() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/configmaps", cm("taken"))
    code, answers = await batch(api, lines(cm("a"), cm("Not_A_Name"), cm("taken"), cm("b")), 4)
    assert code == 200
    assert [a["code"] for a in answers] == [201, 422, 409, 201]
    assert answers[1]["body"]["reason"] == "Invalid" and answers[2]["body"]["reason"] == (
        "AlreadyExists")
    made = [answers[0]["body"], answers[3]["body"]]
    assert [m["metadata"]["name"] for m in made] == ["a", "b"]
    revisions = {m["metadata"]["resourceVersion"] for m in made}
    assert len(revisions) == 2  # each its own store write
    for m in made:  # what the batch answered is what is stored
        stored = await api.ok("GET", f"/api/v1/namespaces/default/configmaps/"
                                     f"{m['metadata']['name']}")
        assert stored["metadata"]["resourceVersion"] == m["metadata"]["resourceVersion"]


async def test_each_object_is_authorized_as_the_sender() -> None:
    api = await make_api()
    code, answers = await batch(api, lines(cm("n1"), cm("n2")), 2, who="node:n1")
    assert code == 200 and [a["code"] for a in answers] == [403, 403]
    assert (await api.call("GET", "/api/v1/namespaces/default/configmaps/n1"))[0] == 404


async def test_what_is_not_a_batch_of_creates_is_refused_whole_before_any_write() -> None:
    api = await make_api()
    one = lines(cm("c1"))
    assert (await batch(api, lines(cm("c1"), cm("c2")), 3))[0] == 400  # the count lies
    assert (await batch(api, one, "two"))[0] == 400
    assert (await batch(api, one, 0))[0] == 400
    code, status = await batch(api, lines(*(cm(f"m{i}") for i in range(MAX_BATCH + 1))),
                               MAX_BATCH + 1)
    assert (code, status["reason"]) == (413, "RequestEntityTooLarge")
    out, headers = await handle(api.front, "jetkube.api.admin.update.core.v1.configmaps",
                                {**NS, "Jetkube-Name": "c1", "Jetkube-Batch": "1"}, one)
    assert headers["Jetkube-Code"] == "400" and b"only creates" in out
    code, status = await batch(api, lines(cm("c1"), cm("c2")), 2,
                               max_payload=4096 + ITEM_ROOM)  # room for one answer
    assert code == 413 and "send at most 1 in a batch" in status["message"]
    listed = await api.ok("GET", "/api/v1/namespaces/default/configmaps")
    assert listed["items"] == []  # nothing written


async def test_an_answer_too_big_for_a_message_carries_each_items_identity() -> None:
    api = await make_api()
    room = 4096 + 4 * ITEM_ROOM
    big = [cm(f"big{i}", size=3000) for i in range(3)]  # ~9 kB of answers
    code, answers = await batch(api, lines(*big, cm("Bad_Name")), 4, max_payload=room)
    assert code == 200 and [a["code"] for a in answers] == [201, 201, 201, 422]
    first = answers[0]["body"]
    assert set(first) == {"apiVersion", "kind", "metadata"} and "data" not in first
    assert set(first["metadata"]) == {"name", "namespace", "uid", "resourceVersion",
                                      "creationTimestamp"}
    assert answers[3]["body"]["kind"] == "Status" and answers[3]["body"]["code"] == 422
    stored = await api.ok("GET", "/api/v1/namespaces/default/configmaps/big2")
    assert stored["metadata"]["uid"] == answers[2]["body"]["metadata"]["uid"]


async def test_the_client_sends_many_in_batches_and_answers_in_order() -> None:
    api = await make_api()
    client = LocalApiClient(api.front)
    await api.ok("POST", "/api/v1/namespaces/default/configmaps", cm("x70"))
    bodies = [cm(f"x{i}") for i in range(150)]
    made = await client.create_many("configmaps", "default", bodies)
    assert len(client.calls) == 3  # 64 + 64 + 22: three requests for 150 objects
    assert isinstance(made[70], apierrors.ApiError) and made[70].code == 409
    names = [m["metadata"]["name"] for m in made if not isinstance(m, apierrors.ApiError)]
    assert names == [f"x{i}" for i in range(150) if i != 70]
    listed = await api.ok("GET", "/api/v1/namespaces/default/configmaps")
    assert len(listed["items"]) == 150


async def test_lines_that_are_not_objects_are_each_a_400_never_a_500() -> None:
    api = await make_api()
    for body, n in ((b'{"not json\n[1,2]', 2), (b"\n", 2), (b"\xff\xfe", 1),
                    (b'{"apiVersion":"v1","kind":"Pod"}\nnull', 2)):
        code, answers = await batch(api, body, n)
        assert code == 200 and [a["code"] for a in answers] == [400] * n, (body, answers)
        assert all(a["body"]["kind"] == "Status" for a in answers)
