"""Volume sources as kubectl's describers print them: a pod's (or pod template's)
``Volumes:`` section (``describeVolumes``) and a PersistentVolume's ``Source:``; one
``print*VolumeSource`` format per kind of source.
"""

from __future__ import annotations

from collections.abc import Callable

from jetkube.schemas.objects import Obj

from .describe import NONE, Writer

__all__ = ["pv_source", "volumes"]


def _b(v: object) -> str:
    return "true" if v else "false"


def _host_path(w: Writer, s: Obj) -> None:
    w.write(2, f"Type:\tHostPath (bare host directory volume)\n    Path:\t{s.get('path', '')}\n"
               f"    HostPathType:\t{s.get('type') if s.get('type') is not None else NONE}\n")


def _empty_dir(w: Writer, s: Obj) -> None:
    limit = s.get("sizeLimit") or "<unset>"
    w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
               f"    Medium:\t{s.get('medium', '')}\n    SizeLimit:\t{limit}\n")


def _secret(w: Writer, s: Obj) -> None:
    w.write(2, f"Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t"
               f"{s.get('secretName', '')}\n    Optional:\t{_b(s.get('optional'))}\n")


def _config_map(w: Writer, s: Obj) -> None:
    w.write(2, f"Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t"
               f"{s.get('name', '')}\n    Optional:\t{_b(s.get('optional'))}\n")


def _projected(w: Writer, s: Obj) -> None:
    w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
    for src in s.get("sources") or []:
        if src.get("secret") is not None:
            w.write(2, f"SecretName:\t{src['secret'].get('name', '')}\n"
                       f"    Optional:\t{_b(src['secret'].get('optional'))}\n")
        elif src.get("downwardAPI") is not None:
            w.write(2, "DownwardAPI:\ttrue\n")
        elif src.get("configMap") is not None:
            w.write(2, f"ConfigMapName:\t{src['configMap'].get('name', '')}\n"
                       f"    Optional:\t{_b(src['configMap'].get('optional'))}\n")
        elif src.get("serviceAccountToken") is not None:
            w.write(2, "TokenExpirationSeconds:\t"
                       f"{src['serviceAccountToken'].get('expirationSeconds', 3600)}\n")


def _nfs(w: Writer, s: Obj) -> None:
    w.write(2, f"Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t"
               f"{s.get('server', '')}\n    Path:\t{s.get('path', '')}\n"
               f"    ReadOnly:\t{_b(s.get('readOnly'))}\n")


def _pvc(w: Writer, s: Obj) -> None:
    w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same "
               f"namespace)\n    ClaimName:\t{s.get('claimName', '')}\n"
               f"    ReadOnly:\t{_b(s.get('readOnly'))}\n")


def _downward(w: Writer, s: Obj) -> None:
    w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n"
               "    Items:\n")
    for item in s.get("items") or []:
        if item.get("fieldRef"):
            w.write(3, f"{item['fieldRef'].get('fieldPath')} -> {item.get('path')}\n")
        if item.get("resourceFieldRef"):
            w.write(3, f"{item['resourceFieldRef'].get('resource')} -> {item.get('path')}\n")


def _attributes(w: Writer, attrs: Obj | None) -> None:
    w.write(2, "VolumeAttributes:\t")
    if not attrs:
        w.line(NONE)
        return
    for i, key in enumerate(sorted(attrs)):
        if i:
            w.write(2, "")
            w.write(2, "\t")
        line = f"{key}={attrs[key]}"
        w.write(2, f"{line[:140]}...\n" if len(line) > 140 else f"{line}\n")


def _csi(w: Writer, s: Obj, persistent: bool) -> None:
    handle = f"    VolumeHandle:\t{s.get('volumeHandle', '')}\n" if persistent else ""
    w.write(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)\n"
               f"    Driver:\t{s.get('driver', '')}\n    FSType:\t{s.get('fsType') or ''}\n"
               f"{handle}    ReadOnly:\t{_b(s.get('readOnly'))}\n")
    _attributes(w, s.get("volumeAttributes"))


def _csi_volume(w: Writer, s: Obj) -> None:
    _csi(w, s, False)


def _csi_pv(w: Writer, s: Obj) -> None:
    _csi(w, s, True)


def _local(w: Writer, s: Obj) -> None:
    w.write(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n"
               f"    Path:\t{s.get('path', '')}\n")


def _image(w: Writer, s: Obj) -> None:
    w.write(2, f"Type:\tImage (a container image or OCI artifact)\n    Reference:\t"
               f"{s.get('reference', '')}\n    PullPolicy:\t{s.get('pullPolicy', '')}\n")


def _ephemeral(w: Writer, s: Obj) -> None:
    w.write(2, "Type:\tEphemeralVolume (an inline specification for a volume that gets created "
               "and deleted with the pod)\n")


_POD_SOURCES: dict[str, Callable[[Writer, Obj], None]] = {
    "hostPath": _host_path, "emptyDir": _empty_dir, "secret": _secret,
    "configMap": _config_map, "nfs": _nfs, "persistentVolumeClaim": _pvc,
    "ephemeral": _ephemeral, "downwardAPI": _downward, "projected": _projected,
    "csi": _csi_volume, "image": _image,
}


def volumes(w: Writer, vols: list[Obj], space: str) -> None:
    """``describeVolumes`` (``space`` is ``"  "`` in a pod template)."""
    if not vols:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    indent = " " if space else ""
    for v in vols:
        w.write(1, f"{indent}{v.get('name')}:\n")
        kind = next((k for k in _POD_SOURCES if v.get(k) is not None), None)
        if kind is None:
            w.write(1, "<unknown>\n")
        else:
            _POD_SOURCES[kind](w, v[kind])


_PV_SOURCES: dict[str, Callable[[Writer, Obj], None]] = {
    "hostPath": _host_path, "nfs": _nfs, "local": _local,
    "csi": _csi_pv,
}


def pv_source(w: Writer, spec: Obj) -> None:
    kind = next((k for k in _PV_SOURCES if spec.get(k) is not None), None)
    if kind is None:
        w.write(1, "<unknown>\n")
    else:
        _PV_SOURCES[kind](w, spec[kind])
