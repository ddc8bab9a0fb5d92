"""Kubernetes' API vocabulary shared by the API server, services and kctl.

Store keys (``<resource>.<namespace>.<name>``) and ``<namespace>/<name>`` keys,
label and field selectors, ``Status`` errors (the public module
:mod:`.apierrors`), JSON merge patch and the object paths they read.  Like
``k8s.io/apimachinery``: pure functions and data, nothing here talks to NATS,
HTTP or the host (the strategic merge keys are data here too), except that the
kubeconfig reader (:func:`load_kubeconfig`,
shared by kctl and the services) reads files.
"""

from __future__ import annotations

from . import apierrors
from ._fieldselectors import FieldRequirement, FieldSelector, parse_field_selector, supported_fields
from ._identity import (
    ADMIN,
    APISERVER,
    APISERVER_STORE,
    COMPONENT_USERS,
    CONTROLLER_MANAGER,
    DNS,
    MASTERS_GROUP,
    MIRROR_DELIVER_PREFIX,
    NODE_PREFIX,
    NODES_GROUP,
    PROXY,
    SCHEDULER,
    STORE_API_PREFIX,
    BusUser,
    bus_user,
    inbox_prefix,
    node_identity,
)
from ._jsonmerge import merge_patch
from ._keys import (
    CLUSTER_SCOPE,
    Key,
    encode_token,
    key_prefix,
    namespaced_name,
    namespaced_name_of,
    object_key,
    parse_key,
    split_namespaced_name,
)
from ._kubeconfig import (
    Kubeconfig,
    KubeconfigError,
    kubeconfig_env_paths,
    load_kubeconfig,
    read_kubeconfig_file,
    user_token,
)
from ._mergekeys import STRATEGIC_MERGE_KEYS
from ._names import SAFE_ALPHABET, new_uid, random_string, safe_encode
from ._owners import controller_ref, new_controller_ref
from ._selectors import (
    EVERYTHING,
    NOTHING,
    Operator,
    Selector,
    parse_label_selector,
    selector_from_label_selector,
)

__all__ = [
    "ADMIN",
    "APISERVER",
    "APISERVER_STORE",
    "CLUSTER_SCOPE",
    "COMPONENT_USERS",
    "CONTROLLER_MANAGER",
    "DNS",
    "EVERYTHING",
    "MASTERS_GROUP",
    "MIRROR_DELIVER_PREFIX",
    "NODES_GROUP",
    "NODE_PREFIX",
    "NOTHING",
    "PROXY",
    "SAFE_ALPHABET",
    "SCHEDULER",
    "STORE_API_PREFIX",
    "STRATEGIC_MERGE_KEYS",
    "BusUser",
    "FieldRequirement",
    "FieldSelector",
    "Key",
    "Kubeconfig",
    "KubeconfigError",
    "Operator",
    "Selector",
    "apierrors",
    "bus_user",
    "controller_ref",
    "encode_token",
    "inbox_prefix",
    "key_prefix",
    "kubeconfig_env_paths",
    "load_kubeconfig",
    "merge_patch",
    "namespaced_name",
    "namespaced_name_of",
    "new_controller_ref",
    "new_uid",
    "node_identity",
    "object_key",
    "parse_field_selector",
    "parse_key",
    "parse_label_selector",
    "random_string",
    "read_kubeconfig_file",
    "safe_encode",
    "selector_from_label_selector",
    "split_namespaced_name",
    "supported_fields",
    "user_token",
]
