"""kctl create serviceaccount / create token against the real API server logic: the token
kubectl would print (its lifetime from --duration, its audiences, bound to a pod), the
TokenRequest with -o json, kubectl's flag errors; get and describe of ServiceAccounts."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from kctl_localcluster import NS, LocalCluster, pod


def claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    out: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return out


def test_create_serviceaccount_then_a_token_of_it(cluster: LocalCluster) -> None:
    code, out, err = cluster.kctl("create", "serviceaccount", "robot")
    assert (code, out, err) == (0, "serviceaccount/robot created\n", "")
    code, out, err = cluster.kctl("create", "token", "robot", "--duration", "15m",
                                  "--audience", "vault", "--audience", "api")
    assert code == 0, err
    c = claims(out.strip())
    assert c["sub"] == "system:serviceaccount:default:robot"
    assert c["aud"] == ["vault", "api"] and c["exp"] - c["iat"] == 900

    code, out, err = cluster.kctl("get", "sa")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["NAME", "SECRETS", "AGE"]
    assert out.splitlines()[1].split()[:2] == ["robot", "0"]
    code, out, err = cluster.kctl("describe", "sa", "robot")
    assert code == 0, err
    assert "Image pull secrets:  <none>" in out


def test_a_token_bound_to_a_pod_and_the_whole_request_as_json(cluster: LocalCluster) -> None:
    cluster.kctl("create", "sa", "robot")
    body = pod("worker", None)
    body["spec"]["serviceAccountName"] = "robot"
    made = cluster.ok("POST", f"{NS}/pods", body)
    code, out, err = cluster.kctl("create", "token", "robot", "--bound-object-kind", "Pod",
                                  "--bound-object-name", made["metadata"]["name"], "-o", "json")
    assert code == 0, err
    tr = orjson.loads(out)
    assert tr["kind"] == "TokenRequest"
    assert tr["spec"]["boundObjectRef"]["name"] == made["metadata"]["name"]
    assert claims(tr["status"]["token"])["kubernetes.io"]["pod"]["uid"] == made["metadata"][
        "uid"]


def test_kubectls_flag_errors(cluster: LocalCluster) -> None:
    code, _, err = cluster.kctl("create", "token", "robot", "--bound-object-kind", "Pod")
    assert code != 0 and "--bound-object-name is required" in err
    code, _, err = cluster.kctl("create", "token", "robot", "--duration", "soon")
    assert code != 0 and 'invalid argument "soon" for "--duration" flag' in err
    code, _, err = cluster.kctl("create", "token", "nobody")
    assert code != 0 and 'serviceaccounts "nobody" not found' in err


def test_describe_pod_prints_the_token_volume_as_kubectl(cluster: LocalCluster) -> None:
    from jetkube.services.apiserver.serviceaccounts import token_volume

    body = pod("api-user", None)
    body["spec"]["volumes"] = [token_volume("kube-api-access-b2c4d")]
    cluster.ok("POST", f"{NS}/pods", body)
    code, out, err = cluster.kctl("describe", "pod", "api-user")
    assert code == 0, err
    assert """Volumes:
  kube-api-access-b2c4d:
    Type:                    Projected (a volume that contains injected data from multiple sources)
    TokenExpirationSeconds:  3607
    ConfigMapName:           kube-root-ca.crt
    Optional:                false
    DownwardAPI:             true
""" in out
