"""Which image a container gets on Docker: the pull policies, and image ids kept per node.

``ensure_image`` of the docker runtime: ``Always`` pulls; ``IfNotPresent`` and
``Never`` ask the daemon for the reference's image (``Never`` fails without it).
No registry is reachable from the machines jetkube runs on, so a failed pull says
how to build the image locally instead.  However many pods wait for an image,
it is pulled once.

:class:`ImageIds` remembers which image a reference named, so the pods of an
image do not each ask the daemon: an answer is kept only while the node's event
stream (docker_events.NodeEvents, the one that also carries its exits) is open
and has said nothing about images since; any image event (pull, tag, untag,
delete, import, build…) forgets all, and so does a reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import docker.errors

from ..runtime import ImagePullError, PullPolicy
from . import docker_convert as conv
from .docker_events import NodeEvents
from .docker_images import image_id_of, pull

NO_REGISTRY = ("no image registry is reachable from this machine: build the image locally "
               "(e.g. docker import of a rootfs tarball) and use imagePullPolicy "
               "IfNotPresent or Never")

Call = Callable[[Callable[[], Any]], Awaitable[Any]]
"""The runtime's ``_call``: a blocking function run on its pool."""


class ImageIds:
    """Image ids by normalized reference, as the daemon last answered, while nothing can
    have changed them: an answer counts only if it was asked and kept under the same open
    event stream (``token`` then ``keep``) with no image event in between, and every
    image event forgets them all (images change rarely on a node)."""

    def __init__(self, events: NodeEvents) -> None:
        self._ids: dict[str, tuple[str, int]] = {}  # ref -> (image id, stream epoch)
        self._changes = 0
        self._waited = False
        self.events = events
        events.on_image(self._changed)

    def _changed(self, _event: dict[str, Any]) -> None:
        self._changes += 1
        self._ids.clear()

    async def ready(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the stream if it is not and, until it first is open, wait (up to 2 s) for
        it: the answers of the first image asked for are kept too (also when the exits
        opened the stream a moment before)."""
        if not self.events.started:
            self.events.start(loop)
        if not self._waited:  # once: a daemon whose stream never opens costs 2 s, not 2 s a pod
            self._waited = True
            await self.events.wait_ready(2.0)

    def get(self, ref: str) -> str | None:
        hit = self._ids.get(ref)
        if hit is None or not self.events.connected or hit[1] != self.events.epoch:
            return None
        return hit[0]

    def token(self) -> tuple[int, int] | None:
        """Take before asking the daemon; hand to ``keep`` with its answer."""
        return (self._changes, self.events.epoch) if self.events.connected else None

    def keep(self, ref: str, image_id: str, token: tuple[int, int] | None) -> None:
        if token is not None and token == self.token():
            self._ids[ref] = (image_id, token[1])

    def clear(self) -> None:
        self._ids.clear()


class Images:
    """``ensure_image`` for one node: ``call`` runs the SDK's blocking calls on the
    runtime's pool, ``client`` is its docker SDK client (made on first use)."""

    def __init__(self, call: Call, client: Callable[[], Any], events: NodeEvents,
                 pull_timeout: float) -> None:
        self._call = call
        self._client = client
        self.ids = ImageIds(events)
        self.pull_timeout = pull_timeout
        self._pulls: dict[str, asyncio.Future[str]] = {}

    def known(self, image: str) -> str:
        """The id of ``image`` if it is known without asking the daemon, else ``""``."""
        return self.ids.get(conv.normalize_reference(image)) or ""

    async def ensure(self, image: str, policy: PullPolicy) -> str:
        if not conv.valid_reference(image):
            raise ImagePullError("InvalidImageName", f'Failed to apply default image tag '
                                 f'"{image}": couldn\'t parse image reference "{image}": '
                                 "invalid reference format")
        ref = conv.normalize_reference(image)
        if policy != "Always":
            image_id = self.ids.get(ref)
            if image_id is None:
                await self.ids.ready(asyncio.get_running_loop())
                token = self.ids.token()
                image_id = await self._call(lambda: image_id_of(self._client(), ref))
                if image_id:
                    self.ids.keep(ref, image_id, token)
            if image_id:
                return image_id
            if policy == "Never":
                raise ImagePullError("ErrImageNeverPull", f'Container image "{image}" is not '
                                     "present with pull policy of Never")
        pending = self._pulls.get(ref)
        if pending is None:  # one pull per image, however many pods wait for it
            pending = asyncio.ensure_future(self._pull(image, ref))
            self._pulls[ref] = pending
            pending.add_done_callback(lambda _: self._pulls.pop(ref, None))
        return await asyncio.shield(pending)

    async def _pull(self, image: str, ref: str) -> str:
        try:
            return str(await asyncio.wait_for(self._call(lambda: pull(self._client(), ref)),
                                              self.pull_timeout))
        except TimeoutError:
            msg = f"timed out after {self.pull_timeout:.0f}s"
        except docker.errors.DockerException as err:
            msg = conv.explain(err)
            if "invalid reference format" in msg:
                raise ImagePullError("InvalidImageName", msg) from None
        raise ImagePullError("ErrImagePull", f'Failed to pull image "{image}": {msg} '
                             f"({NO_REGISTRY})")


__all__ = ["NO_REGISTRY", "ImageIds", "Images"]
