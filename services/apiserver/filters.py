"""labelSelector / fieldSelector of a list or watch → index hints + a predicate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import (
    Operator,
    apierrors,
    parse_field_selector,
    parse_label_selector,
    supported_fields,
)
from .watchcache import Cached


@dataclass(frozen=True, slots=True)
class Filter:
    label_eq: list[tuple[str, str]]
    label_exists: list[str]
    field_eq: list[tuple[str, str]]
    match: Callable[[Cached], bool]


def build_filter(rt: ResourceType, namespace: str | None, query: dict[str, str]) -> Filter:
    try:
        labels = parse_label_selector(query.get("labelSelector", ""))
    except ValueError as err:
        raise apierrors.bad_request(f"unable to parse requirement: {err}", [
            {"reason": "FieldValueInvalid", "field": "labelSelector", "message": str(err)}],
        ) from None
    try:
        fields = parse_field_selector(query.get("fieldSelector", ""), supported_fields(rt.plural))
    except ValueError as err:
        raise apierrors.bad_request(f"field label not supported for {rt.plural}: {err}", [
            {"reason": "FieldValueInvalid", "field": "fieldSelector", "message": str(err)}],
        ) from None
    exists = [r.key for r in labels.requirements if r.operator is Operator.EXISTS]
    label_all = labels.empty()
    field_all = fields.empty()

    def match(c: Cached) -> bool:
        return (label_all or labels.matches(c.labels)) and (field_all or fields.matches(c.obj))

    return Filter(labels.equality_requirements(), exists, fields.equality_requirements(), match)
