"""An API server starting on an older store adds to the bootstrap roles and bindings what
their defaults gained since (kube-apiserver's bootstrap policy reconciliation): a data dir
made before pods/eviction was in ``edit`` can drain after an upgrade.  Nothing is removed,
and a role annotated ``rbac.authorization.kubernetes.io/autoupdate: "false"`` is left as
the admin made it."""

from __future__ import annotations

from apiharness import make_api

from jetkube.schemas.registry import by_plural
from jetkube.services.apiserver.bootstrap_roles import AUTOUPDATE

ROLES = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
BINDINGS = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
EVICT = {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]}


async def _strip(store: object, plural: str, name: str, key: str, drop: object,
                 autoupdate: str | None = None) -> None:
    """Make the stored object look as an older release wrote it."""
    api = await make_api(store=store)  # type: ignore[arg-type]
    rt = by_plural("rbac.authorization.k8s.io", plural)
    assert rt is not None
    obj = await api.front.handlers.get_object(rt, None, name)
    obj[key] = [x for x in obj[key] if x != drop]
    if autoupdate is not None:
        obj["metadata"]["annotations"] = {AUTOUPDATE: autoupdate}
    await api.front.handlers.update(rt, None, name, obj)


async def test_an_older_edit_role_gains_eviction_and_keeps_its_own_rules() -> None:
    api = await make_api()
    assert EVICT in (await api.ok("GET", f"{ROLES}/edit"))["rules"]
    await _strip(api.store, "clusterroles", "edit", "rules", EVICT)
    mine = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}
    edit = await api.ok("GET", f"{ROLES}/edit")
    assert EVICT not in edit["rules"]
    await api.ok("PUT", f"{ROLES}/edit", {**edit, "rules": [*edit["rules"], mine]})

    again = await make_api(store=api.store)  # the next start of an API server
    rules = (await again.ok("GET", f"{ROLES}/edit"))["rules"]
    assert EVICT in rules and mine in rules
    assert rules.count(EVICT) == 1


async def test_a_binding_regains_its_default_subjects() -> None:
    api = await make_api()
    group = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
             "name": "system:authenticated"}
    await _strip(api.store, "clusterrolebindings", "system:basic-user", "subjects", group)
    assert group not in (await api.ok("GET", f"{BINDINGS}/system:basic-user"))["subjects"]
    again = await make_api(store=api.store)
    assert group in (await again.ok("GET", f"{BINDINGS}/system:basic-user"))["subjects"]


async def test_autoupdate_false_leaves_the_role_as_the_admin_made_it() -> None:
    api = await make_api()
    await _strip(api.store, "clusterroles", "edit", "rules", EVICT, autoupdate="false")
    before = await api.ok("GET", f"{ROLES}/edit")
    again = await make_api(store=api.store)
    after = await again.ok("GET", f"{ROLES}/edit")
    assert EVICT not in after["rules"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_new_defaults_carry_the_autoupdate_annotation() -> None:
    api = await make_api()
    for path in (f"{ROLES}/admin", f"{ROLES}/system:node", f"{BINDINGS}/cluster-admin"):
        assert (await api.ok("GET", path))["metadata"]["annotations"][AUTOUPDATE] == "true"
