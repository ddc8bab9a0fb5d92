"""The bounds every request body is decoded within (decode.py: JSON, yamlbody.py: YAML).

- **size**, :data:`MAX_BODY`: 1.5 MiB, etcd's request limit (kube-apiserver's own is
  3 MiB, but no store write could hold more); the HTTP face refuses a bigger body before
  reading it whole.
- **nesting**, :data:`MAX_DEPTH`: 100 levels of objects and arrays. Go's decoders stop at
  10,000 (encoding/json's ``maxNestingDepth``, go-yaml's "exceeded max depth of 10000"),
  but the Python that handles a decoded value (merges, copies, validation) recurses once
  a level, and the interpreter stops at 1,000 frames. No Kubernetes object nests near
  100: a Pod's deepest field (the values of a match expression in a pod anti-affinity
  term) is 12 levels down.
- **fields and elements**, :data:`MAX_NODES`: 250,000 keys and array elements in all, a
  YAML alias counted with all it holds each time it is used, so a "billion laughs" of
  700 bytes is refused before it expands (go-yaml refuses "excessive aliasing" near
  400,000 decodes). A JSON body within :data:`MAX_BODY` meets it only with more than
  250,000 tiny fields.
"""

from __future__ import annotations

from ..machinery.apimachinery import apierrors

MAX_BODY = 3 * 1024 * 1024 // 2
MAX_DEPTH = 100
MAX_NODES = 250_000


def too_deep(path: str = "") -> apierrors.ApiError:
    """400: nested past :data:`MAX_DEPTH`, under the top-level field of ``path``."""
    top = path.partition(".")[0].partition("[")[0]
    under = f' (under "{top}")' if top else ""
    return apierrors.bad_request(
        f"the request body is nested more than {MAX_DEPTH} levels deep{under}")


def too_many() -> apierrors.ApiError:
    """400: more than :data:`MAX_NODES` fields and elements."""
    return apierrors.bad_request(
        f"the request body has more than {MAX_NODES} fields and elements (a YAML alias "
        "counts with all it holds each time it is used)")
