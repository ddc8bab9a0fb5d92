"""A static token (``--token-file``) authenticates as its line's user, uid and groups,
with ``system:authenticated`` added, as kube-apiserver's token file does; any other
bearer is 401.  The user a token stands for is made once, not at every request (a frozen
dataclass a request was ~1.4 % of an HTTP create's instructions: bench/live_cost.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetkube.services.apiserver.auth import AUTHENTICATED, Authenticator, load_tokens
from jetkube.services.machinery.apimachinery import apierrors


def _authn(tmp_path: Path) -> Authenticator:
    f = tmp_path / "tokens.csv"
    f.write_text('t-admin,admin,1,"system:masters"\nt-ops,ops,2,"ops,dev"\nt-bare,bare\n')
    return Authenticator(load_tokens(f))


def test_each_token_is_its_users_name_uid_and_groups_with_authenticated(tmp_path: Path) -> None:
    authn = _authn(tmp_path)
    admin = authn.authenticate("Bearer t-admin")
    ops = authn.authenticate("bearer  t-ops ")
    bare = authn.authenticate("Bearer t-bare")
    assert (admin.name, admin.uid, admin.groups) == ("admin", "1", ("system:masters",
                                                                     AUTHENTICATED))
    assert (ops.name, ops.uid, ops.groups) == ("ops", "2", ("ops", "dev", AUTHENTICATED))
    assert (bare.name, bare.uid, bare.groups) == ("bare", "bare", (AUTHENTICATED,))


def test_a_tokens_user_is_made_once_not_at_every_request(tmp_path: Path) -> None:
    authn = _authn(tmp_path)
    assert authn.authenticate("Bearer t-ops") is authn.authenticate("Bearer t-ops")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer t-nobody", "Basic t-admin",
                                    "Bearer t-admin2", "Bearer t-admi"])
def test_anything_else_is_unauthorized(tmp_path: Path, header: str | None) -> None:
    with pytest.raises(apierrors.ApiError) as err:
        _authn(tmp_path).authenticate(header)
    assert err.value.code == 401
