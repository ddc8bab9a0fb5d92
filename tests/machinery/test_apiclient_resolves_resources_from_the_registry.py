"""The NATS API client finds a resource's group in the schema registry (no list of
groups of its own): every registered resource resolves by plural alone."""

from __future__ import annotations

import pytest

from jetkube.schemas.registry import ResourceType, all_resources, api_groups
from jetkube.services.machinery.client import ApiClient


def test_api_groups_are_the_registrys_in_discovery_order() -> None:
    groups = api_groups()
    assert groups[0] == ""  # core first
    assert set(groups) == {r.group for r in all_resources()}
    assert len(groups) == len(set(groups))


@pytest.mark.parametrize("rt", all_resources(), ids=lambda r: r.group_resource)
def test_every_registered_resource_resolves_by_plural(rt: ResourceType) -> None:
    assert ApiClient.resource(rt.plural) is rt
    assert ApiClient.resource(rt.plural, rt.group) is rt


def test_an_unknown_resource_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown resource"):
        ApiClient.resource("widgets")
