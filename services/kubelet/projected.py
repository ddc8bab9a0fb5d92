"""ServiceAccount tokens of a pod's projected volumes (the kubelet's token manager).

A ``serviceAccountToken`` source is a token the node agent asks the API server for
(``POST …/serviceaccounts/<name>/token``: bound to the pod by name and uid, with the
source's ``audience`` and ``expirationSeconds``), which the Node authorizer allows only for
the accounts of pods bound to this node.  A token is kept until it must be refreshed, as
Kubernetes' token manager decides: past 80% of its lifetime, or 24 hours old; then the
volume is written again with a new one (:meth:`PodTokens.next_refresh` says when).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from jetkube.schemas.objects import Obj
from jetkube.schemas.timestamps import parse_time
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient

from .envvars import ConfigError

REFRESH_FRACTION = 0.8
MAX_TTL = 24 * 3600.0
DEFAULT_EXPIRATION = 3600


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    issued: float
    expires: float

    @property
    def refresh_at(self) -> float:
        """Kubernetes' ``requiresRefresh``: at 80% of the lifetime, or after 24 hours."""
        return min(self.issued + REFRESH_FRACTION * (self.expires - self.issued),
                   self.issued + MAX_TTL)


class PodTokens:
    """The tokens of one pod's volumes, by (account, audience, expiration)."""

    def __init__(self, api: ApiClient, pod: Obj,
                 clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.pod = pod
        self.clock = clock
        self._tokens: dict[tuple[str, str, int], Token] = {}

    async def get(self, src: Obj) -> bytes:
        """The token for a ``serviceAccountToken`` projection, fetched when missing or due."""
        md, spec = self.pod["metadata"], self.pod.get("spec") or {}
        account = spec.get("serviceAccountName") or "default"
        audience = str(src.get("audience") or "")
        expiration = int(src.get("expirationSeconds") or DEFAULT_EXPIRATION)
        key = (account, audience, expiration)
        have = self._tokens.get(key)
        if have is not None and self.clock() < have.refresh_at:
            return have.value.encode()
        body: Obj = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                     "spec": {"audiences": [audience] if audience else [],
                              "expirationSeconds": expiration,
                              "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                 "name": md["name"], "uid": md.get("uid")}}}
        ns = md.get("namespace") or "default"
        try:
            tr = await self.api.create_subresource("serviceaccounts", ns, account, "token",
                                                   body)  # with the others of this turn
        except apierrors.ApiError as err:
            raise ConfigError(f'failed to fetch token: serviceaccounts "{account}" '
                              f"token: {err}") from None
        status = tr.get("status") or {}
        if not status.get("token"):  # never mount an empty token
            raise ConfigError(f'failed to fetch token: serviceaccounts "{account}" token: '
                              "the answer carried no token")
        expires = parse_time(status.get("expirationTimestamp"))
        now = self.clock()
        token = Token(str(status["token"]), now,
                      expires.timestamp() if expires else now + expiration)
        self._tokens[key] = token
        return token.value.encode()

    def next_refresh(self) -> float | None:
        """When the first token kept must be fetched again (None: no token)."""
        return min((t.refresh_at for t in self._tokens.values()), default=None)
