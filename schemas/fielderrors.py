"""Field errors with Kubernetes' reasons and messages, and the name checks
(DNS-1123 subdomain/label, DNS-1035 label, qualified names, label values,
IANA service names, config keys) that semantic validation builds on.

A field error is a plain dict ``{"field", "reason", "message"}`` — the shape of
a ``StatusCause`` — so the API server can put it in a ``Status`` unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

FieldError = dict[str, str]
Errors = list[FieldError]


def fmt(value: Any) -> str:
    """A value as Go's ``%#v`` would print it in a Kubernetes message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))}:{fmt(v)}" for k, v in value.items())
        return "map[string]string{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[]string{" + ", ".join(fmt(v) for v in value) + "}"
    return json.dumps(str(value))


def required(field: str, detail: str = "") -> FieldError:
    msg = f"Required value: {detail}" if detail else "Required value"
    return {"field": field, "reason": "FieldValueRequired", "message": msg}


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return {"field": field, "reason": "FieldValueInvalid",
            "message": f"Invalid value: {fmt(value)}: {detail}"}


def not_supported(field: str, value: Any, supported: list[str] | tuple[str, ...]) -> FieldError:
    quoted = ", ".join(json.dumps(s) for s in supported)
    return {"field": field, "reason": "FieldValueNotSupported",
            "message": f"Unsupported value: {fmt(value)}: supported values: {quoted}"}


def duplicate(field: str, value: Any) -> FieldError:
    return {"field": field, "reason": "FieldValueDuplicate",
            "message": f"Duplicate value: {fmt(value)}"}


def too_long(field: str, max_len: int) -> FieldError:
    return {"field": field, "reason": "FieldValueTooLong",
            "message": f"Too long: may not be more than {max_len} bytes"}


def forbidden(field: str, detail: str) -> FieldError:
    return {"field": field, "reason": "FieldValueForbidden", "message": f"Forbidden: {detail}"}


def not_found(field: str, value: Any) -> FieldError:
    return {"field": field, "reason": "FieldValueNotFound", "message": f"Not found: {fmt(value)}"}


# ---------------------------------------------------------------- name formats

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QUALIFIED_NAME + ")?"
_CONFIG_KEY = "[-._a-zA-Z0-9]+"
_ENV_VAR = "[-._a-zA-Z][-._a-zA-Z0-9]*"

_re_label = re.compile(_DNS1123_LABEL)
_re_subdomain = re.compile(_DNS1123_SUBDOMAIN)
_re_1035 = re.compile(_DNS1035_LABEL)
_re_qualified = re.compile(_QUALIFIED_NAME)
_re_label_value = re.compile(_LABEL_VALUE)
_re_config_key = re.compile(_CONFIG_KEY)
_re_env = re.compile(_ENV_VAR)
_re_iana = re.compile("[-a-z0-9]+")
_re_iana_letter = re.compile("[a-z]")

MSG_DNS1123_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_DNS1123_LABEL}')"
)
MSG_DNS1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_DNS1123_SUBDOMAIN}')"
)
MSG_DNS1035_LABEL = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035_LABEL}')"
)
MSG_QUALIFIED_NAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    f"regex used for validation is '{_QUALIFIED_NAME}')"
)
MSG_LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)
MSG_CONFIG_KEY = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    f"'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '{_CONFIG_KEY}')"
)
MSG_ENV_VAR = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', "
    "'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  "
    f"or 'MyEnvName1', regex used for validation is '{_ENV_VAR}')"
)

NameCheck = Callable[[str], tuple[str, ...]]
_cached = lru_cache(maxsize=8192)


@_cached
def dns1123_label(v: str) -> tuple[str, ...]:
    out: list[str] = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _re_label.fullmatch(v):
        out.append(MSG_DNS1123_LABEL)
    return tuple(out)


@_cached
def dns1123_subdomain(v: str) -> tuple[str, ...]:
    out: list[str] = []
    if len(v) > 253:
        out.append("must be no more than 253 characters")
    if not _re_subdomain.fullmatch(v):
        out.append(MSG_DNS1123_SUBDOMAIN)
    return tuple(out)


@_cached
def dns1035_label(v: str) -> tuple[str, ...]:
    out: list[str] = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _re_1035.fullmatch(v):
        out.append(MSG_DNS1035_LABEL)
    return tuple(out)


@_cached
def path_segment_name(v: str) -> tuple[str, ...]:
    """Names of RBAC objects (``system:controller:x`` is fine): not ``.``/``..``,
    no ``/`` or ``%``."""
    if v in (".", ".."):
        return (f"may not be '{v}'",)
    for bad in ("/", "%"):
        if bad in v:
            return (f"may not contain '{bad}'",)
    return ()


@_cached
def qualified_name(v: str) -> tuple[str, ...]:
    """``[prefix/]name`` as used by label and annotation keys."""
    parts = v.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return ("prefix part must be non-empty",)
        errs = dns1123_subdomain(prefix)
        if errs:
            return tuple("prefix part " + e for e in errs)
    else:
        return (
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',"
            "  or '123-abc', regex used for validation is '" + _QUALIFIED_NAME + "') with an "
            "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        )
    if not name:
        return ("name part must be non-empty",)
    out: list[str] = []
    if len(name) > 63:
        out.append("name part must be no more than 63 characters")
    if not _re_qualified.fullmatch(name):
        out.append(MSG_QUALIFIED_NAME)
    return tuple(out)


@_cached
def label_value(v: str) -> tuple[str, ...]:
    out: list[str] = []
    if len(v) > 63:
        out.append("must be no more than 63 characters")
    if not _re_label_value.fullmatch(v):
        out.append(MSG_LABEL_VALUE)
    return tuple(out)


@_cached
def config_key(v: str) -> tuple[str, ...]:
    out: list[str] = []
    if len(v) > 253:
        out.append("must be no more than 253 characters")
    if not _re_config_key.fullmatch(v):
        out.append(MSG_CONFIG_KEY)
    elif v in (".", ".."):
        out.append(f"must not be '{v}'")
    elif v.startswith(".."):
        out.append("must not start with '..'")
    return tuple(out)


@_cached
def env_var_name(v: str) -> tuple[str, ...]:
    return () if _re_env.fullmatch(v) else (MSG_ENV_VAR,)


@_cached
def iana_svc_name(v: str) -> tuple[str, ...]:
    """A port name: at most 15 lowercase alphanumerics or '-', one letter at least."""
    out: list[str] = []
    if len(v) > 15:
        out.append("must be no more than 15 characters")
    if not _re_iana.fullmatch(v):
        out.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in v:
        out.append("must not contain consecutive hyphens")
    if not _re_iana_letter.search(v):
        out.append("must contain at least one letter (a-z)")
    if v.startswith("-") or v.endswith("-"):
        out.append("must not begin or end with a hyphen")
    return tuple(out)


def port_range(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def check(errs: Errors, field: str, value: str, fn: NameCheck) -> None:
    """Append one ``Invalid`` error per message ``fn`` returns for ``value``."""
    if len(value) > 256:  # keep huge values out of the memo caches
        fn = getattr(fn, "__wrapped__", fn)
    for msg in fn(value):
        errs.append(invalid(field, value, msg))


def non_negative(errs: Errors, field: str, value: int | None) -> None:
    if value is not None and value < 0:
        errs.append(invalid(field, value, "must be greater than or equal to 0"))


def positive(errs: Errors, field: str, value: int | None) -> None:
    if value is not None and value <= 0:
        errs.append(invalid(field, value, "must be greater than zero"))
