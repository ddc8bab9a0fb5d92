"""A minimal kustomize for ``kctl apply -k DIR`` (and ``diff -k``): what the kustomization
in DIR builds, as ``kubectl kustomize DIR`` builds it for the fields kctl supports.

Supported: ``resources`` (files, and directories with a kustomization of their own, built
first), ``namespace``, ``namePrefix``/``nameSuffix``, ``commonLabels`` (labels,
selectors and pod templates), ``labels`` (``pairs`` with ``includeSelectors`` /
``includeTemplates``), ``commonAnnotations``, ``images`` (``newName``, ``newTag``,
``digest``), ``configMapGenerator`` and ``secretGenerator`` (``literals``, ``files``,
``envs``, ``type``, ``options``; ``behavior: create`` only) with ``generatorOptions``, and
kustomize's content-hash name suffix (``-<10 chars>``: the first ten hex digits of the
SHA-256 of the ConfigMap's or Secret's kind, type and data as sorted JSON, 0,1,3,a,e
written g,h,k,m,t; the name hashed is always "", as kustomize's lookup of it finds
nothing), appended after the prefix and suffix of the outermost kustomization.  A
renamed ConfigMap or Secret (prefix, suffix, hash) is renamed where pod templates refer
to it (volumes, env, envFrom, projected volumes, imagePullSecrets); other references
(a StatefulSet's serviceName, RoleBinding subjects, ...) are not rewritten.  Any other
field (patches, replicas, components, vars, replacements, helmCharts, remote resources,
...) is refused with an error naming it, never ignored.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from .errors import CliError
from .manifests import Manifest, parse

Obj = dict[str, Any]

FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED = ("apiVersion", "kind", "resources", "namespace", "namePrefix", "nameSuffix",
             "commonLabels", "labels", "commonAnnotations", "images", "configMapGenerator",
             "secretGenerator", "generatorOptions")
CLUSTER_KINDS = {"Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
                 "CustomResourceDefinition", "StorageClass", "PriorityClass",
                 "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
ORDER_FIRST = ("Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
               "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
               "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service",
               "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim",
               "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget")
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
"""kustomize's "legacy" output order: these kinds first (in this order), those last."""
WORKLOADS = {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job",
             "ReplicationController"}


class Item:
    """One built object, and whether its name still gets the content hash."""

    def __init__(self, obj: Obj, source: str, hashed: bool = False) -> None:
        self.obj = obj
        self.source = source
        self.hashed = hashed

    @property
    def md(self) -> Obj:
        return self.obj.setdefault("metadata", {})  # type: ignore[no-any-return]


def build(directory: str) -> list[Manifest]:
    """The objects the kustomization in ``directory`` makes, in kustomize's order."""
    items = _build(Path(directory).expanduser(), depth=0)
    return [Manifest(i.obj, i.source) for i in sorted(items, key=_legacy_order)]


def _legacy_order(i: Item) -> tuple[int, str, str, str]:
    kind = str(i.obj.get("kind"))
    rank = (ORDER_FIRST.index(kind) if kind in ORDER_FIRST else
            len(ORDER_FIRST) + 1 + ORDER_LAST.index(kind) if kind in ORDER_LAST else
            len(ORDER_FIRST))
    return (rank, kind, str(i.md.get("namespace") or ""), str(i.md.get("name")))


def _kustomization(d: Path) -> tuple[Path, Obj]:
    if not d.is_dir():
        raise CliError(f"must build at directory: not a valid directory: {d}")
    for name in FILES:
        f = d / name
        if f.is_file():
            try:
                doc = yaml.safe_load(f.read_text()) or {}
            except yaml.YAMLError as e:
                raise CliError(f"error parsing {f}: {e}") from None
            if not isinstance(doc, dict):
                raise CliError(f"{f} is not a kustomization (not a mapping)")
            return f, doc
    raise CliError(f"unable to find one of 'kustomization.yaml', 'kustomization.yml' or "
                   f"'Kustomization' in directory '{d}'")


def _build(d: Path, depth: int) -> list[Item]:
    if depth > 20:
        raise CliError(f"kustomization {d}: resources nest too deep (a cycle?)")
    path, k = _kustomization(d)
    unsupported = sorted(set(k) - set(SUPPORTED))
    if unsupported:
        raise CliError(f"{path}: kctl's kustomize does not support {', '.join(unsupported)} "
                       f"(supported: {', '.join(SUPPORTED[2:])})")
    items: list[Item] = []
    for entry in k.get("resources") or []:
        items.extend(_resource(d, str(entry), depth))
    options = k.get("generatorOptions") or {}
    for gen in k.get("configMapGenerator") or []:
        items.append(_generate(d, "ConfigMap", gen, options))
    for gen in k.get("secretGenerator") or []:
        items.append(_generate(d, "Secret", gen, options))
    renames: dict[tuple[str, str], str] = {}
    if k.get("namespace"):
        for i in items:
            if i.obj.get("kind") not in CLUSTER_KINDS:
                i.md["namespace"] = k["namespace"]
    prefix, suffix = str(k.get("namePrefix") or ""), str(k.get("nameSuffix") or "")
    if prefix or suffix:
        for i in items:
            if i.obj.get("kind") in ("Namespace", "CustomResourceDefinition"):
                continue
            new = f"{prefix}{i.md['name']}{suffix}"
            renames[(str(i.obj.get("kind")), str(i.md["name"]))] = new
            i.md["name"] = new
    common = {str(a): str(b) for a, b in (k.get("commonLabels") or {}).items()}
    for i in items:
        _label(i.obj, common, selectors=True, templates=True)
    for spec in k.get("labels") or []:
        pairs = {str(a): str(b) for a, b in (spec.get("pairs") or {}).items()}
        for i in items:
            _label(i.obj, pairs, selectors=bool(spec.get("includeSelectors")),
                   templates=bool(spec.get("includeSelectors") or spec.get("includeTemplates")))
    annotations = {str(a): str(b) for a, b in (k.get("commonAnnotations") or {}).items()}
    for i in items:
        _annotate(i.obj, annotations)
    for image in k.get("images") or []:
        for i in items:
            _set_image(i.obj, image)
    for i in items if depth == 0 else ():  # the suffix goes last, on the final name
        if i.hashed:
            new = f"{i.md['name']}-{content_hash(i.obj)}"
            old = (str(i.obj["kind"]), str(i.md["name"]))
            renames[old] = new
            i.md["name"] = new
            i.hashed = False
    _rename_references(items, _chain({key: new for key, new in renames.items()
                                      if key[0] in ("ConfigMap", "Secret")}))
    return items


def _chain(renames: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """old name → final name (a prefixed name that was then hashed: the hashed one)."""
    out = {}
    for (kind, old), new in renames.items():
        while (kind, new) in renames and renames[(kind, new)] != new:
            new = renames[(kind, new)]
        out[(kind, old)] = new
    return out


def _resource(d: Path, entry: str, depth: int) -> list[Item]:
    if "://" in entry or entry.startswith(("github.com/", "git@")):
        raise CliError(f"kctl's kustomize does not support remote resources: {entry}")
    p = (d / entry).resolve()
    if p.is_dir():
        return _build(p, depth + 1)
    if not p.is_file():
        raise CliError(f"accumulating resources: '{p}' does not exist")
    return [Item(copy.deepcopy(m.obj), str(p)) for m in parse(p.read_text(), str(p))]


def _generate(d: Path, kind: str, gen: Obj, options: Obj) -> Item:
    behavior = gen.get("behavior") or "create"
    if behavior != "create":
        raise CliError(f"kctl's kustomize supports behavior: create only, not {behavior!r} "
                       f"({kind} {gen.get('name')})")
    if not gen.get("name"):
        raise CliError(f"a {kind} generator needs a name")
    data: dict[str, str] = {}
    for lit in gen.get("literals") or []:
        key, sep, value = str(lit).partition("=")
        if not sep:
            raise CliError(f"invalid literal {lit!r} in {kind} {gen['name']}: expected KEY=VALUE")
        data[key] = value.strip('"') if value[:1] == value[-1:] == '"' else value
    for spec in gen.get("files") or []:
        key, sep, rel = str(spec).partition("=")
        if not sep:
            key, rel = Path(spec).name, spec
        data[key] = _read(d, rel)
    for env in gen.get("envs") or ([gen["env"]] if gen.get("env") else []):
        for line in _read(d, env).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                data[key] = value
    opts = {**options, **(gen.get("options") or {})}
    md: Obj = {"name": gen["name"]}
    if gen.get("namespace"):
        md["namespace"] = gen["namespace"]
    if opts.get("labels"):
        md["labels"] = dict(opts["labels"])
    if opts.get("annotations"):
        md["annotations"] = dict(opts["annotations"])
    obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": md}
    if kind == "Secret":
        obj["type"] = gen.get("type") or "Opaque"
        obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        obj["data"] = data
    if opts.get("immutable"):
        obj["immutable"] = True
    return Item(obj, f"{d} ({kind.lower()}Generator {gen['name']})",
                hashed=not opts.get("disableNameSuffixHash"))


def _read(d: Path, rel: str) -> str:
    try:
        return (d / rel).read_text()
    except OSError as e:
        raise CliError(f"error reading {d / rel}: {e.strerror}") from None


def _go_json(value: Any) -> str:
    """Go's json.Marshal of a map: sorted keys, no spaces, <, > and & escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def content_hash(obj: Obj) -> str:
    """kustomize's name suffix for a generated ConfigMap or Secret."""
    # kustomize looks the name up as one key "metadata/name", finds none and hashes "": so
    # the hash is of the content alone, and a prefix or suffix does not change it
    m: Obj = {"kind": obj["kind"], "name": "", "data": obj.get("data") or ""}
    if obj["kind"] == "Secret":
        m["type"] = obj.get("type", "")
    elif obj.get("binaryData"):
        m["binaryData"] = obj["binaryData"]
    digest = hashlib.sha256(_go_json(m).encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _template(obj: Obj) -> Obj | None:
    if obj.get("kind") in WORKLOADS:
        return (obj.get("spec") or {}).get("template")
    if obj.get("kind") == "CronJob":
        return (((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get(
            "template")
    return None


def _label(obj: Obj, labels: dict[str, str], *, selectors: bool, templates: bool) -> None:
    if not labels:
        return
    obj.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if selectors:
        if obj.get("kind") in ("Service", "ReplicationController"):
            spec.setdefault("selector", {}).update(labels)
        elif obj.get("kind") in WORKLOADS - {"Job", "ReplicationController"}:
            spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(labels)
    tmpl = _template(obj)
    if templates and isinstance(tmpl, dict):
        tmpl.setdefault("metadata", {}).setdefault("labels", {}).update(labels)


def _annotate(obj: Obj, annotations: dict[str, str]) -> None:
    if not annotations:
        return
    obj.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)
    tmpl = _template(obj)
    if isinstance(tmpl, dict):
        tmpl.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)


def _pod_specs(obj: Obj) -> list[Obj]:
    if obj.get("kind") == "Pod":
        return [obj.get("spec") or {}]
    tmpl = _template(obj)
    return [tmpl.get("spec") or {}] if isinstance(tmpl, dict) else []


def _set_image(obj: Obj, image: Obj) -> None:
    for spec in _pod_specs(obj):
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            ref = str(c.get("image") or "")
            name, digest = ref.partition("@")[0], ref.partition("@")[2]
            tag = ""
            if ":" in name.rsplit("/", 1)[-1]:
                name, _, tag = name.rpartition(":")
            if name != image.get("name"):
                continue
            name = str(image.get("newName") or name)
            if image.get("digest"):
                c["image"] = f"{name}@{image['digest']}"
            elif image.get("newTag"):
                c["image"] = f"{name}:{image['newTag']}"
            else:
                c["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _rename_references(items: list[Item], renames: dict[tuple[str, str], str]) -> None:
    if not renames:
        return

    def fix(ref: Obj | None, kind: str, key: str = "name") -> None:
        if isinstance(ref, dict) and (kind, ref.get(key)) in renames:
            ref[key] = renames[(kind, str(ref[key]))]

    for i in items:
        for spec in _pod_specs(i.obj):
            for v in spec.get("volumes") or []:
                fix(v.get("configMap"), "ConfigMap")
                fix(v.get("secret"), "Secret", "secretName")
                for src in (v.get("projected") or {}).get("sources") or []:
                    fix(src.get("configMap"), "ConfigMap")
                    fix(src.get("secret"), "Secret")
            for s in spec.get("imagePullSecrets") or []:
                fix(s, "Secret")
            for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                for e in c.get("env") or []:
                    frm = e.get("valueFrom") or {}
                    fix(frm.get("configMapKeyRef"), "ConfigMap")
                    fix(frm.get("secretKeyRef"), "Secret")
                for e in c.get("envFrom") or []:
                    fix(e.get("configMapRef"), "ConfigMap")
                    fix(e.get("secretRef"), "Secret")
