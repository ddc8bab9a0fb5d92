"""An object's ``metadata.uid`` is a random version-4 UUID, as apimachinery's ``NewUUID``
gives (new_uid, written without building a ``uuid.UUID``): the standard library reads each
one back as such."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

from jetkube.schemas.registry import by_plural
from jetkube.services.apiserver.lifecycle import prepare_create
from jetkube.services.machinery.apimachinery import new_uid

_FORM = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_uids_are_version_4_of_the_rfc_variant_in_canonical_form() -> None:
    for _ in range(2000):
        uid = new_uid()
        assert _FORM.fullmatch(uid), uid
        parsed = uuid.UUID(uid)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == uid


def test_uids_do_not_repeat_and_every_variant_digit_occurs() -> None:
    uids = [new_uid() for _ in range(4000)]
    assert len(set(uids)) == len(uids)
    assert {u[19] for u in uids} == set("89ab")  # the variant's free bits are random too
    assert len({u[0] for u in uids}) == 16


def test_created_objects_carry_such_a_uid() -> None:
    rt = by_plural("", "configmaps")
    assert rt is not None
    a = prepare_create(rt, {"metadata": {"name": "a", "uid": "client-chosen"}})
    b = prepare_create(rt, {"metadata": {"name": "b"}})
    assert _FORM.fullmatch(a["metadata"]["uid"]) and a["metadata"]["uid"] != b["metadata"]["uid"]


def test_uids_taken_from_many_threads_at_once_never_repeat() -> None:
    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: [new_uid() for _ in range(500)], range(8)))
    uids = [u for batch in batches for u in batch]
    assert len(uids) == 4000 and len(set(uids)) == 4000
