"""One matcher of selector requirements (schemas' ``requirement_matches``): the
LabelSelector models and dicts, the parsed ``-l`` selectors of the API server,
the DaemonSet controller's and the scheduler's node affinity all give the same
answers, with Gt/Lt reading integers as Kubernetes' strconv.ParseInt does."""

from __future__ import annotations

from typing import Any

import pytest

from jetkube.schemas import (
    LabelSelector,
    requirement_matches,
    selector_dict_matches,
    selector_matches,
)
from jetkube.services.controllers.daemonset import term_matches
from jetkube.services.machinery.apimachinery import (
    parse_label_selector,
    selector_from_label_selector,
)
from jetkube.services.scheduler.nodeinfo import NodeInfo
from jetkube.services.scheduler.plugins.node_affinity import term_matcher

LABELS = {"app": "web", "tier": "front", "gen": "7"}


@pytest.mark.parametrize(("selector", "want"), [
    ({}, True),
    ({"matchLabels": {"app": "web"}}, True),
    ({"matchLabels": {"app": "db"}}, False),
    ({"matchLabels": {"app": "web", "tier": "back"}}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]}, False),
    ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]}, True),
    ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
    ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, True),
    ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
    ({"matchLabels": {"app": "web"},
      "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
])
def test_label_selectors_agree(selector: dict[str, Any], want: bool) -> None:
    assert selector_dict_matches(selector, LABELS) is want
    assert selector_matches(LabelSelector.model_validate(selector), LABELS) is want
    assert selector_from_label_selector(selector).matches(LABELS) is want
    assert parse_label_selector(str(selector_from_label_selector(selector))).matches(LABELS) \
        is want


def test_a_missing_selector_matches_nothing_and_an_empty_one_everything() -> None:
    assert not selector_dict_matches(None, LABELS)
    assert not selector_matches(None, LABELS)
    assert not selector_from_label_selector(None).matches(LABELS)
    assert selector_dict_matches({}, {}) and selector_matches(LabelSelector(), None)


@pytest.mark.parametrize(("op", "value", "bound", "want"), [
    ("Gt", "7", "6", True),
    ("Gt", "7", "7", False),
    ("Lt", "7", "8", True),
    ("Lt", "-3", "-2", True),
    ("Gt", "+8", "7", True),        # ParseInt takes a sign
    ("Gt", "8_000", "7", False),    # ... but no digit separators (Python's int() would)
    ("Gt", "\u0668", "7", False),   # ... and ASCII digits only (Arabic-Indic eight)
    ("Gt", "9" * 20, "7", False),   # ... within int64
    ("Gt", "web", "7", False),
    ("Gt", None, "7", False),
])
def test_gt_and_lt_read_integers_as_kubernetes(op: str, value: str | None, bound: str,
                                                 want: bool) -> None:
    assert requirement_matches(op, value, [bound]) is want
    node = {"metadata": {"name": "n1", "labels": {} if value is None else {"v": value}}}
    term = {"matchExpressions": [{"key": "v", "operator": op, "values": [bound]}]}
    assert term_matches(term, node) is want
    info = NodeInfo("n1")
    info.set_node(node)
    assert term_matcher(term)(info) is want
    # the API server's -l syntax ("v>6") matches the same way
    sel = parse_label_selector(f"v{'>' if op == 'Gt' else '<'}{bound}")
    assert sel.matches(node["metadata"]["labels"]) is want


def test_gt_needs_exactly_one_value_and_unknown_operators_match_nothing() -> None:
    assert not requirement_matches("Gt", "7", [])
    assert not requirement_matches("Gt", "7", ["1", "2"])
    assert not requirement_matches("Equals", "web", ["web"])


def test_node_fields_match_the_node_name() -> None:
    node = {"metadata": {"name": "n1", "labels": {}}}
    info = NodeInfo("n1")
    info.set_node(node)
    for values, want in ((["n1", "n2"], True), (["n2"], False)):
        term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": values}]}
        assert term_matches(term, node) is want
        assert term_matcher(term)(info) is want
