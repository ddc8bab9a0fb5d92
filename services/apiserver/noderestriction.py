"""The NodeRestriction admission plugin: a node agent writes only what is its own.

The ``system:node`` rules let a node write Nodes, pods, pod status and Leases in
general; this narrows the writes of a node user (``system:node:<name>``, group
``system:nodes``) to:

- **nodes** (and nodes/status): create, update, patch, delete only its own Node;
- **pods**: create only mirror pods (annotation ``kubernetes.io/config.mirror``)
  bound to itself, owned by nothing but its own Node, and using no secret,
  configmap, claim or service account (else creating one would open those to it
  through the Node authorizer); update or patch only the status of pods bound to
  it, never their spec or metadata; delete only pods bound to it;
- **persistentvolumes**: only add or remove the local-path finalizer of its own
  local-path volumes (nodevolumes.py);
- **leases**: create, update, delete only its own Lease (named as the node) in
  ``kube-node-lease``.

Other users and other resources pass.  A refusal is 403 Forbidden naming the
object and what the node may not do, in Kubernetes' words.
"""

from __future__ import annotations

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors
from . import nodevolumes
from .nodeauthorizer import node_name, pod_references
from .request import UserInfo

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
NODE_LEASE_NAMESPACE = "kube-node-lease"


def _forbidden(rt: ResourceType, name: str, why: str) -> apierrors.ApiError:
    kind = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return apierrors.forbidden_message(f'{kind} "{name}" is forbidden: {why}')


def _bound_node(pod: Obj | None) -> str | None:
    node = ((pod or {}).get("spec") or {}).get("nodeName")
    return node if isinstance(node, str) and node else None


def admit_node_write(user: UserInfo | None, rt: ResourceType, op: str, old: Obj | None,
                     new: Obj | None, subresource: str | None = None) -> None:
    """Raise 403 unless a node user's ``op`` (create/update/delete) on ``rt`` is its own
    business; ``new`` is None for a delete, ``old`` None for a create."""
    node = node_name(user)
    if node is None:
        return
    obj = new if new is not None else old
    md = (obj or {}).get("metadata") or {}
    name = str(md.get("name") or "")
    who = f'node "{node}"'
    if rt.group == "" and rt.plural == "nodes":
        if name != node:
            action = "modify" if op == "update" else op
            raise _forbidden(rt, name, f'{who} is not allowed to {action} node "{name}"')
    elif rt.group == "" and rt.plural == "pods":
        _admit_pod(rt, node, op, old, new, subresource, name)
    elif rt.group == "" and rt.plural == nodevolumes.PVS:
        nodevolumes.admit_node_volume_write(node, op, old, new, name)
    elif rt.group == "coordination.k8s.io" and rt.plural == "leases":
        if md.get("namespace") != NODE_LEASE_NAMESPACE:
            raise _forbidden(rt, name, f'{who} can only access leases in the '
                                       f'"{NODE_LEASE_NAMESPACE}" system namespace')
        if name != node:
            raise _forbidden(rt, name, f"{who} can only access node lease with the same name "
                                       "as the requesting node")


def _admit_pod(rt: ResourceType, node: str, op: str, old: Obj | None, new: Obj | None,
               subresource: str | None, name: str) -> None:
    who = f'node "{node}"'
    if op == "create":
        assert new is not None
        md = new.get("metadata") or {}
        if MIRROR_ANNOTATION not in (md.get("annotations") or {}):
            raise _forbidden(rt, name, f"{who} can only create mirror pods "
                                       f"(with the {MIRROR_ANNOTATION} annotation)")
        if _bound_node(new) != node:
            raise _forbidden(rt, name, f"{who} can only create pods with spec.nodeName set "
                                       "to itself")
        for ref in md.get("ownerReferences") or ():
            if (ref.get("kind"), ref.get("name"), ref.get("apiVersion")) != ("Node", node, "v1"):
                raise _forbidden(rt, name, f"{who} can only create pods with an owner "
                                           "reference set to itself")
        refs = sorted(pod_references(new))
        if refs:
            resource, _, ref_name = refs[0]
            raise _forbidden(rt, name, f"{who} can not create pods that reference "
                                       f'{resource} ("{ref_name}")')
        return
    if op == "update":
        if subresource != "status":
            raise _forbidden(rt, name, f"{who} can only update pod status, not the pod's "
                                       "spec or metadata")
        if _bound_node(old) != node:
            raise _forbidden(rt, name, f"{who} can only update pod status for pods with "
                                       "spec.nodeName set to itself")
        return
    if op == "delete" and _bound_node(old) != node:
        raise _forbidden(rt, name, f"{who} can only delete pods with spec.nodeName set to "
                                   "itself")
