"""Hypothesis strategies for the API server's fuzz suite (issue 12, Deliver 8): arbitrary
JSON values, hostile-shaped objects (the right ``kind``/``apiVersion`` with random fields
or values of the wrong type, huge and negative numbers, deep nesting, names holding NUL,
``*``, ``>``, ``%`` or blanks, a null kind...), patch documents of each patch type, hostile
paths and query strings; with :func:`store_dump`, the whole store as a dict to compare
before and after a request.  Used by tests/apiserver/test_api_survives_arbitrary_json.py.

Every request is built as the bytes a client would send (:class:`FuzzRequest`), so bodies
JSON cannot encode as orjson would (integers past 64 bits, lone surrogates, duplicate
keys, truncated text) reach the server's own decoder.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from hypothesis import strategies as st

from jetkube.schemas.registry import ResourceType
from jetkube.services.machinery.store import Store

Path = tuple[str | int, ...]

# --- the objects each resource starts from ------------------------------------------

_CONTAINERS = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
_SELECTOR = {"matchLabels": {"app": "fuzz"}}
_TEMPLATE = {"metadata": {"labels": {"app": "fuzz"}}, "spec": _CONTAINERS}
_ROLE_REF = {"apiGroup": "rbac.authorization.k8s.io", "name": "view"}
_SUBJECTS = [{"kind": "User", "name": "fuzzer", "apiGroup": "rbac.authorization.k8s.io"}]

BODIES: dict[str, dict[str, Any]] = {
    "Namespace": {},
    "Node": {"spec": {"podCIDR": "10.244.1.0/24"}},
    "Pod": {"spec": {**_CONTAINERS, "tolerations": [  # as admission defaults them
        {"key": f"node.kubernetes.io/{t}", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300} for t in ("not-ready", "unreachable")]}},
    "Service": {"spec": {"selector": {"app": "fuzz"}, "ports": [{"port": 80}]}},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}]},
    "EndpointSlice": {"addressType": "IPv4", "endpoints": [{"addresses": ["192.0.2.1"]}],
                      "ports": [{"port": 80}]},
    "ReplicationController": {"spec": {"replicas": 1, "selector": {"app": "fuzz"},
                                       "template": _TEMPLATE}},
    "ConfigMap": {"data": {"a": "b"}},
    "Secret": {"data": {"a": "Yg=="}, "type": "Opaque"},
    "Event": {"involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
              "reason": "Fuzzed", "message": "m", "count": 1, "type": "Normal"},
    "ResourceQuota": {"spec": {"hard": {"pods": "10"}}},
    "ComponentStatus": {"conditions": [{"type": "Healthy", "status": "True"}]},
    "Deployment": {"spec": {"replicas": 1, "selector": _SELECTOR, "template": _TEMPLATE}},
    "ReplicaSet": {"spec": {"replicas": 1, "selector": _SELECTOR, "template": _TEMPLATE}},
    "DaemonSet": {"spec": {"selector": _SELECTOR, "template": _TEMPLATE}},
    "StatefulSet": {"spec": {"replicas": 1, "serviceName": "fuzz", "selector": _SELECTOR,
                             "template": _TEMPLATE}},
    "ControllerRevision": {"data": {"spec": {"template": _TEMPLATE}}, "revision": 1},
    "Job": {"spec": {"manualSelector": True, "selector": _SELECTOR,
                     "template": {**_TEMPLATE, "spec": {**_CONTAINERS, "restartPolicy": "Never"}}}},
    "CronJob": {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {
        **_TEMPLATE, "spec": {**_CONTAINERS, "restartPolicy": "Never"}}}}}},
    "Lease": {"spec": {"holderIdentity": "h", "leaseDurationSeconds": 15}},
    "PersistentVolume": {"spec": {"capacity": {"storage": "1Gi"},
                                  "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/tmp/fuzz"}}},
    # no class ("" is none): the default class would be written into a claim without one,
    # and an update must repeat it (the spec is immutable)
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                                       "resources": {"requests": {"storage": "1Gi"}}}},
    "StorageClass": {"provisioner": "example.com/fuzz"},
    "Role": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "ClusterRole": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "RoleBinding": {"roleRef": {**_ROLE_REF, "kind": "ClusterRole"}, "subjects": _SUBJECTS},
    "ClusterRoleBinding": {"roleRef": {**_ROLE_REF, "kind": "ClusterRole"},
                           "subjects": _SUBJECTS},
    "SelfSubjectAccessReview": {"spec": {"resourceAttributes": {
        "verb": "get", "resource": "pods", "namespace": "default"}}},
    "SelfSubjectRulesReview": {"spec": {"namespace": "default"}},
    "SelfSubjectReview": {},
}
"""A minimal valid object of each kind, without its ``kind``/``apiVersion``/``metadata``."""

_LABEL_NAMES = ("Namespace", "Service")


def seed_name(rt: ResourceType) -> str:
    """The name of the object each example starts with: with a ``.`` where the kind's
    names allow one (so ``fuzz_seed``, the same store key token, is a name worth trying)."""
    return "fuzz-seed" if rt.kind in _LABEL_NAMES else "fuzz.seed"


SEED_CLUSTER_IP = "10.96.0.20"


def seed_object(rt: ResourceType, name: str | None = None, *, stored: bool = False
                ) -> dict[str, Any]:
    """A valid object of ``rt`` named ``name`` (``seed_name``), labelled ``app: fuzz``;
    with ``stored``, as the seed object is once created, with what an update must repeat
    (a Service's ClusterIP, :data:`SEED_CLUSTER_IP`)."""
    obj = {"apiVersion": rt.api_version, "kind": rt.kind,
           "metadata": {"name": name or seed_name(rt), "labels": {"app": "fuzz"}},
           **copy.deepcopy(BODIES.get(rt.kind, {}))}
    if stored and rt.kind == "Service":
        obj["spec"]["clusterIP"] = SEED_CLUSTER_IP
    return obj


# --- paths and requests --------------------------------------------------------------

def resource_base(rt: ResourceType) -> str:
    return f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"


def escape(segment: str) -> str:
    """A path segment as a client escapes it (``/``, ``%``, blanks and NUL escaped)."""
    return quote(segment.encode("utf-8", "surrogatepass"), safe="*>:@!$&'()+,;=~")


def collection_path(rt: ResourceType, namespace: str | None) -> str:
    if rt.namespaced and namespace is not None:
        return f"{resource_base(rt)}/namespaces/{escape(namespace)}/{rt.plural}"
    return f"{resource_base(rt)}/{rt.plural}"


def object_path(rt: ResourceType, namespace: str | None, name: str,
                subresource: str | None = None) -> str:
    path = f"{collection_path(rt, namespace)}/{escape(name)}"
    return f"{path}/{subresource}" if subresource else path


@dataclass(frozen=True)
class FuzzRequest:
    """One request as sent: ``path`` escaped as on the wire, ``query`` the raw query
    string, ``body`` the bytes."""

    verb: str  # create, update or patch
    method: str
    path: str
    body: bytes
    content_type: str
    query: str = ""
    namespace: str | None = None
    name: str | None = None  # the name on the URL (None for a create)
    subresource: str | None = None

    def __repr__(self) -> str:  # short, for messages
        body = self.body if len(self.body) <= 2000 else self.body[:2000] + b"..."
        return (f"FuzzRequest({self.method} {self.path}?{self.query} "
                f"content-type={self.content_type!r} body={body!r})")


MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE, STRATEGIC, JSON_PATCH, APPLY)

# --- values ------------------------------------------------------------------------

HUGE_INTS = (2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63,
             -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 10**30, -1, 0)
"""Integers at and past the bounds of int32, int64 and uint64 (past 64 bits no JSON
decoder of the server can hold them)."""

HOSTILE_TEXT = ("", " ", "\x00", "a\x00b", "*", ">", "%", "%2F", "%zz", "/", ".", "..",
                "a b", "a*b", "a>b", "fuzz_seed", "fuzz.seed", "FUZZ-SEED", "-a", "a-",
                "\t", "\n", "\u202e", "\ud800", "ü", "\U0001d54f", "a" * 64, "a" * 254, "x" * 1100,
                "null", "true", "1e400", "-1", "2024-01-01T00:00:00Z", "$patch", "~1", "{",
                "system:masters", "default", "kube-system")
"""Strings that break names, keys, subjects, quantities and parsers (the lone surrogate
``\\ud800`` is valid JSON text but no valid string)."""

_HOSTILE_CHARS = st.sampled_from(["\x00", "*", ">", "%", " ", "/", ".", "_", "~", ":", "\x7f"])
_TEXT = st.text(st.one_of(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                          _HOSTILE_CHARS), max_size=12)

hostile_strings = st.one_of(st.sampled_from(HOSTILE_TEXT), _TEXT)
hostile_ints = st.one_of(st.sampled_from(HUGE_INTS), st.integers(-(2**65), 2**65))
floats = st.floats(allow_nan=False, allow_infinity=False)

json_leaves = st.one_of(st.none(), st.booleans(), hostile_ints, floats, hostile_strings)
"""Leaves JSON can write (integers of any size: the encoder here writes them)."""

json_keys = st.one_of(st.sampled_from(["metadata", "spec", "status", "kind", "apiVersion",
                                       "name", "namespace", "data", "items", "$patch"]),
                      hostile_strings)

json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(json_keys, inner, max_size=4)),
    max_leaves=12)
"""Arbitrary JSON values, a few levels deep."""


def nested(depth: int, leaf: Any = 1, as_list: bool = False) -> Any:
    """``leaf`` under ``depth`` levels of lists or objects."""
    out = leaf
    for _ in range(depth):
        out = [out] if as_list else {"a": out}
    return out


deep_values = st.builds(nested, st.integers(60, 140), json_leaves, st.booleans())
"""Values nested around the server's limit of 100 levels."""

hostile_values = st.one_of(json_leaves, json_values, deep_values,
                           st.sampled_from([[], {}, [None], {"": None}, "Yg==", "1Gi"])
                           ).map(copy.deepcopy)
"""Any of the above, each drawn value a fresh copy (changes of an object never reach
another's)."""


# --- bodies ------------------------------------------------------------------------

def encode(value: Any) -> bytes:
    """``value`` as JSON text, integers of any size kept (the stdlib encoder writes them;
    orjson would refuse those past 64 bits)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass")


def pick(draw: st.DrawFn, options: list[Path]) -> Path:
    """One of ``options`` (drawn by index: their repr, which Hypothesis would build for
    ``sampled_from``, can be large)."""
    return options[draw(st.integers(0, len(options) - 1))]


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """The path of every node of ``value``, the root first."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


def _has(value: Any, path: Path) -> bool:
    try:
        get_in(value, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def get_in(value: Any, path: Path) -> Any:
    for p in path:
        value = value[p]
    return value


def set_in(value: Any, path: Path, new: Any) -> Any:
    """``value`` with the node at ``path`` replaced by ``new`` (in place; the root is
    returned, as it may be the one replaced)."""
    if not path:
        return new
    parent = get_in(value, path[:-1])
    last = path[-1]
    if isinstance(parent, list) and isinstance(last, int):
        parent[last] = new
    elif isinstance(parent, dict):
        parent[last] = new
    return value


def delete_in(value: Any, path: Path) -> None:
    if path:
        parent = get_in(value, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
            parent.pop(path[-1])


_PORTS = [{"port": 80}]
NEAR_VALID: dict[str, dict[Path, list[Any]]] = {
    "Service": {
        ("spec", "type"): ["NodePort", "LoadBalancer", "ExternalName", "ClusterIP", "nodeport"],
        ("spec", "clusterIP"): ["None", "", "10.96.0.20", "10.96.0.21", "10.96.0.1",
                                "10.96.255.255", "192.0.2.1", "::1"],
        ("spec", "clusterIPs"): [["10.96.0.20"], ["10.96.0.21"], [], ["10.96.0.20", "::1"]],
        ("spec", "ports"): [[{"port": 80, "nodePort": 30000}], [{"port": 80, "nodePort": 1}],
                            [{"port": 80, "nodePort": 30001}, {"port": 81, "nodePort": 30001}],
                            [{"port": 80, "name": "a"}, {"port": 81, "name": "b"}], [],
                            [{"port": 80, "targetPort": "http"}], [{"port": 0}]],
        ("spec", "externalName"): ["example.com", "-bad-"],
    },
    "Pod": {("spec", "nodeName"): ["node-1", "", "Bad Node"],
            ("spec", "containers", 0, "image"): ["other:1", ""],
            ("spec", "activeDeadlineSeconds"): [1, 0, 2**63 - 1],
            ("status",): [{"phase": "Running"}, {"phase": "Bogus"}]},
    "Deployment": {("spec", "replicas"): [0, 3, -1, 2**31 - 1, 2**31],
                   ("spec", "paused"): [True],
                   ("spec", "selector", "matchLabels", "app"): ["other"]},
    "ReplicaSet": {("spec", "replicas"): [0, 3, -1, 2**31]},
    "DaemonSet": {("spec", "template", "spec", "containers", 0, "image"): ["other:1"]},
    "StatefulSet": {("spec", "replicas"): [0, 3, -1, 2**31],
                    ("spec", "podManagementPolicy"): ["Parallel", "Sometimes"],
                    ("spec", "serviceName"): ["other"]},
    "ControllerRevision": {("revision",): [2, -1], ("data",): [{"x": 1}, None]},
    "Job": {("spec", "parallelism"): [0, 2, -1], ("spec", "suspend"): [True],
            ("spec", "completions"): [3, 2**31]},
    "CronJob": {("spec", "schedule"): ["@hourly", "61 * * * *", "CRON_TZ=UTC 0 * * * *", ""],
                ("spec", "timeZone"): ["Asia/Tokyo", "Mars/Olympus", "", "../etc"],
                ("spec", "concurrencyPolicy"): ["Forbid", "Sometimes"],
                ("spec", "startingDeadlineSeconds"): [0, -1, 2**63]},
    "PersistentVolume": {("spec", "capacity", "storage"): ["2Gi", "0", "-1", "lots"],
                         ("spec", "accessModes"): [["ReadWriteMany"], ["Sometimes"], []],
                         ("spec", "persistentVolumeReclaimPolicy"): ["Delete", "Shred"],
                         ("spec", "hostPath", "path"): ["/other", ""]},
    "PersistentVolumeClaim": {("spec", "resources", "requests", "storage"): ["2Gi", "0", "-1Gi"],
                              ("spec", "accessModes"): [["ReadOnlyMany"], ["Sometimes"]],
                              ("spec", "volumeName"): ["pv1", ""],
                              ("spec", "storageClassName"): ["", "fast", "Bad_Name"]},
    "StorageClass": {("provisioner",): ["other.io/x", ""], ("reclaimPolicy",): ["Retain", "Recycle"],
                     ("volumeBindingMode",): ["WaitForFirstConsumer", "Later"],
                     ("allowVolumeExpansion",): [True]},
    "Namespace": {("spec", "finalizers"): [[], ["kubernetes"], ["x/y"], ["bad value"]],
                  ("status", "phase"): ["Terminating", "Active", "Gone"]},
    "Node": {("spec", "unschedulable"): [True],
             ("spec", "taints"): [[{"key": "k", "effect": "NoSchedule"}],
                                  [{"key": "k", "effect": "Bogus"}]],
             ("spec", "podCIDR"): ["10.244.2.0/24", "not a cidr"]},
    "ResourceQuota": {("spec", "hard"): [{"pods": "0"}, {"count/services": "1"},
                                         {"requests.cpu": "1"}, {"pods": "-1"},
                                         {"pods": "1e400"}]},
    "Secret": {("type",): ["kubernetes.io/tls", "Opaque", ""],
               ("stringData",): [{"x": "y"}], ("immutable",): [True],
               ("data", "a"): ["not base64!", ""]},
    "ConfigMap": {("immutable",): [True], ("binaryData",): [{"b": "Yg=="}, {"a": "Yg=="}],
                  ("data", "bad key!"): ["v"]},
    "Lease": {("spec", "holderIdentity"): ["other"], ("spec", "leaseDurationSeconds"): [0, -1],
              ("spec", "renewTime"): ["2024-01-01T00:00:00.000000Z", "yesterday"]},
    "Event": {("count",): [2, 2**31], ("type",): ["Warning", "Bogus"],
              ("involvedObject", "namespace"): ["other"]},
    "Endpoints": {("subsets", 0, "addresses", 0, "ip"): ["192.0.2.2", "::1", "nope"],
                  ("subsets", 0, "ports", 0, "port"): [0, 65536]},
    "ComponentStatus": {("conditions", 0, "status"): ["False", "Maybe"]},
    "Role": {("rules",): [[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], []]},
    "ClusterRole": {("rules",): [[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
                                 [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]],
                    ("aggregationRule",): [{"clusterRoleSelectors": []}]},
    "RoleBinding": {("roleRef", "name"): ["edit", "cluster-admin", "missing"],
                    ("roleRef", "kind"): ["Role", "Bogus"],
                    ("subjects",): [[], [{"kind": "Group", "name": "system:masters",
                                          "apiGroup": "rbac.authorization.k8s.io"}]]},
    "ClusterRoleBinding": {("roleRef", "name"): ["edit", "cluster-admin", "missing"],
                           ("subjects", 0, "kind"): ["ServiceAccount", "Bogus"]},
    "SelfSubjectAccessReview": {
        ("spec", "resourceAttributes", "verb"): ["*", "", "create"],
        ("spec", "resourceAttributes", "namespace"): ["", "Bad NS", "kube-system"],
        ("spec", "nonResourceAttributes"): [{"path": "/healthz", "verb": "get"}, {}],
        ("spec", "resourceAttributes"): [None, {}]},
    "SelfSubjectRulesReview": {("spec", "namespace"): ["", "kube-system", "Bad NS"],
                               ("spec",): [{}]},
    "SelfSubjectReview": {("status",): [{"userInfo": {"username": "root"}}]},
}
"""Per kind, fields and values near a valid object's: other valid values, and values just
past what is allowed (the type changes of a Service, replicas past int32...)."""


Change = list[tuple[Path, Any]]
"""Fields set together: (path, value) pairs."""

_EXTERNAL: Change = [(("spec", "type"), "ExternalName"),
                     (("spec", "externalName"), "example.com")]
TOGETHER: dict[str, list[Change]] = {
    "Service": [
        _EXTERNAL,
        [*_EXTERNAL, (("spec", "clusterIP"), "10.96.0.30"), (("spec", "clusterIPs"), ["10.96.0.30"])],
        [*_EXTERNAL, (("spec", "clusterIP"), None), (("spec", "clusterIPs"), None)],
        [(("spec", "type"), "NodePort"), (("spec", "ports"), [{"port": 80, "nodePort": 30000}])],
        [(("spec", "type"), "LoadBalancer"), (("spec", "ports"), [{"port": 80},
                                                                 {"port": 81, "name": "b"}])],
        [(("spec", "type"), "ClusterIP"), (("spec", "clusterIP"), "None"),
         (("spec", "clusterIPs"), ["None"])],
    ],
    "Deployment": [[(("spec", "selector", "matchLabels"), {"app": "other"}),
                    (("spec", "template", "metadata", "labels"), {"app": "other"})]],
    "Namespace": [[(("metadata", "deletionTimestamp"), "2024-01-01T00:00:00Z"),
                   (("status", "phase"), "Terminating")]],
}
"""Per kind, fields that only make sense changed together (a Service made an ExternalName
one, with and without its ClusterIP...)."""


def near_valid(rt: ResourceType) -> st.SearchStrategy[Change]:
    """Fields of ``rt`` set to values near valid ones (:data:`NEAR_VALID`,
    :data:`TOGETHER`), fresh copies."""
    table = NEAR_VALID.get(rt.kind, {})
    single: list[Change] = [[(path, value)] for path, values in table.items()
                            for value in values]
    single += [[(("metadata", "finalizers"), [])],
               [(("metadata", "finalizers"), ["fuzz.io/hold"])],
               [(("metadata", "labels"), None)], [(("metadata", "ownerReferences"), [])]]
    return st.one_of(*(_any_of(changes) for changes in (single, TOGETHER.get(rt.kind, []))
                       if changes))


def _any_of(changes: list[Change]) -> st.SearchStrategy[Change]:
    return st.integers(0, len(changes) - 1).map(lambda i: copy.deepcopy(changes[i]))


def change_patches(rt: ResourceType, name: str | None = None) -> list[FuzzRequest]:
    """A merge patch of each of ``rt``'s :data:`TOGETHER` changes onto the seed object."""
    reqs = []
    for change in TOGETHER.get(rt.kind, []):
        doc: dict[str, Any] = {}
        for path, value in change:
            put_in(doc, path, value)
        req = valid_patch(rt, MERGE, name)
        reqs.append(dataclasses.replace(req, body=encode(doc)))
    return reqs


def put_in(obj: Any, path: Path, value: Any) -> Any:
    """``obj`` with ``value`` at ``path``, objects made on the way (lists left as they
    are: a path into one that is too short goes nowhere)."""
    node = obj
    for i, p in enumerate(path[:-1]):
        if isinstance(node, dict):
            node = node.setdefault(p, {} if not isinstance(path[i + 1], int) else [])
        elif isinstance(node, list) and isinstance(p, int) and p < len(node):
            node = node[p]
        else:
            return obj
    if isinstance(node, dict):
        node[path[-1]] = value
    elif isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node[path[-1]] = value
    return obj


label_keys = st.sampled_from(["app", "tier", "fuzz.io/x", "a_b", "x" * 63, "-bad", "a/b/c", ""])
label_values = st.sampled_from(["fuzz", "v1", "", "a_b", "x" * 63, "x" * 64, "bad value"])
names = st.one_of(st.sampled_from(["fuzz.seed", "fuzz-seed", "fuzz_seed", "made", "made.two",
                                   "made_two", "Made", "kube-system", "default"]),
                  hostile_strings)
"""Names for a body's ``metadata.name`` (valid ones, others, and hostile ones)."""


@st.composite
def benign_change(draw: st.DrawFn, obj: dict[str, Any], name: str, rt: ResourceType
                  ) -> dict[str, Any]:
    """A change a valid object survives most of the time (a label, an annotation, another
    name, a value of :data:`NEAR_VALID`...), so that some requests succeed and the store
    check sees writes."""
    md = obj.setdefault("metadata", {})
    if not isinstance(md, dict):
        return obj
    what = draw(st.sampled_from(["label", "near", "near", "annotation", "name",
                                 "generateName", "rv", "namespace", "finalizer", "none"]))
    if what == "near":
        for path, value in draw(near_valid(rt)):
            obj = put_in(obj, path, value)
        return obj
    if what == "label":
        labels = md.setdefault("labels", {})
        if isinstance(labels, dict):
            labels[draw(label_keys)] = draw(label_values)
    elif what == "annotation":
        notes = md.setdefault("annotations", {})
        if isinstance(notes, dict):
            notes[draw(label_keys)] = draw(st.one_of(hostile_strings, st.just("ok")))
    elif what == "name":
        md["name"] = draw(st.one_of(st.just(name), names))
    elif what == "generateName":
        md.pop("name", None)
        md["generateName"] = draw(st.sampled_from(["gen-", "gen.", "Gen-", "", "g" * 300]))
    elif what == "rv":
        md["resourceVersion"] = draw(st.sampled_from(["", "1", "999999", "abc", "-1", 0, 7]))
    elif what == "namespace":
        md["namespace"] = draw(st.sampled_from(["default", "other", "", "Bad NS", None]))
    elif what == "finalizer":
        md["finalizers"] = copy.deepcopy(draw(st.sampled_from(
            [["fuzz.io/hold"], ["bad finalizer"], [], "x", [None]])))
    return obj


@st.composite
def hostile_change(draw: st.DrawFn, obj: Any) -> Any:
    """One hostile change anywhere in ``obj``: a node replaced by a hostile value, removed,
    or given a field it does not have."""
    where = pick(draw, list(paths(obj)))
    what = draw(st.sampled_from(["set", "set", "delete", "add"]))
    if what == "delete":
        delete_in(obj, where)
        return obj
    if what == "add":
        node = get_in(obj, where)
        if isinstance(node, dict):
            node[draw(json_keys)] = draw(hostile_values)
            return obj
        if isinstance(node, list):
            node.append(draw(hostile_values))
            return obj
    return set_in(obj, where, draw(hostile_values))


@st.composite
def hostile_objects(draw: st.DrawFn, rt: ResourceType, name: str, stored: bool = False) -> Any:
    """An object of ``rt`` named ``name`` with a few benign and hostile changes, and now
    and then a ``kind``/``apiVersion`` that is missing, null, of the wrong type or another
    resource's."""
    obj: Any = seed_object(rt, name, stored=stored)
    for _ in range(draw(st.sampled_from([0, 1, 1, 2]))):
        obj = draw(benign_change(obj, name, rt))
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]))):
        obj = draw(hostile_change(obj))
    if isinstance(obj, dict) and draw(st.integers(0, 5)) == 5:
        field = draw(st.sampled_from(["kind", "apiVersion"]))
        value = draw(st.one_of(st.none(), json_leaves, st.sampled_from(
            ["Pod", "ConfigMap", "v1", "apps/v1", "Status", "List", rt.kind.lower()])))
        if draw(st.booleans()):
            obj.pop(field, None)
        else:
            obj[field] = value
    return obj


def raw_bodies(rt: ResourceType, name: str, stored: bool = False
               ) -> st.SearchStrategy[tuple[bytes, str]]:
    """Bodies as bytes with their content type: JSON of hostile objects (``stored``: made
    from the seed object as stored), arbitrary JSON, YAML, and text that is neither."""
    obj = seed_object(rt, name, stored=stored)
    text = encode(obj)
    objects = hostile_objects(rt, name, stored).map(encode)
    as_json = st.one_of(objects, objects, json_values.map(encode), deep_values.map(encode))
    broken = st.sampled_from([
        b"", b" ", b"{", text[: len(text) // 2], text + b"x", text.replace(b"{", b"[", 1),
        b'{"kind":"' + rt.kind.encode() + b'","kind":"' + rt.kind.encode() + b'"}',
        text[:-1] + b',"metadata":{"name":"dup"}}', b"\xff\xfe", b"null", b"[" * 200,
        b'{"apiVersion":"v1","kind":null}', b'{"metadata":{"name":"a\\u0000b"}}',
        b'{"metadata":{"name":"\\ud800"}}', b"1e999", b"-0", b"NaN"])
    yaml_text = st.one_of(as_json, st.sampled_from([
        b"kind: ~\napiVersion: v1\n", b"metadata: &a {name: *a}\n", b"a: !!python/object x\n",
        b"metadata:\n  name: made\n  labels: {app: [1, 2]}\n", b"- 1\n- 2\n", b"!!binary x",
        text.replace(b"{", b"{ ", 1)]))
    return st.integers(0, 9).flatmap(lambda pick: (
        st.tuples(objects, st.just("application/json")) if pick < 6 else
        st.tuples(as_json, st.just("application/json")) if pick == 6 else
        st.tuples(as_json, st.sampled_from(["application/json; charset=utf-8", "",
                                            "APPLICATION/JSON", "text/plain", MERGE]))
        if pick == 7 else
        st.tuples(broken, st.just("application/json")) if pick == 8 else
        st.tuples(yaml_text, st.just("application/yaml"))))


# --- patches -----------------------------------------------------------------------

def pointer(path: Path) -> str:
    """``path`` as a JSON pointer (RFC 6901)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


@st.composite
def sparse_patches(draw: st.DrawFn, rt: ResourceType, name: str) -> Any:
    """A merge-style patch: a few fields of the object set to new values (the changed
    object's own, or hostile ones) or to null, with strategic directives now and then."""
    base = seed_object(rt, name, stored=True)
    changed = draw(hostile_objects(rt, name, stored=True))
    doc: dict[str, Any] = {"metadata": {"labels": {"fuzzed": draw(label_values)}}}
    for _ in range(draw(st.integers(0, 2))):
        for path, value in draw(near_valid(rt)):
            if any(isinstance(p, int) for p in path):  # a list is replaced whole: send all
                at = next(i for i, p in enumerate(path) if isinstance(p, int))
                whole = copy.deepcopy(get_in(base, path[:at])) if _has(base, path[:at]) else []
                path, value = path[:at], put_in(whole, path[at:], value)
            put_in(doc, path, value)
    for _ in range(draw(st.integers(0, 2))):
        where = pick(draw, [p for p in paths(base) if p])
        try:
            value = get_in(changed, where)
        except (KeyError, IndexError, TypeError):
            value = None
        value = draw(st.one_of(st.just(value), st.none(), hostile_values))
        node = doc
        for i, p in enumerate(where[:-1]):
            if isinstance(p, int) or isinstance(where[i + 1], int):
                # lists are replaced whole by a merge patch: send the base's list changed
                top = copy.deepcopy(get_in(base, where[: i + 1]))
                node[str(p)] = set_in(top, where[i + 1:], value)
                break
            nxt = node.setdefault(str(p), {})
            if not isinstance(nxt, dict):
                break
            node = nxt
        else:
            node[str(where[-1])] = value
    if draw(st.integers(0, 4)) == 4:
        into = pick(draw, [p for p in paths(doc) if isinstance(get_in(doc, p), dict)])
        get_in(doc, into)[draw(st.sampled_from(["$patch", "$retainKeys",
                                              "$setElementOrder/containers",
                                              "$deleteFromPrimitiveList/finalizers"]))] = (
            draw(st.one_of(st.sampled_from(["replace", "delete", "merge", "bogus"]),
                           hostile_values)))
    return doc


_OPS = ("add", "remove", "replace", "move", "copy", "test")


@st.composite
def json_patch_ops(draw: st.DrawFn, rt: ResourceType, name: str) -> Any:
    """A JSON patch: operations on the object's own paths (and some it has not), with
    hostile values, ``from`` paths, malformed operations now and then."""
    base = seed_object(rt, name, stored=True)
    known = [pointer(p) for p in paths(base)]
    path = st.one_of(st.sampled_from(known), st.sampled_from(known).map(lambda p: p + "/-"),
                     st.sampled_from(["/metadata/labels/new", "/metadata/finalizers",
                                      "/metadata/name", "/metadata/namespace", "/kind",
                                      "/apiVersion", "/metadata/resourceVersion", "/status",
                                      "", "/", "x", "/metadata/labels/a~1b", "/spec/x/y"]),
                     hostile_strings)
    ops: list[dict[str, Any]] = [{"op": "add", "path": "/metadata/labels/fuzzed",
                                  "value": draw(label_values)}]
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["add", "add", "replace", "remove", "test"]))
        ops += [{"op": kind, "path": pointer(where), "value": value}
                for where, value in draw(near_valid(rt))]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        op: dict[str, Any] = {"op": draw(st.one_of(st.sampled_from(_OPS), json_leaves)),
                              "path": draw(path)}
        if draw(st.booleans()):
            op["value"] = copy.deepcopy(draw(st.one_of(hostile_values, st.sampled_from(
                ["fuzz", ["fuzz.io/hold"], {"app": "x"}, 3]))))
        if draw(st.integers(0, 3)) == 3:
            op["from"] = draw(path)
        if draw(st.integers(0, 6)) == 6:
            field = draw(st.sampled_from(["op", "path", "from", "value"]))
            op[field] = draw(hostile_values)
        ops.append(op)
    if draw(st.integers(0, 6)) == 6:
        return draw(json_values)
    return ops


def patch_bodies(rt: ResourceType, name: str, content_type: str) -> st.SearchStrategy[bytes]:
    """Patch documents for ``content_type``, as bytes."""
    if content_type == JSON_PATCH:
        docs: st.SearchStrategy[Any] = json_patch_ops(rt, name)
    elif content_type == APPLY:
        docs = st.one_of(hostile_objects(rt, name, stored=True), json_values)
    else:
        docs = st.one_of(sparse_patches(rt, name), sparse_patches(rt, name),
                         hostile_objects(rt, name, stored=True), json_values)
    return st.one_of(docs.map(encode), docs.map(encode), st.sampled_from(
        [b"", b"{", b"null", b"[]", b"{}", b'{"a":1,"a":2}', b"[" * 150 + b"]" * 150]))


# --- where and how: namespaces, names, query strings --------------------------------

NAMESPACES = ("default", "default", "default", "default", "fuzz-quota", "fuzz-ending",
              "absent")
"""Where namespaced requests go: mostly ``default``; a namespace whose ResourceQuota
allows nothing, a terminating one, and one that does not exist."""

hostile_namespaces = st.one_of(st.sampled_from(NAMESPACES), hostile_strings)


def url_names(rt: ResourceType) -> st.SearchStrategy[str]:
    """Names on the URL of an update or patch: mostly the seed's, sometimes one that is
    the same store key token, another, or a hostile one."""
    seed = seed_name(rt)
    return st.one_of(st.just(seed), st.just(seed), st.just(seed),
                     st.sampled_from([seed.replace(".", "_"), seed.upper(), "absent"]),
                     hostile_strings)


_QUERY_PARAMS = [
    ("dryRun", "All"), ("dryRun", "All"), ("dryRun", "all"), ("dryRun", ""), ("dryRun", "x"),
    ("fieldValidation", "Strict"), ("fieldValidation", "Warn"), ("fieldValidation", "Ignore"),
    ("fieldValidation", "strict"), ("fieldManager", "fuzz"), ("fieldManager", "\x00"),
    ("limit", "abc"), ("limit", "-1"), ("limit", "99999999999999999999999"),
    ("resourceVersion", "abc"), ("resourceVersion", "1"), ("resourceVersionMatch", "Exact"),
    ("watch", "true"), ("timeoutSeconds", "1e3"), ("gracePeriodSeconds", "-5"),
    ("propagationPolicy", "Bogus"), ("orphanDependents", "true"), ("continue", "%%%"),
    ("labelSelector", "a in (b"), ("fieldSelector", "x==y==z"), ("pretty", "true"),
    ("\x00", "\x00"), ("dry%52un", "All"), ("force", "true"), ("force", "maybe"),
    ("fieldManager", "m" * 129),
]


@st.composite
def query_strings(draw: st.DrawFn, hostile: bool = False) -> str:
    """A raw query string: mostly empty (or a dry run), else a few of the parameters the
    server reads, valid and not, some repeated."""
    if not hostile and draw(st.integers(0, 3)) != 3:
        return draw(st.sampled_from(["", "", "", "dryRun=All"]))
    pairs = draw(st.lists(st.one_of(st.sampled_from(_QUERY_PARAMS),
                                    st.tuples(st.sampled_from([k for k, _ in _QUERY_PARAMS]),
                                              hostile_strings)),
                          max_size=4))
    raw = urlencode(pairs, errors="surrogatepass")
    return raw.replace("dry%2552un", "dry%52un")


@st.composite
def create_requests(draw: st.DrawFn, rt: ResourceType, hostile: bool = False
                    ) -> FuzzRequest:
    """A POST of a hostile object (or any JSON) to ``rt``'s collection."""
    ns = draw(hostile_namespaces if hostile else st.sampled_from(NAMESPACES)) \
        if rt.namespaced else None
    name = draw(st.one_of(st.sampled_from(["made", "made.two", seed_name(rt)]), names))
    body, ctype = draw(raw_bodies(rt, name))
    return FuzzRequest("create", "POST", collection_path(rt, ns), body, ctype,
                       draw(query_strings(hostile)), ns)


@st.composite
def update_requests(draw: st.DrawFn, rt: ResourceType, hostile: bool = False,
                    subresource: str | None = None) -> FuzzRequest:
    """A PUT of a hostile object (or any JSON) onto the seed object (mostly)."""
    ns = (draw(hostile_namespaces) if hostile else "default") if rt.namespaced else None
    name = draw(url_names(rt))
    body_name = draw(st.one_of(st.just(name), st.just(name), names))
    body, ctype = draw(raw_bodies(rt, body_name, stored=True))
    return FuzzRequest("update", "PUT", object_path(rt, ns, name, subresource), body, ctype,
                       draw(query_strings(hostile)), ns, name, subresource)


@st.composite
def patch_requests(draw: st.DrawFn, rt: ResourceType, content_type: str,
                   hostile: bool = False, subresource: str | None = None) -> FuzzRequest:
    """A PATCH of ``content_type`` onto the seed object (mostly)."""
    ns = (draw(hostile_namespaces) if hostile else "default") if rt.namespaced else None
    name = draw(url_names(rt))
    body = draw(patch_bodies(rt, name, content_type))
    ctype = content_type if draw(st.integers(0, 9)) < 9 else draw(st.sampled_from(
        [content_type.upper(), f"{content_type}; charset=utf-8", "application/json",
         "text/plain", ""]))
    query = draw(query_strings(hostile))
    if content_type == APPLY and draw(st.integers(0, 3)) < 3:  # an apply names its manager
        query = "&".join(q for q in (APPLY_QUERY, query) if q)
    return FuzzRequest("patch", "PATCH", object_path(rt, ns, name, subresource), body, ctype,
                       query, ns, name, subresource)


# --- requests a valid client sends (Hypothesis' explicit examples) ---------------------

def valid_create(rt: ResourceType, namespace: str | None = "default", name: str = "made",
                 query: str = "") -> FuzzRequest:
    """A POST of a valid object of ``rt`` named ``name``."""
    ns = namespace if rt.namespaced else None
    return FuzzRequest("create", "POST", collection_path(rt, ns),
                       encode(seed_object(rt, name)), "application/json", query, ns)


def valid_update(rt: ResourceType, name: str | None = None, query: str = "",
                 subresource: str | None = None, namespace: str | None = "default"
                 ) -> FuzzRequest:
    """A PUT of the seed object (on the URL of ``name``), labelled ``fuzzed: "yes"``."""
    ns = namespace if rt.namespaced else None
    name = name or seed_name(rt)
    obj = seed_object(rt, name, stored=True)
    obj["metadata"]["labels"]["fuzzed"] = "yes"
    return FuzzRequest("update", "PUT", object_path(rt, ns, name, subresource), encode(obj),
                       "application/json", query, ns, name, subresource)


APPLY_QUERY = "fieldManager=fuzz"
"""An apply's query: its field manager (required)."""


def valid_patch(rt: ResourceType, content_type: str, name: str | None = None,
                query: str = "", subresource: str | None = None,
                namespace: str | None = "default") -> FuzzRequest:
    """A PATCH of ``content_type`` that labels the seed object ``fuzzed: "yes"`` (an apply
    as the manager ``fuzz``)."""
    ns = namespace if rt.namespaced else None
    name = name or seed_name(rt)
    if content_type == APPLY:
        query = "&".join(q for q in (APPLY_QUERY, query) if q)
    if content_type == JSON_PATCH:
        body = encode([{"op": "add", "path": "/metadata/labels/fuzzed", "value": "yes"}])
    elif content_type == APPLY:
        body = (f"apiVersion: {rt.api_version}\nkind: {rt.kind}\nmetadata:\n"
                f"  name: {json.dumps(name)}\n  labels: {{fuzzed: 'yes'}}\n").encode()
    else:
        body = encode({"metadata": {"labels": {"fuzzed": "yes"}}})
    return FuzzRequest("patch", "PATCH", object_path(rt, ns, name, subresource), body,
                       content_type, query, ns, name, subresource)


def any_write(rt: ResourceType) -> st.SearchStrategy[FuzzRequest]:
    """Any create, update or patch of ``rt`` at hostile paths with hostile query strings."""
    return st.one_of(create_requests(rt, hostile=True), update_requests(rt, hostile=True),
                     *(patch_requests(rt, t, hostile=True) for t in PATCH_TYPES))


# --- the store ----------------------------------------------------------------------

StoreDump = dict[str, tuple[int, Any]]


async def store_dump(store: Store) -> StoreDump:
    """Every key of ``store`` -> (its revision, its value decoded from JSON)."""
    entries, _ = await store.list("")
    return {e.key: (e.revision, orjson.loads(e.value)) for e in entries}
