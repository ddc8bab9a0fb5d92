"""Kubernetes' API vocabulary shared by the API server, services and kctl (no I/O).

Store keys (``<resource>.<namespace>.<name>``), label and field selectors,
``Status`` errors (the public module :mod:`.apierrors`), JSON merge patch and
the object paths they read.  Like ``k8s.io/apimachinery``: pure functions and
data, nothing here talks to NATS, HTTP or the host.
"""

from __future__ import annotations

from . import apierrors
from ._fieldselectors import FieldRequirement, FieldSelector, parse_field_selector, supported_fields
from ._jsonmerge import merge_patch
from ._keys import CLUSTER_SCOPE, encode_token, key_prefix, object_key, parse_key
from ._selectors import (
    EVERYTHING,
    NOTHING,
    Operator,
    Selector,
    parse_label_selector,
    selector_from_label_selector,
)

__all__ = [
    "CLUSTER_SCOPE",
    "EVERYTHING",
    "NOTHING",
    "FieldRequirement",
    "FieldSelector",
    "Operator",
    "Selector",
    "apierrors",
    "encode_token",
    "key_prefix",
    "merge_patch",
    "object_key",
    "parse_field_selector",
    "parse_key",
    "parse_label_selector",
    "selector_from_label_selector",
    "supported_fields",
]
