"""kctl apply records the last-applied configuration byte for byte as kubectl 1.37 does
(``"annotations":{}`` when the manifest has none), so applying one manifest with kubectl
then kctl, or kctl then kubectl, is ``unchanged`` (it used to read ``configured``)."""

from __future__ import annotations

import json

from jetkube.cli.merge import LAST_APPLIED, apply_patch, modified_configuration, with_last_applied

CONFIG = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "c", "namespace": "default"}, "data": {"a": "b"}}
# what kubectl apply -f wrote for CONFIG (kubectl v1.37.1, against a kctl up cluster)
KUBECTLS = ('{"apiVersion":"v1","data":{"a":"b"},"kind":"ConfigMap","metadata":'
            '{"annotations":{},"name":"c","namespace":"default"}}\n')


def test_the_record_is_kubectls() -> None:
    assert with_last_applied(CONFIG)["metadata"]["annotations"][LAST_APPLIED] == KUBECTLS


def test_an_object_kubectl_applied_is_unchanged_for_kctl() -> None:
    live = json.loads(json.dumps(CONFIG))
    live["metadata"]["annotations"] = {LAST_APPLIED: KUBECTLS, "jetkube.io/traceparent": "x"}
    assert apply_patch(live, CONFIG) == {}


def test_diffs_modified_configuration_sets_the_map_without_a_record() -> None:
    assert modified_configuration(CONFIG, annotate=False)["metadata"]["annotations"] == {}
    assert CONFIG["metadata"] == {"name": "c", "namespace": "default"}  # not changed in place
