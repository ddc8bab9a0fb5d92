"""``selector_dict_matcher`` (one selector, many label maps) answers as
``selector_dict_matches``, and ``set_matches`` as the plain-map test it documents."""

from __future__ import annotations

from typing import Any

from jetkube.schemas.meta import selector_dict_matcher, selector_dict_matches, set_matches

LABELS: list[dict[str, Any] | None] = [
    None, {}, {"app": "web"}, {"app": "web", "tier": "front"}, {"tier": "front"},
    {"app": "db"}, {"app": "web", "n": 3}]
SELECTORS: list[dict[str, Any] | None] = [
    None, {}, {"matchLabels": {}}, {"matchLabels": {"app": "web"}},
    {"matchLabels": {"app": "web", "tier": "front"}},
    {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
    {"matchLabels": {"app": "web"},
     "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]},
    {"matchLabels": {"n": 3}}]


def test_matcher_agrees_with_selector_dict_matches() -> None:
    for sel in SELECTORS:
        match = selector_dict_matcher(sel)
        for labels in LABELS:
            assert match(labels) == selector_dict_matches(sel, labels), (sel, labels)


def test_set_matches_needs_every_pair_and_an_empty_map_matches_all() -> None:
    assert set_matches(None, None) and set_matches({}, {"a": "b"})
    assert set_matches({"a": "b"}, {"a": "b", "c": "d"})
    assert not set_matches({"a": "b", "c": "x"}, {"a": "b", "c": "d"})
    assert not set_matches({"a": "b"}, None)
