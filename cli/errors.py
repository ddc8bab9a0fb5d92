"""kctl's user-facing errors and how they are printed.

A user error is printed as one line and exits 1, never as a traceback:
server errors as ``Error from server (Reason): message`` (the ``Status``
message), client-side problems as ``error: message``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where needed: the API errors' package brings the schemas
    from jetkube.services.machinery.apimachinery.apierrors import ApiError


class CliError(Exception):
    """A client-side error: printed as ``error: <message>``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ConnectionRefused(CliError):
    """The API server did not answer at the configured address."""


def server_error_line(err: ApiError, context: str = "") -> str:
    """``Error from server (NotFound): pods "x" not found`` (with optional context)."""
    reason = err.reason or "Unknown"
    msg = err.message or f"the server responded with HTTP {err.code}"
    if context:
        msg = f"{context}: {msg}"
    return f"Error from server ({reason}): {msg}"


def error_line(exc: BaseException) -> str:
    if isinstance(exc, CliError):
        return exc.message if exc.message.startswith(("error:", "The connection", "Unable")) \
            else f"error: {exc.message}"
    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    if isinstance(exc, ApiError):
        return server_error_line(exc)
    return f"error: {exc}"
