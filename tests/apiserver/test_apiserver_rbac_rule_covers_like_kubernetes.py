"""Which held rules cover a requested permission (Kubernetes' ``ruleCovers``): a wildcard
covers everything, a specific value never covers a wildcard, ``pods/*`` covers ``pods/log``,
resourceNames narrow, non-resource URLs match exactly or by a trailing ``*``."""

from __future__ import annotations

from typing import Any

import pytest

from jetkube.services.apiserver.rbac_escalation import not_held


def r(verbs: list[str], resources: list[str] | None = None, groups: list[str] | None = None,
      **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"verbs": verbs, **kw}
    if resources is not None:
        out |= {"apiGroups": groups if groups is not None else [""], "resources": resources}
    return out


@pytest.mark.parametrize(("held", "wanted", "missing"), [
    ([r(["*"], ["*"], ["*"])], r(["delete"], ["secrets"]), 0),
    ([r(["get"], ["pods"])], r(["get", "list"], ["pods"]), 1),
    ([r(["get"], ["pods"])], r(["*"], ["pods"]), 1),  # a verb never covers every verb
    ([r(["get"], ["pods"])], r(["get"], ["*"]), 1),
    ([r(["get"], ["pods/*"])], r(["get"], ["pods/log"]), 0),
    ([r(["get"], ["pods"])], r(["get"], ["pods/log"]), 1),  # a subresource is its own
    ([r(["get"], ["*/scale"], ["apps"])], r(["get"], ["deployments/scale"], ["apps"]), 0),
    ([r(["get"], ["pods"], resourceNames=["a"])], r(["get"], ["pods"], resourceNames=["a"]), 0),
    ([r(["get"], ["pods"], resourceNames=["a"])], r(["get"], ["pods"]), 1),
    ([r(["get"], ["pods"])], r(["get"], ["pods"], resourceNames=["a", "b"]), 0),
    ([r(["get"], ["deployments"], ["apps"])], r(["get"], ["deployments"], ["extensions"]), 1),
    ([r(["get"], nonResourceURLs=["/healthz/*"])], r(["get"], nonResourceURLs=["/healthz/etcd"]), 0),
    ([r(["get"], nonResourceURLs=["/healthz"])], r(["get"], nonResourceURLs=["/metrics"]), 1),
    ([], r(["get"], ["pods"]), 1),
])
def test_held_rules_cover_exactly_what_kubernetes_says(held: list[dict[str, Any]],
                                                       wanted: dict[str, Any],
                                                       missing: int) -> None:
    assert len(not_held(held, [wanted])) == missing
