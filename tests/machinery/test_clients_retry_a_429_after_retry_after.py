"""A 429 Too Many Requests was not served, so both clients send the same request again after
the Retry-After they were told (client-go's behaviour, at most THROTTLE_RETRIES times);
any other error is the caller's at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from jetkube.cli.client import HttpApiClient
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient

THROTTLED = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429,
             "reason": "TooManyRequests", "message": "Too many requests",
             "details": {"retryAfterSeconds": 2}}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


class Scripted(ApiClient):
    """Answers from a script of (code, body); records what it was sent."""

    def __init__(self, answers: list[tuple[int, Any]]) -> None:
        super().__init__(None, "admin")
        self.answers = answers
        self.sent: list[bytes] = []

    async def send(self, subject: str, payload: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        self.sent.append(payload)
        return self.answers.pop(0)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("jetkube.services.machinery.client._apiclient.asyncio.sleep", fake_sleep)
    return waits


async def test_the_bus_client_sends_again_after_the_retry_after(slept: list[float]) -> None:
    api = Scripted([(429, THROTTLED), (429, THROTTLED), (201, CM)])
    assert await api.create("configmaps", "default", CM) == CM
    assert slept == [2, 2] and len(api.sent) == 3 and len(set(api.sent)) == 1


async def test_the_bus_client_gives_up_after_its_retries(slept: list[float]) -> None:
    api = Scripted([(429, THROTTLED)] * (apierrors.THROTTLE_RETRIES + 1))
    with pytest.raises(apierrors.ApiError) as err:
        await api.create("configmaps", "default", CM)
    assert err.value.code == 429 and len(api.sent) == apierrors.THROTTLE_RETRIES + 1


async def test_the_bus_client_does_not_retry_other_errors(slept: list[float]) -> None:
    unavailable = {**THROTTLED, "code": 503, "reason": "ServiceUnavailable"}
    api = Scripted([(503, unavailable)])
    with pytest.raises(apierrors.ApiError) as err:
        await api.create("configmaps", "default", CM)
    assert err.value.code == 503 and slept == [] and len(api.sent) == 1


def test_kctl_sends_again_after_the_retry_after_header(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [httpx.Response(429, json=THROTTLED, headers={"Retry-After": "3"}),
               httpx.Response(429, json=THROTTLED),  # no header: one second
               httpx.Response(201, json=CM)]
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return answers.pop(0)

    waits: list[float] = []
    monkeypatch.setattr(HttpApiClient, "sleep", staticmethod(waits.append))
    with HttpApiClient("http://127.0.0.1:1", "t", transport=httpx.MockTransport(handler)) as c:
        assert c.create("/api/v1/namespaces/default/configmaps", CM) == CM
    assert waits == [3.0, 1.0] and len(seen) == 3 and len(set(seen)) == 1


def test_kctl_reports_a_429_after_its_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, json=THROTTLED, headers={"Retry-After": "100000"})

    waits: list[float] = []
    monkeypatch.setattr(HttpApiClient, "sleep", staticmethod(waits.append))
    with HttpApiClient("http://127.0.0.1:1", "t", transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(apierrors.ApiError) as err:
            c.get("/api/v1/namespaces/default/configmaps/x")
    assert err.value.reason == "TooManyRequests"
    assert len(calls) == apierrors.THROTTLE_RETRIES + 1
    assert set(waits) == {float(apierrors.MAX_RETRY_AFTER)}, "a huge Retry-After is capped"
