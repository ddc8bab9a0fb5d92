"""Kubernetes ``Status`` errors, shared by the API server, its clients and kctl.

The API server raises :class:`ApiError`; both faces (HTTP and NATS) render it
as a ``Status`` body with the matching HTTP code, and clients turn a
``Status`` body back into the same exception.
"""

from __future__ import annotations

from typing import Any

StatusDict = dict[str, Any]

MAX_RETRY_AFTER = 60
"""A ``retryAfterSeconds`` above this is not believed (a client waits this long at most)."""

THROTTLE_RETRIES = 10
"""How many times a client sends a request again after a 429 before giving up (client-go's
default, each after the ``Retry-After`` it was told)."""


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def to_status(self) -> StatusDict:
        st: StatusDict = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            st["details"] = self.details
        return st

    @classmethod
    def from_status(cls, st: StatusDict, code: int | None = None) -> ApiError:
        return cls(int(st.get("code") or code or 500), str(st.get("reason") or "Unknown"),
                   str(st.get("message") or ""), st.get("details"))

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"

    @property
    def retry_after(self) -> int | None:
        """The seconds to wait before trying again that the server named (``Retry-After``,
        ``details.retryAfterSeconds``): set on a 429 and on a 503 from the store."""
        after = self.details.get("retryAfterSeconds")
        return after if isinstance(after, int) and 0 <= after <= MAX_RETRY_AFTER else None


def _details(kind: str, name: str | None, group: str = "") -> dict[str, Any]:
    d: dict[str, Any] = {"kind": kind}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    return d


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    qual = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{qual} "{name}" not found', _details(resource, name, group))


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    qual = f"{resource}.{group}" if group else resource
    return ApiError(409, "AlreadyExists", f'{qual} "{name}" already exists',
                    _details(resource, name, group))


def conflict(resource: str, name: str, group: str = "") -> ApiError:
    qual = f"{resource}.{group}" if group else resource
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qual} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        _details(resource, name, group))


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> ApiError:
    summary = ", ".join(f"{c.get('field', '')}: {c.get('message', '')}" for c in causes)
    d = _details(kind, name, group)
    d["causes"] = causes
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {summary}', d)


def bad_request(message: str, causes: list[dict[str, str]] | None = None) -> ApiError:
    return ApiError(400, "BadRequest", message, {"causes": causes} if causes else None)


def unauthorized(message: str = "Unauthorized") -> ApiError:
    return ApiError(401, "Unauthorized", message)


def forbidden(user: str, verb: str, resource: str, namespace: str | None,
              group: str = "") -> ApiError:
    qual = f'resource "{resource}" in API group "{group}"'
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    return ApiError(403, "Forbidden",
                    f'{resource} is forbidden: User "{user}" cannot {verb} {qual}{where}',
                    {"kind": resource, "group": group})


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge",
                    f"Request entity too large: limit is {limit} bytes")


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media(message: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", message)


def forbidden_message(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", message)


def timeout(message: str) -> ApiError:
    return ApiError(504, "Timeout", message)
