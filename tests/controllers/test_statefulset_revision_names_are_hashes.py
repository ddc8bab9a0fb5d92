"""ControllerRevision names: ``<parent>-<hash>``, the hash taken over the data and the
collision count with Kubernetes' safe alphabet; a name taken by other data is retried
with the collision count raised."""

from __future__ import annotations

from ctrlharness import make_env

from jetkube.services.controllers.history import (
    ControllerHistory,
    hash_revision,
    new_revision,
    revision_name,
)
from jetkube.services.machinery.apimachinery import safe_encode

PARENT = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}}
REF = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u1",
       "controller": True}


def test_hash_depends_on_data_and_collision_count_only() -> None:
    a = hash_revision({"spec": {"x": 1, "y": 2}}, 0)
    assert a == hash_revision({"spec": {"y": 2, "x": 1}}, 0)  # key order does not matter
    assert a != hash_revision({"spec": {"x": 1, "y": 3}}, 0)
    assert a != hash_revision({"spec": {"x": 1, "y": 2}}, 1)
    assert set(a) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_safe_encode_maps_each_character_into_the_safe_alphabet() -> None:
    assert safe_encode("019") == "45f"  # ord % 27: 48 -> 21, 49 -> 22, 57 -> 3


def test_long_parent_names_are_cut_to_keep_the_name_valid() -> None:
    assert revision_name("a" * 300, "abc") == "a" * 223 + "-abc"


async def test_a_name_taken_by_other_data_raises_the_collision_count() -> None:
    env = await make_env()
    try:
        rev = new_revision(PARENT, REF, {"app": "web"}, {"spec": {"v": 1}}, 1, 0)
        squatter = new_revision(PARENT, REF, {}, {"spec": {"v": 2}}, 1, 0)
        squatter["metadata"]["name"] = rev["metadata"]["name"]
        squatter["metadata"]["ownerReferences"] = []
        await env.client.create("controllerrevisions", "default", squatter)
        history = ControllerHistory(env.client)
        created, collisions = await history.create(PARENT, rev, 0)
        assert collisions == 1
        assert created["metadata"]["name"] == "web-" + hash_revision({"spec": {"v": 1}}, 1)
        again, collisions = await history.create(PARENT, rev, 1)
        assert (again["metadata"]["uid"], collisions) == (created["metadata"]["uid"], 1)
    finally:
        await env.close()
