"""Label and field selectors: the string syntax, LabelSelector objects, matching, index hints."""

from __future__ import annotations

import pytest

from jetkube.services.machinery.apimachinery import (
    EVERYTHING,
    NOTHING,
    Operator,
    parse_field_selector,
    parse_label_selector,
    selector_from_label_selector,
    supported_fields,
)

LABELS = {"app": "web", "tier": "frontend", "env": "prod", "replicas": "3"}


@pytest.mark.parametrize(("text", "matches"), [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app = web", True),
    ("app=api", False),
    ("app!=api", True),
    ("missing!=x", True),
    ("app in (web, api)", True),
    ("app in (api)", False),
    ("app notin (api,db)", True),
    ("missing notin (x)", True),
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("replicas>2", True),
    ("replicas<3", False),
    ("missing>1", False),
    ("app=web,tier=frontend,!canary", True),
    ("app=web,tier=backend", False),
    ("example.com/role", False),
])
def test_label_selector_matches_like_kubernetes(text: str, matches: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is matches


def test_empty_value_and_empty_labels() -> None:
    assert parse_label_selector("app=").matches({"app": ""})
    assert not parse_label_selector("app=").matches({"app": "x"})
    assert parse_label_selector("app in (,x)").matches({"app": ""})
    assert parse_label_selector("!app").matches(None)
    assert EVERYTHING.matches(None) and EVERYTHING.empty()
    assert not NOTHING.matches(LABELS)


@pytest.mark.parametrize(("text", "message"), [
    ("app=web,", "trailing ','"),
    ("app in web", "expected '(' after 'in'"),
    ("app in (web", "missing ')'"),
    ("app in ()", "needs at least one value"),
    ("app web", "after key 'app'"),
    ("=web", "expected a label key"),
    ("!", "expected a label key after '!'"),
    ("app=web tier=x", "expected ',' between requirements"),
    ("replicas>x", "integer"),
    ("-bad-=x", "invalid label key '-bad-'"),
    ("app=bad value!", "expected ','"),
    ("app=" + "v" * 64, "invalid label value"),
    ("Foo_/x=y", "prefix must be a DNS subdomain"),
])
def test_bad_label_selectors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid label selector") as err:
        parse_label_selector(text)
    assert message in str(err.value)


def test_index_hints_and_canonical_string() -> None:
    sel = parse_label_selector("tier in (frontend),app=web,env in (prod,staging),x!=y,!z")
    assert sorted(sel.equality_requirements()) == [("app", "web"), ("tier", "frontend")]
    assert sel.required_values() == {"app": frozenset({"web"}), "tier": frozenset({"frontend"}),
                                     "env": frozenset({"prod", "staging"})}
    assert str(sel) == "app=web,env in (prod,staging),tier in (frontend),x!=y,!z"
    assert set(parse_label_selector(str(sel)).requirements) == set(sel.requirements)
    assert [r.operator for r in parse_label_selector("a,!b").requirements] == [
        Operator.EXISTS, Operator.DOES_NOT_EXIST]


def test_label_selector_object_with_match_labels_and_expressions() -> None:
    sel = selector_from_label_selector({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "staging"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "tier", "operator": "Exists"},
            {"key": "zone", "operator": "NotIn", "values": ["a"]},
        ],
    })
    assert sel.matches(LABELS)
    assert not sel.matches({**LABELS, "canary": "1"})
    assert not sel.matches({**LABELS, "env": "dev"})
    assert sel.matches_object({"metadata": {"labels": LABELS}})
    assert selector_from_label_selector({}).matches({})  # empty selects everything
    assert not selector_from_label_selector(None).matches({})  # nil selects nothing


@pytest.mark.parametrize(("expr", "message"), [
    ({"key": "a", "operator": "Equals", "values": ["x"]}, "not a valid selector operator"),
    ({"key": "a", "operator": "In", "values": []}, "needs at least one value"),
    ({"key": "a", "operator": "Exists", "values": ["x"]}, "takes no values"),
])
def test_bad_match_expressions_are_named(expr: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=r"matchExpressions\[0\]") as err:
        selector_from_label_selector({"matchExpressions": [expr]})
    assert message in str(err.value)


POD = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-1", "hostNetwork": False},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(("text", "matches"), [
    ("", True),
    ("metadata.name=web-1", True),
    ("metadata.name==web-1", True),
    ("spec.nodeName=node-1,status.phase=Running", True),
    ("spec.nodeName!=node-1", False),
    ("spec.nodeName=", False),
    ("spec.nodeName!=", True),
    ("status.phase!=Failed", True),
    ("spec.hostNetwork=false", True),
    ("metadata.namespace=kube-system", False),
])
def test_field_selector_matches_pods(text: str, matches: bool) -> None:
    sel = parse_field_selector(text, supported_fields("pods"))
    assert sel.matches(POD) is matches


def test_unscheduled_pods_and_index_hint() -> None:
    sel = parse_field_selector("spec.nodeName=", supported_fields("pods"))
    assert sel.matches({"metadata": {"name": "p"}, "spec": {}})
    sel = parse_field_selector("spec.nodeName=node-1,status.phase!=Failed")
    assert sel.equality_requirements() == [("spec.nodeName", "node-1")]
    assert sel.required_value("spec.nodeName") == "node-1"


def test_event_fields_and_escapes() -> None:
    ev = {"metadata": {"name": "e"}, "involvedObject": {"name": "a,b=c", "kind": "Pod"},
          "type": "Warning"}
    sel = parse_field_selector(r"involvedObject.name=a\,b\=c,type=Warning",
                               supported_fields("events"))
    assert sel.matches(ev)
    assert str(sel) == r"involvedObject.name=a\,b\=c,type=Warning"


@pytest.mark.parametrize(("text", "message"), [
    ("spec.foo=x", "field label not supported: spec.foo"),
    ("metadata.name", "is not field=value"),
    ("=x", "has no field name"),
    ("metadata.name=a=b", "unescaped '='"),
    ("metadata.name=a\\", "unfinished escape"),
    ("metadata.name=a,,status.phase=x", "empty term"),
])
def test_bad_field_selectors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_field_selector(text, supported_fields("pods"))
    assert message in str(err.value)
