"""The per-cluster secrets ``kctl up`` creates once in the data dir and then keeps: the
admin's bearer token (``DIR/tokens.csv``, the API server's token file) and the
EncryptionConfiguration that seals Secrets at rest.  Both files are mode 0600."""

from __future__ import annotations

import base64
import os
import secrets

import yaml

from .plan import Plan

__all__ = ["ensure_encryption_config", "ensure_token"]


def ensure_token(plan: Plan) -> str:
    """The admin token, created (mode 0600) on first run."""
    path = plan.token_file
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split(",")
            if len(parts) >= 2 and parts[1] == "admin" and parts[0]:
                return parts[0]
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(f'{token},admin,admin,"system:masters"\n')
    os.chmod(path, 0o600)
    return token


def ensure_encryption_config(plan: Plan) -> None:
    """The API server's EncryptionConfiguration for Secrets, created (mode 0600, one random
    256-bit AES-GCM key named key1) on first run and kept: snapshots of this cluster open
    only with it.  Rotation: docs/architecture.md (Secrets at rest)."""
    path = plan.encryption_config
    if path.exists():
        return
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    text = yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [
            {"aesgcm": {"keys": [{"name": "key1", "secret": secret}]}}, {"identity": {}}]}]},
        sort_keys=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
