"""core/v1 pod volumes: emptyDir, hostPath, configMap, secret,
persistentVolumeClaim, projected, downwardAPI, nfs, csi, ephemeral and image
sources, with Kubernetes' defaults (``defaultMode: 420``, ``hostPath.type: ""``,
a volume with no source becomes an ``emptyDir``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from .base import Int32, Int64, K8sModel, StrMap
from .container import ObjectFieldSelector, ResourceFieldSelector
from .meta import LocalObjectReference
from .quantity import Quantity

DEFAULT_MODE = 0o644  # 420, what Kubernetes writes for defaultMode


class KeyToPath(K8sModel):
    key: str
    path: str
    mode: Int32 | None = None


class EmptyDirVolumeSource(K8sModel):
    medium: str | None = None
    sizeLimit: Quantity | None = None


class HostPathVolumeSource(K8sModel):
    path: str
    type: Literal[
        "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
        "CharDevice", "BlockDevice",
    ] = ""


class ConfigMapVolumeSource(K8sModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    defaultMode: Int32 = DEFAULT_MODE
    optional: bool | None = None


class SecretVolumeSource(K8sModel):
    secretName: str | None = None
    items: list[KeyToPath] | None = None
    defaultMode: Int32 = DEFAULT_MODE
    optional: bool | None = None


class PersistentVolumeClaimVolumeSource(K8sModel):
    claimName: str
    readOnly: bool | None = None


class DownwardAPIVolumeFile(K8sModel):
    path: str
    fieldRef: ObjectFieldSelector | None = None
    resourceFieldRef: ResourceFieldSelector | None = None
    mode: Int32 | None = None


class DownwardAPIVolumeSource(K8sModel):
    items: list[DownwardAPIVolumeFile] | None = None
    defaultMode: Int32 = DEFAULT_MODE


class DownwardAPIProjection(K8sModel):
    items: list[DownwardAPIVolumeFile] | None = None


class ConfigMapProjection(K8sModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    optional: bool | None = None


class SecretProjection(K8sModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    optional: bool | None = None


class ServiceAccountTokenProjection(K8sModel):
    audience: str | None = None
    expirationSeconds: Int64 = 3600
    path: str


class ClusterTrustBundleProjection(K8sModel):
    name: str | None = None
    signerName: str | None = None
    labelSelector: dict[str, Any] | None = None
    optional: bool | None = None
    path: str


class VolumeProjection(K8sModel):
    configMap: ConfigMapProjection | None = None
    secret: SecretProjection | None = None
    downwardAPI: DownwardAPIProjection | None = None
    serviceAccountToken: ServiceAccountTokenProjection | None = None
    clusterTrustBundle: ClusterTrustBundleProjection | None = None


class ProjectedVolumeSource(K8sModel):
    sources: list[VolumeProjection] | None = None
    defaultMode: Int32 = DEFAULT_MODE


class NFSVolumeSource(K8sModel):
    server: str
    path: str
    readOnly: bool | None = None


class CSIVolumeSource(K8sModel):
    driver: str
    readOnly: bool | None = None
    fsType: str | None = None
    volumeAttributes: StrMap | None = None
    nodePublishSecretRef: LocalObjectReference | None = None


class EphemeralVolumeSource(K8sModel):
    # a PersistentVolumeClaimTemplate; PVCs are not modelled, so kept free-form
    volumeClaimTemplate: dict[str, Any] | None = None


class ImageVolumeSource(K8sModel):
    reference: str | None = None
    pullPolicy: Literal["Always", "Never", "IfNotPresent"] | None = None


VOLUME_SOURCES = (
    "emptyDir", "hostPath", "configMap", "secret", "persistentVolumeClaim", "projected",
    "downwardAPI", "nfs", "csi", "ephemeral", "image",
)


class Volume(K8sModel):
    name: str
    emptyDir: EmptyDirVolumeSource | None = None
    hostPath: HostPathVolumeSource | None = None
    configMap: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    persistentVolumeClaim: PersistentVolumeClaimVolumeSource | None = None
    projected: ProjectedVolumeSource | None = None
    downwardAPI: DownwardAPIVolumeSource | None = None
    nfs: NFSVolumeSource | None = None
    csi: CSIVolumeSource | None = None
    ephemeral: EphemeralVolumeSource | None = None
    image: ImageVolumeSource | None = None

    def sources(self) -> list[str]:
        """The names of the sources set on this volume (exactly one when valid)."""
        return [s for s in VOLUME_SOURCES if getattr(self, s) is not None]

    @model_validator(mode="after")
    def _default_source(self) -> Volume:
        # SetDefaults_Volume: no source at all means an emptyDir
        if (self.emptyDir is None and self.hostPath is None and self.configMap is None
                and self.secret is None and self.persistentVolumeClaim is None
                and self.projected is None and self.downwardAPI is None and self.nfs is None
                and self.csi is None and self.ephemeral is None and self.image is None):
            self.emptyDir = EmptyDirVolumeSource()
        return self
