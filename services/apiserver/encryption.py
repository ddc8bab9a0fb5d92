"""Secrets encrypted at rest (Kubernetes' EncryptionConfiguration, ``aesgcm`` and ``identity``).

The API server seals an object before it writes the store and opens it after it
reads the store, so no Secret value ever lands in the JetStream files or in a
snapshot, while every API response is the plain object.  The whole object is
sealed into one field, :data:`ENVELOPE` =
``k8s:enc:aesgcm:v1:<key name>:<base64(nonce | ciphertext)>``; beside it only the
identifying metadata (:data:`PLAIN_METADATA`: names, labels, owners, finalizers,
deletion) stays readable, because the garbage collector and the namespace
controller watch every resource's metadata in the store.  The store key is the
AES-GCM associated data, so a sealed value copied under another key does not open.

The configuration file is Kubernetes' own format (``--encryption-provider-config``)::

    apiVersion: apiserver.config.k8s.io/v1
    kind: EncryptionConfiguration
    resources:
      - resources: [secrets]
        providers:
          - aesgcm: {keys: [{name: key1, secret: <base64 of 16, 24 or 32 bytes>}]}
          - identity: {}

The first provider writes; every listed key can read.  Rotation, as in Kubernetes:
add the new key first in the list (keeping the old one second) and restart the API
servers; rewrite every Secret (``kctl get secrets -A -o json | kctl replace -f -``);
then drop the old key.  ``identity`` first turns encryption off for new writes while
the keys still open what was sealed.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors

ENVELOPE = "jetkube.io/encrypted"
PREFIX = "k8s:enc:aesgcm:v1:"
PLAIN_METADATA = ("name", "generateName", "namespace", "uid", "creationTimestamp", "generation",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
                  "ownerReferences", "finalizers")
"""What stays readable of a sealed object: what the garbage collector, the namespace
controller and informers key on.  Annotations are sealed (``kubectl apply`` keeps the
whole manifest, values included, in one)."""


class EncryptionConfigError(ValueError):
    """An encryption configuration file that cannot be used (with the reason)."""


@dataclass
class ResourceEncryption:
    """The providers of one resource: ``keys`` by name, ``write_key`` None for identity."""

    keys: dict[str, AESGCM] = field(default_factory=dict)
    write_key: str | None = None


@dataclass
class Encryption:
    """Seals and opens stored objects of the configured resources (none: identity)."""

    resources: dict[str, ResourceEncryption] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> Encryption:
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise EncryptionConfigError(f"{path}: {e}") from None
        return cls.from_config(doc, str(path))

    @classmethod
    def from_config(cls, doc: Any, where: str = "encryption config") -> Encryption:
        if not isinstance(doc, dict) or doc.get("kind") != "EncryptionConfiguration":
            raise EncryptionConfigError(f"{where}: kind must be EncryptionConfiguration")
        out = cls()
        for i, entry in enumerate(doc.get("resources") or ()):
            enc = ResourceEncryption()
            for j, provider in enumerate(entry.get("providers") or ()):
                if "identity" in provider:
                    if j == 0:
                        enc.write_key = None
                    continue
                if "aesgcm" not in provider:
                    raise EncryptionConfigError(
                        f"{where}: resources[{i}].providers[{j}]: only aesgcm and identity "
                        "are supported")
                for k, key in enumerate(provider["aesgcm"].get("keys") or ()):
                    name, secret = str(key.get("name") or ""), key.get("secret") or ""
                    try:
                        raw = base64.b64decode(secret, validate=True)
                    except ValueError:
                        raw = b""
                    if not name or ":" in name or len(raw) not in (16, 24, 32):
                        raise EncryptionConfigError(
                            f"{where}: resources[{i}].providers[{j}].aesgcm.keys[{k}]: a name "
                            "without ':' and a base64 secret of 16, 24 or 32 bytes are required")
                    enc.keys[name] = AESGCM(raw)
                    if j == 0 and enc.write_key is None and k == 0:
                        enc.write_key = name
            for res in entry.get("resources") or ():
                out.resources[str(res).split(".")[0]] = enc
        return out

    def seals(self, resource: str) -> bool:
        """Whether ``resource``'s objects are written sealed."""
        enc = self.resources.get(resource)
        return enc is not None and enc.write_key is not None

    def seal(self, resource: str, key: str, obj: Obj) -> Obj:
        """``obj`` as it is stored under ``key``: sealed whole if ``resource`` is encrypted,
        with only :data:`PLAIN_METADATA` left readable beside the envelope."""
        enc = self.resources.get(resource)
        if enc is None or enc.write_key is None:  # (``seals`` says no)
            return obj
        nonce = os.urandom(12)
        sealed = enc.keys[enc.write_key].encrypt(nonce, orjson.dumps(obj), key.encode())
        md = obj.get("metadata") or {}
        return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                "metadata": {k: md[k] for k in PLAIN_METADATA if k in md},
                ENVELOPE: f"{PREFIX}{enc.write_key}:{base64.b64encode(nonce + sealed).decode()}"}

    def open(self, resource: str, key: str, obj: Obj) -> Obj:
        """The stored ``obj`` as it was before it was sealed (resourceVersion as stored)."""
        envelope = obj.get(ENVELOPE)
        if envelope is None:
            return obj
        enc = self.resources.get(resource) or ResourceEncryption()
        name, _, body = str(envelope).removeprefix(PREFIX).partition(":")
        aead = enc.keys.get(name)
        if aead is None or not str(envelope).startswith(PREFIX):
            raise apierrors.internal(
                f"{key}: sealed with key {name!r}, which the encryption configuration lacks")
        try:
            raw = base64.b64decode(body)
            plain: Obj = orjson.loads(aead.decrypt(raw[:12], raw[12:], key.encode()))
        except (ValueError, InvalidTag, orjson.JSONDecodeError):
            raise apierrors.internal(f"{key}: the sealed value does not open") from None
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv is not None:
            plain.setdefault("metadata", {})["resourceVersion"] = rv
        return plain

