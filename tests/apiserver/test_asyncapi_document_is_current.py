"""docs/asyncapi.yaml is what FastStream generates from the services' subjects."""

from __future__ import annotations

from pathlib import Path

from jetkube.services.apiserver.natsface import asyncapi_document

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_committed_asyncapi_document_matches_the_code() -> None:
    generated = asyncapi_document()
    assert "jetkube.api.*.>" in generated and "jetkube.watch.nodes.{node}.pods" in generated
    assert DOC.read_text() == generated, (
        "docs/asyncapi.yaml is stale: regenerate it with "
        "`python -m jetkube.services.apiserver.natsface > docs/asyncapi.yaml`")
