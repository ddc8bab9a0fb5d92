"""The NATS face never sends a reply bigger than the server's max_payload: a list page
that would be is cut to fewer items (with a continue token, as Kubernetes allows a page
to hold fewer than ``limit``); a list asked for without ``limit`` gets 413 naming the
remedy; paging through with the cut pages returns every item once."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from apiharness import make_api

from jetkube.services.apiserver.natsface import handle

SUBJECT = "jetkube.api.admin.list.core.v1.configmaps"
ROOM = 24_000  # a tiny max_payload: 40 ConfigMaps of ~2 kB do not fit in one reply


async def test_pages_are_cut_to_fit_and_an_unpaged_list_is_refused() -> None:
    api = await make_api()
    for i in range(40):
        await api.ok("POST", "/api/v1/namespaces/default/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:02d}"},
            "data": {"v": "x" * 2000}})
    unpaged = {"Jetkube-Namespace": "default"}
    body, headers = await handle(api.front, SUBJECT, unpaged, b"")
    assert headers["Jetkube-Code"] == "200" and len(body) > ROOM  # the target: too big
    body, headers = await handle(api.front, SUBJECT, unpaged, b"", max_payload=ROOM)
    status = orjson.loads(body)
    assert headers["Jetkube-Code"] == "413" and "limit and continue" in status["message"]

    seen: list[str] = []
    query = {"limit": "100"}
    while True:
        body, headers = await handle(api.front, SUBJECT, {
            **unpaged, "Jetkube-Query": urlencode(query)}, b"", max_payload=ROOM)
        assert headers["Jetkube-Code"] == "200" and len(body) <= ROOM
        page = orjson.loads(body)
        seen += [i["metadata"]["name"] for i in page["items"]]
        cont = page["metadata"].get("continue")
        if not cont:
            break
        query = {"limit": "100", "continue": cont}
    assert seen == [f"cm-{i:02d}" for i in range(40)]
