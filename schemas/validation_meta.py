"""Semantic checks shared by every kind: object metadata (names, labels,
annotations, owner references, finalizers), label selectors and resource
lists.  Pure functions appending Kubernetes-style field errors to a list.
"""

from __future__ import annotations

from .fielderrors import (
    Errors,
    NameCheck,
    check,
    dns1123_label,
    forbidden,
    invalid,
    label_value,
    qualified_name,
    required,
    too_long,
)
from .meta import LabelSelector, ObjectMeta
from .quantity import ResourceList, parse_quantity

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def _mask_trailing_dash(name: str) -> str:
    # generateName prefixes may end in '-': check them as if a suffix followed
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def validate_labels(errs: Errors, path: str, labels: dict[str, str] | None) -> None:
    if not labels:
        return
    for k, v in labels.items():
        check(errs, path, k, qualified_name)
        check(errs, path, v, label_value)


def validate_annotations(errs: Errors, path: str, annotations: dict[str, str] | None) -> None:
    if not annotations:
        return
    total = 0
    for k, v in annotations.items():
        check(errs, path, k.lower(), qualified_name)
        total += len(k) + len(v)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))


def validate_object_meta(errs: Errors, meta: ObjectMeta, namespaced: bool,
                         name_check: NameCheck, path: str = "metadata") -> None:
    """``ValidateObjectMeta``: name or generateName, namespace scope, labels…"""
    name = meta.name
    if name:
        check(errs, path + ".name", name, name_check)
    elif meta.generateName:
        gen = meta.generateName
        for msg in name_check(_mask_trailing_dash(gen)):
            errs.append(invalid(path + ".generateName", gen, msg))
    else:
        errs.append(required(path + ".name", "name or generateName is required"))
    ns = meta.namespace
    if ns:
        if not namespaced:
            errs.append(forbidden(path + ".namespace", "not allowed on this type"))
        else:
            check(errs, path + ".namespace", ns, dns1123_label)
    if meta.generation is not None and meta.generation < 0:
        errs.append(invalid(path + ".generation", meta.generation,
                            "must be greater than or equal to 0"))
    validate_labels(errs, path + ".labels", meta.labels)
    validate_annotations(errs, path + ".annotations", meta.annotations)
    if meta.ownerReferences:
        controllers = 0
        for i, ref in enumerate(meta.ownerReferences):
            p = f"{path}.ownerReferences[{i}]"
            if not ref.apiVersion:
                errs.append(invalid(p + ".apiVersion", ref.apiVersion, "version must not be empty"))
            if not ref.kind:
                errs.append(invalid(p + ".kind", ref.kind, "kind must not be empty"))
            if not ref.name:
                errs.append(invalid(p + ".name", ref.name, "name must not be empty"))
            if not ref.uid:
                errs.append(invalid(p + ".uid", ref.uid, "uid must not be empty"))
            if ref.controller:
                controllers += 1
        if controllers > 1:
            errs.append(invalid(path + ".ownerReferences", controllers,
                                "Only one reference can have Controller set to true"))
    for i, fin in enumerate(meta.finalizers or ()):
        check(errs, f"{path}.finalizers[{i}]", fin, qualified_name)


def template_metadata_labels(meta: ObjectMeta | None) -> dict[str, str]:
    return (meta.labels if meta is not None else None) or {}


def validate_label_selector(errs: Errors, path: str, sel: LabelSelector | None) -> None:
    if sel is None:
        return
    validate_labels(errs, path + ".matchLabels", sel.matchLabels)
    for i, req in enumerate(sel.matchExpressions or ()):
        p = f"{path}.matchExpressions[{i}]"
        if req.operator in ("In", "NotIn"):
            if not req.values:
                errs.append(required(p + ".values",
                                     "must be specified when `operator` is 'In' or 'NotIn'"))
        elif req.values:
            errs.append(forbidden(p + ".values",
                                  "may not be specified when `operator` is 'Exists' or "
                                  "'DoesNotExist'"))
        check(errs, p + ".key", req.key, qualified_name)
        for j, v in enumerate(req.values or ()):
            check(errs, f"{p}.values[{j}]", v, label_value)


def validate_resource_list(errs: Errors, path: str, rl: ResourceList | None) -> None:
    """Resource names are qualified names; quantities may not be negative."""
    if not rl:
        return
    for name, q in rl.items():
        check(errs, f"{path}[{name}]", name, qualified_name)
        if parse_quantity(q) < 0:
            errs.append(invalid(f"{path}[{name}]", q, "must be greater than or equal to 0"))
