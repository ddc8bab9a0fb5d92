"""ServiceAccount tokens: signed JWTs, issued by TokenRequest and verified on every request.

As kube-apiserver (``--service-account-signing-key-file``, ``--service-account-key-file``,
``--service-account-issuer``, ``--api-audiences``), every API server signs with the same
private key (kctl up writes it once: ``DIR/pki/sa.key``), so each verifies what another
issued.  Tokens are ES256 JWTs (ECDSA P-256, SHA-256; the signature is ``r || s``, RFC 7518)
whose header names the key (``kid``: the SHA-256 of its public key, base64url) and whose
claims are Kubernetes' bound-token claims: ``iss``, ``aud``, ``sub``
(``system:serviceaccount:<ns>:<name>``), ``exp``, ``nbf``, ``iat``, ``jti`` and
``kubernetes.io`` (namespace, serviceaccount name and uid, pod name and uid when bound).

:class:`ServiceAccountTokens` verifies a token against the watch cache, as Kubernetes'
legacy-free validator does: the signature, the issuer, an audience it accepts, ``exp`` and
``nbf``, then that the ServiceAccount still exists with the same uid and is not being
deleted, and that a bound pod still exists with the same uid.  Any failure is 401.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ..machinery.apimachinery import apierrors, new_uid, object_key
from .request import UserInfo
from .watchcache import WatchCache

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SA_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"
CLOCK_SKEW = 60  # seconds of leeway on nbf, as Kubernetes' validator allows
_COORD = 32  # bytes of one P-256 coordinate in the JWS signature


def service_account_user(namespace: str, name: str) -> str:
    """``system:serviceaccount:<ns>:<name>``, the user a ServiceAccount's token stands for."""
    return f"{SA_PREFIX}{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return (SA_GROUP, f"{SA_GROUP}:{namespace}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: ec.EllipticCurvePublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64(hashlib.sha256(der).digest())


def generate_signing_key() -> bytes:
    """A new P-256 private key as PKCS#8 PEM (what ``DIR/pki/sa.key`` holds)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


_PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\s*", re.S)


def load_public_keys(path: Path) -> list[ec.EllipticCurvePublicKey]:
    """The EC public keys in a PEM file: public keys, or the public half of a private key."""
    keys: list[ec.EllipticCurvePublicKey] = []
    for m in _PEM.finditer(path.read_bytes()):
        if m.group(1).endswith(b"PRIVATE KEY"):
            priv = serialization.load_pem_private_key(m.group(0), None)
            if isinstance(priv, ec.EllipticCurvePrivateKey):
                keys.append(priv.public_key())
        elif m.group(1) == b"PUBLIC KEY":
            pub = serialization.load_pem_public_key(m.group(0))
            if isinstance(pub, ec.EllipticCurvePublicKey):
                keys.append(pub)
    if not keys:
        raise ValueError(f"{path}: no EC (P-256) key")
    return keys


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says (its ``kubernetes.io`` claim, flattened)."""

    namespace: str
    service_account: str
    service_account_uid: str
    pod: str | None
    pod_uid: str | None
    expires: int


_ES256 = ec.ECDSA(hashes.SHA256())
"""The signature algorithm of every token (made once: an object per token was 3 % of a
TokenRequest)."""


class TokenIssuer:
    """Signs tokens with the private key and verifies them with any of the public keys."""

    def __init__(self, signing_key_pem: bytes, *, issuer: str = DEFAULT_ISSUER,
                 audiences: Sequence[str] = (),
                 verify_keys: Sequence[ec.EllipticCurvePublicKey] = ()) -> None:
        key = serialization.load_pem_private_key(signing_key_pem, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the service account signing key must be an EC P-256 key (ES256)")
        self._key = key
        self.issuer = issuer
        self.audiences = tuple(audiences) or (issuer,)
        self._kid = key_id(key.public_key())
        self._head = _b64(orjson.dumps({"alg": "ES256", "kid": self._kid}))
        self._verify = {key_id(k): k for k in (key.public_key(), *verify_keys)}

    def issue(self, *, namespace: str, name: str, uid: str, expiration_seconds: int,
              audiences: Sequence[str] = (), pod: tuple[str, str] | None = None,
              now: float | None = None) -> tuple[str, int]:
        """A token for ServiceAccount ``namespace/name`` (uid) valid ``expiration_seconds``,
        bound to ``pod`` (name, uid) when given; and its expiry (Unix seconds)."""
        iat = int(time.time() if now is None else now)
        exp = iat + expiration_seconds
        k8s: dict[str, Any] = {"namespace": namespace,
                               "serviceaccount": {"name": name, "uid": uid}}
        if pod is not None:
            k8s["pod"] = {"name": pod[0], "uid": pod[1]}
        claims = {"aud": list(audiences) or list(self.audiences), "exp": exp, "iat": iat,
                  "iss": self.issuer, "jti": new_uid(), "kubernetes.io": k8s,
                  "nbf": iat, "sub": service_account_user(namespace, name)}
        signing_input = f"{self._head}.{_b64(orjson.dumps(claims))}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), _ES256))
        sig = r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")
        return f"{signing_input}.{_b64(sig)}", exp

    def verify(self, token: str, now: float | None = None) -> TokenClaims:
        """The claims of a token this cluster issued and that is valid now; else 401."""
        try:
            head_b64, body_b64, sig_b64 = token.split(".")
            head = orjson.loads(_unb64(head_b64))
            claims = orjson.loads(_unb64(body_b64))
            sig = _unb64(sig_b64)
        except ValueError:
            raise apierrors.unauthorized() from None
        if not isinstance(head, dict) or head.get("alg") != "ES256" or not isinstance(
                claims, dict) or len(sig) != 2 * _COORD:
            raise apierrors.unauthorized()
        key = self._verify.get(str(head.get("kid")))
        if key is None:
            raise apierrors.unauthorized()
        der = encode_dss_signature(int.from_bytes(sig[:_COORD], "big"),
                                   int.from_bytes(sig[_COORD:], "big"))
        try:
            key.verify(der, f"{head_b64}.{body_b64}".encode(), _ES256)
        except InvalidSignature:
            raise apierrors.unauthorized() from None
        return self._check_claims(claims, time.time() if now is None else now)

    def _check_claims(self, claims: dict[str, Any], now: float) -> TokenClaims:
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        k8s = claims.get("kubernetes.io")
        if (claims.get("iss") != self.issuer or not set(auds) & set(self.audiences)
                or not isinstance(exp, int) or not isinstance(nbf, int) or now >= exp
                or nbf > now + CLOCK_SKEW or not isinstance(k8s, dict)):
            raise apierrors.unauthorized()
        sa, pod = k8s.get("serviceaccount") or {}, k8s.get("pod") or {}
        ns, name, uid = k8s.get("namespace"), sa.get("name"), sa.get("uid")
        if not all(isinstance(v, str) and v for v in (ns, name, uid)) or claims.get(
                "sub") != service_account_user(str(ns), str(name)):
            raise apierrors.unauthorized()
        return TokenClaims(str(ns), str(name), str(uid), pod.get("name"), pod.get("uid"), exp)


class ServiceAccountTokens:
    """The authenticator of ServiceAccount tokens: a verified token whose ServiceAccount
    (and bound pod) still exist, as the watch cache holds them, is that account's user."""

    def __init__(self, issuer: TokenIssuer, cache: WatchCache) -> None:
        self.issuer = issuer
        self.cache = cache
        self.pod_uids: dict[str, str] | None = None
        """Each live pod's uid, while pods may be cold in the cache (ondemand.py): followed
        from the cache's first snapshot on (so made before the cache starts)."""
        if "pods" in cache.demand.resources:
            self.pod_uids = {}
            cache.demand.follow("pods", self._pod_seen)

    def _pod_seen(self, key: str, pod: dict[str, Any] | None) -> None:
        assert self.pod_uids is not None
        uid = None if pod is None else (pod.get("metadata") or {}).get("uid")
        if isinstance(uid, str):
            self.pod_uids[key] = uid
        else:
            self.pod_uids.pop(key, None)

    def _live(self, resource: str, namespace: str, name: str, uid: str) -> bool:
        if resource == "pods" and self.pod_uids is not None:
            return self.pod_uids.get(object_key(resource, namespace, name)) == uid
        c = self.cache.resource(resource).items.get(object_key(resource, namespace, name))
        if c is None:
            return False
        md = c.obj.get("metadata") or {}
        return md.get("uid") == uid and not (
            resource == "serviceaccounts" and md.get("deletionTimestamp"))

    def authenticate(self, token: str) -> UserInfo:
        claims = self.issuer.verify(token)
        if not self._live("serviceaccounts", claims.namespace, claims.service_account,
                          claims.service_account_uid):
            raise apierrors.unauthorized()
        if (claims.pod is not None or claims.pod_uid is not None) and not self._live(
                "pods", claims.namespace, str(claims.pod), str(claims.pod_uid)):
            raise apierrors.unauthorized()
        return UserInfo(service_account_user(claims.namespace, claims.service_account),
                        claims.service_account_uid, service_account_groups(claims.namespace))


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")
