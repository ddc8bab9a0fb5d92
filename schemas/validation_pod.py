"""Semantic validation of PodSpec (``ValidatePodSpec``) and pod templates:
volumes, containers (names, images, ports, env, mounts, resources, probes,
hooks), DNS and scheduling constraints.  Pure; appends field errors.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .container import Container, LifecycleHandler, Probe
from .fielderrors import (
    Errors,
    check,
    config_key,
    dns1123_label,
    dns1123_subdomain,
    duplicate,
    env_var_name,
    forbidden,
    iana_svc_name,
    invalid,
    label_value,
    non_negative,
    not_found,
    not_supported,
    port_range,
    positive,
    qualified_name,
    required,
)
from .pod import PodSpec, PodTemplateSpec
from .quantity import parse_quantity
from .scheduling import Affinity, NodeSelectorTerm, PodAffinityTerm
from .validation_meta import (
    validate_annotations,
    validate_label_selector,
    validate_labels,
    validate_resource_list,
)
from .volumes import Volume


def validate_port_ref(errs: Errors, path: str, port: int | str) -> None:
    """A probe/hook/targetPort ``port``: a number in range or an IANA service name."""
    if isinstance(port, int):
        for msg in port_range(port):
            errs.append(invalid(path, port, msg))
    else:
        check(errs, path, port, iana_svc_name)


def _validate_handler(errs: Errors, path: str, h: Probe | LifecycleHandler) -> None:
    kinds = [k for k in ("exec", "httpGet", "tcpSocket", "grpc", "sleep")
             if getattr(h, k, None) is not None]
    if not kinds:
        errs.append(required(path, "must specify a handler type"))
    elif len(kinds) > 1:
        errs.append(forbidden(f"{path}.{kinds[1]}", "may not specify more than 1 handler type"))
    if h.exec is not None and not h.exec.command:
        errs.append(required(path + ".exec.command"))
    if h.httpGet is not None:
        validate_port_ref(errs, path + ".httpGet.port", h.httpGet.port)
        for i, hdr in enumerate(h.httpGet.httpHeaders or ()):
            if not hdr.name:
                errs.append(required(f"{path}.httpGet.httpHeaders[{i}].name"))
    if h.tcpSocket is not None:
        validate_port_ref(errs, path + ".tcpSocket.port", h.tcpSocket.port)
    if isinstance(h, Probe):
        if h.grpc is not None:
            validate_port_ref(errs, path + ".grpc.port", h.grpc.port)
    elif h.sleep is not None:
        non_negative(errs, path + ".sleep.seconds", h.sleep.seconds)


def _validate_probe(errs: Errors, path: str, p: Probe | None, single_success: bool) -> None:
    if p is None:
        return
    _validate_handler(errs, path, p)
    non_negative(errs, path + ".initialDelaySeconds", p.initialDelaySeconds)
    non_negative(errs, path + ".timeoutSeconds", p.timeoutSeconds)
    non_negative(errs, path + ".periodSeconds", p.periodSeconds)
    non_negative(errs, path + ".successThreshold", p.successThreshold)
    non_negative(errs, path + ".failureThreshold", p.failureThreshold)
    if single_success and p.successThreshold != 1:
        errs.append(invalid(path + ".successThreshold", p.successThreshold, "must be 1"))
    if p.terminationGracePeriodSeconds is not None:
        positive(errs, path + ".terminationGracePeriodSeconds", p.terminationGracePeriodSeconds)


def _validate_resources(errs: Errors, path: str, c: Container) -> None:
    res = c.resources
    if res is None:
        return
    validate_resource_list(errs, path + ".limits", res.limits)
    validate_resource_list(errs, path + ".requests", res.requests)
    if res.limits and res.requests:
        for name, req in res.requests.items():
            lim = res.limits.get(name)
            if lim is not None and parse_quantity(req) > parse_quantity(lim):
                errs.append(invalid(f"{path}.requests[{name}]", req,
                                    f"must be less than or equal to {name} limit of {lim}"))


def _validate_container(errs: Errors, path: str, c: Container, volumes: set[str],
                        init: bool, host_network: bool) -> None:
    check(errs, path + ".name", c.name, dns1123_label)
    if not c.image:
        errs.append(required(path + ".image"))
    elif c.image != c.image.strip():
        errs.append(invalid(path + ".image", c.image,
                            "must not have leading or trailing whitespace"))
    port_names: set[str] = set()
    for i, port in enumerate(c.ports or ()):
        p = f"{path}.ports[{i}]"
        if port.name:
            check(errs, p + ".name", port.name, iana_svc_name)
            if port.name in port_names:
                errs.append(duplicate(p + ".name", port.name))
            port_names.add(port.name)
        for msg in port_range(port.containerPort):
            errs.append(invalid(p + ".containerPort", port.containerPort, msg))
        if port.hostPort:
            for msg in port_range(port.hostPort):
                errs.append(invalid(p + ".hostPort", port.hostPort, msg))
            if host_network and port.hostPort != port.containerPort:
                errs.append(invalid(p + ".containerPort", port.containerPort,
                                    "must match `hostPort` when `hostNetwork` is true"))
    for i, env in enumerate(c.env or ()):
        p = f"{path}.env[{i}]"
        if not env.name:
            errs.append(required(p + ".name"))
        else:
            check(errs, p + ".name", env.name, env_var_name)
        vf = env.valueFrom
        if vf is not None:
            n = sum(x is not None for x in (vf.fieldRef, vf.resourceFieldRef,
                                            vf.configMapKeyRef, vf.secretKeyRef, vf.fileKeyRef))
            if n == 0:
                errs.append(invalid(p + ".valueFrom", "",
                                    "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                    "`configMapKeyRef` or `secretKeyRef`"))
            elif n > 1:
                errs.append(invalid(p + ".valueFrom", "",
                                    "may not have more than one field specified at a time"))
            if env.value:
                errs.append(invalid(p + ".valueFrom", "",
                                    "may not be specified when `value` is not empty"))
            if vf.configMapKeyRef is not None:
                check(errs, p + ".valueFrom.configMapKeyRef.key", vf.configMapKeyRef.key,
                      config_key)
            if vf.secretKeyRef is not None:
                check(errs, p + ".valueFrom.secretKeyRef.key", vf.secretKeyRef.key, config_key)
            if vf.fieldRef is not None and not vf.fieldRef.fieldPath:
                errs.append(required(p + ".valueFrom.fieldRef.fieldPath"))
    for i, ef in enumerate(c.envFrom or ()):
        p = f"{path}.envFrom[{i}]"
        n = (ef.configMapRef is not None) + (ef.secretRef is not None)
        if n != 1:
            errs.append(invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
        if ef.prefix:
            check(errs, p + ".prefix", ef.prefix, env_var_name)
    mount_paths: set[str] = set()
    for i, vm in enumerate(c.volumeMounts or ()):
        p = f"{path}.volumeMounts[{i}]"
        if not vm.name:
            errs.append(required(p + ".name"))
        elif vm.name not in volumes:
            errs.append(not_found(p + ".name", vm.name))
        if not vm.mountPath:
            errs.append(required(p + ".mountPath"))
        elif vm.mountPath in mount_paths:
            errs.append(invalid(p + ".mountPath", vm.mountPath, "must be unique"))
        mount_paths.add(vm.mountPath)
    _validate_resources(errs, path + ".resources", c)
    sidecar = c.restartPolicy == "Always"
    if init and not sidecar:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if getattr(c, probe) is not None:
                errs.append(forbidden(f"{path}.{probe}",
                                      "may not be set for init containers without "
                                      "restartPolicy=Always"))
        if c.lifecycle is not None:
            errs.append(forbidden(path + ".lifecycle",
                                  "may not be set for init containers without "
                                  "restartPolicy=Always"))
    else:
        _validate_probe(errs, path + ".livenessProbe", c.livenessProbe, True)
        _validate_probe(errs, path + ".readinessProbe", c.readinessProbe, False)
        _validate_probe(errs, path + ".startupProbe", c.startupProbe, True)
        if c.lifecycle is not None:
            if c.lifecycle.postStart is not None:
                _validate_handler(errs, path + ".lifecycle.postStart", c.lifecycle.postStart)
            if c.lifecycle.preStop is not None:
                _validate_handler(errs, path + ".lifecycle.preStop", c.lifecycle.preStop)
    if not init and c.restartPolicy is not None:
        errs.append(forbidden(path + ".restartPolicy", "may not be set for non-init containers"))


def _validate_node_selector_term(errs: Errors, path: str, term: NodeSelectorTerm) -> None:
    for field in ("matchExpressions", "matchFields"):
        for i, req in enumerate(getattr(term, field) or ()):
            p = f"{path}.{field}[{i}]"
            op, vals = req.operator, req.values
            if op in ("In", "NotIn") and not vals:
                errs.append(required(p + ".values",
                                     "must be specified when `operator` is 'In' or 'NotIn'"))
            elif op in ("Exists", "DoesNotExist") and vals:
                errs.append(forbidden(p + ".values",
                                      "may not be specified when `operator` is 'Exists' or "
                                      "'DoesNotExist'"))
            elif op in ("Gt", "Lt") and (not vals or len(vals) != 1 or
                                         not vals[0].lstrip("-").isdigit()):
                errs.append(required(p + ".values",
                                     "must be specified single value when `operator` is "
                                     "'Lt' or 'Gt'"))
            if field == "matchExpressions":
                check(errs, p + ".key", req.key, qualified_name)


def _validate_pod_affinity_term(errs: Errors, path: str, t: PodAffinityTerm) -> None:
    if not t.topologyKey:
        errs.append(required(path + ".topologyKey", "can not be empty"))
    else:
        check(errs, path + ".topologyKey", t.topologyKey, qualified_name)
    validate_label_selector(errs, path + ".labelSelector", t.labelSelector)
    validate_label_selector(errs, path + ".namespaceSelector", t.namespaceSelector)


def _validate_weight(errs: Errors, path: str, w: int) -> None:
    if not 1 <= w <= 100:
        errs.append(invalid(path, w, "must be in the range 1-100"))


def _validate_affinity(errs: Errors, path: str, a: Affinity) -> None:
    na = a.nodeAffinity
    if na is not None:
        p = path + ".nodeAffinity"
        req = na.requiredDuringSchedulingIgnoredDuringExecution
        if req is not None:
            rp = p + ".requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
            if not req.nodeSelectorTerms:
                errs.append(required(rp, "must have at least one node selector term"))
            for i, term in enumerate(req.nodeSelectorTerms):
                _validate_node_selector_term(errs, f"{rp}[{i}]", term)
        for i, pref in enumerate(na.preferredDuringSchedulingIgnoredDuringExecution or ()):
            pp = f"{p}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            _validate_weight(errs, pp + ".weight", pref.weight)
            _validate_node_selector_term(errs, pp + ".preference", pref.preference)
    for name, pa in (("podAffinity", a.podAffinity), ("podAntiAffinity", a.podAntiAffinity)):
        if pa is None:
            continue
        p = f"{path}.{name}"
        for i, pterm in enumerate(pa.requiredDuringSchedulingIgnoredDuringExecution or ()):
            _validate_pod_affinity_term(
                errs, f"{p}.requiredDuringSchedulingIgnoredDuringExecution[{i}]", pterm)
        for i, wt in enumerate(pa.preferredDuringSchedulingIgnoredDuringExecution or ()):
            pp = f"{p}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            _validate_weight(errs, pp + ".weight", wt.weight)
            _validate_pod_affinity_term(errs, pp + ".podAffinityTerm", wt.podAffinityTerm)


_FILE_MODE = "must be a number between 0 and 0777 (octal), both inclusive"


def _validate_file_modes(errs: Errors, path: str, vol: Volume) -> None:
    """``defaultMode`` and items' ``mode`` of configMap, secret, downwardAPI and projected
    volumes: file permission bits, 0 to 0777 (Kubernetes' fileModeErrorMsg)."""
    def mode(field: str, value: int | None) -> None:
        if value is not None and not 0 <= value <= 0o777:
            errs.append(invalid(field, value, _FILE_MODE))

    def items(field: str, listed: list[Any] | None) -> None:
        for i, item in enumerate(listed or ()):
            mode(f"{field}.items[{i}].mode", item.mode)

    for kind in ("configMap", "secret", "downwardAPI", "projected"):
        src = getattr(vol, kind)
        if src is not None:
            mode(f"{path}.{kind}.defaultMode", src.defaultMode)
            if kind != "projected":
                items(f"{path}.{kind}", src.items)
    for i, source in enumerate((vol.projected.sources if vol.projected else None) or ()):
        for kind in ("configMap", "secret", "downwardAPI"):
            if getattr(source, kind) is not None:
                items(f"{path}.projected.sources[{i}].{kind}", getattr(source, kind).items)


def validate_pod_spec(errs: Errors, path: str, spec: PodSpec) -> None:
    volumes: set[str] = set()
    for i, vol in enumerate(spec.volumes or ()):
        p = f"{path}.volumes[{i}]"
        check(errs, p + ".name", vol.name, dns1123_label)
        if vol.name in volumes:
            errs.append(duplicate(p + ".name", vol.name))
        volumes.add(vol.name)
        srcs = vol.sources()
        if len(srcs) > 1:
            errs.append(forbidden(f"{p}.{srcs[1]}", "may not specify more than 1 volume type"))
        if vol.configMap is not None and not vol.configMap.name:
            errs.append(required(p + ".configMap.name"))
        if vol.secret is not None and not vol.secret.secretName:
            errs.append(required(p + ".secret.secretName"))
        if vol.persistentVolumeClaim is not None and not vol.persistentVolumeClaim.claimName:
            errs.append(required(p + ".persistentVolumeClaim.claimName"))
        if vol.hostPath is not None and not vol.hostPath.path:
            errs.append(required(p + ".hostPath.path"))
        _validate_file_modes(errs, p, vol)
    if not spec.containers:
        errs.append(required(path + ".containers"))
    names: set[str] = set()
    host_net = bool(spec.hostNetwork)
    for field, group, init in (("initContainers", spec.initContainers, True),
                               ("containers", spec.containers, False)):
        for i, c in enumerate(group or ()):
            p = f"{path}.{field}[{i}]"
            if c.name in names:
                errs.append(duplicate(p + ".name", c.name))
            names.add(c.name)
            _validate_container(errs, p, c, volumes, init, host_net)
    if spec.activeDeadlineSeconds is not None and not (
            1 <= spec.activeDeadlineSeconds <= 2147483647):
        errs.append(invalid(path + ".activeDeadlineSeconds", spec.activeDeadlineSeconds,
                            "must be between 1 and 2147483647, inclusive"))
    non_negative(errs, path + ".terminationGracePeriodSeconds", spec.terminationGracePeriodSeconds)
    if spec.dnsPolicy == "None" and (spec.dnsConfig is None or not spec.dnsConfig.nameservers):
        errs.append(required(path + ".dnsConfig",
                             "must provide `dnsConfig` when `dnsPolicy` is None"))
    for field, sub in (("nodeName", spec.nodeName), ("serviceAccountName",
                                                     spec.serviceAccountName),
                       ("priorityClassName", spec.priorityClassName)):
        if sub:
            check(errs, f"{path}.{field}", sub, dns1123_subdomain)
    for field, sub in (("hostname", spec.hostname), ("subdomain", spec.subdomain)):
        if sub:
            check(errs, f"{path}.{field}", sub, dns1123_label)
    if spec.nodeSelector:
        validate_labels(errs, path + ".nodeSelector", spec.nodeSelector)
    for i, tol in enumerate(spec.tolerations or ()):
        p = f"{path}.tolerations[{i}]"
        if tol.key:
            check(errs, p + ".key", tol.key, qualified_name)
        elif tol.operator != "Exists":
            errs.append(invalid(p + ".operator", tol.operator or "",
                                "operator must be Exists when `key` is empty, which means "
                                '"match all values and all keys"'))
        if tol.operator == "Exists" and tol.value:
            errs.append(invalid(p + ".operator", tol.value,
                                "value must be empty when `operator` is 'Exists'"))
        elif tol.value:
            check(errs, p + ".value", tol.value, label_value)
        if tol.tolerationSeconds is not None and tol.effect != "NoExecute":
            errs.append(invalid(p + ".effect", tol.effect or "",
                                "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    if spec.affinity is not None:
        _validate_affinity(errs, path + ".affinity", spec.affinity)
    for i, tsc in enumerate(spec.topologySpreadConstraints or ()):
        p = f"{path}.topologySpreadConstraints[{i}]"
        positive(errs, p + ".maxSkew", tsc.maxSkew)
        if not tsc.topologyKey:
            errs.append(required(p + ".topologyKey", "can not be empty"))
        if tsc.minDomains is not None:
            positive(errs, p + ".minDomains", tsc.minDomains)
        validate_label_selector(errs, p + ".labelSelector", tsc.labelSelector)
    for i, ha in enumerate(spec.hostAliases or ()):
        hp = f"{path}.hostAliases[{i}]"
        if not ha.ip:
            errs.append(required(f"{hp}.ip"))
        else:
            try:  # (the node agent writes it into the pod's /etc/hosts)
                ipaddress.ip_address(ha.ip)
            except ValueError:
                errs.append(invalid(f"{hp}.ip", ha.ip, "must be a valid IP address"))
        for j, name in enumerate(ha.hostnames or ()):
            check(errs, f"{hp}.hostnames[{j}]", name, dns1123_subdomain)
    for i, rg in enumerate(spec.readinessGates or ()):
        check(errs, f"{path}.readinessGates[{i}].conditionType", rg.conditionType,
              qualified_name)


def validate_pod_template(errs: Errors, path: str, tpl: PodTemplateSpec | None,
                          restart_policies: tuple[str, ...]) -> None:
    """A workload's ``template``: metadata labels/annotations, the pod spec, and
    the restart policies the workload allows."""
    if tpl is None:
        errs.append(required(path))
        return
    if tpl.metadata is not None:
        validate_labels(errs, path + ".metadata.labels", tpl.metadata.labels)
        validate_annotations(errs, path + ".metadata.annotations", tpl.metadata.annotations)
    validate_pod_spec(errs, path + ".spec", tpl.spec)
    rp = tpl.spec.restartPolicy
    if rp not in restart_policies:
        errs.append(not_supported(path + ".spec.restartPolicy", rp, restart_policies))
    if tpl.spec.activeDeadlineSeconds is not None and "Always" in restart_policies:
        errs.append(forbidden(path + ".spec.activeDeadlineSeconds",
                              "activeDeadlineSeconds in ReplicaSet is not Supported"))
