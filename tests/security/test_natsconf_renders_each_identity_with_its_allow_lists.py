"""cli/natsconf.py: seed files (0600, kept), and a nats.conf that nats-server accepts,
naming each identity's public nkey with exactly its buspolicy allow-lists, quoted, in its
account (kube-apiserver-store alone in STORE, everyone else in BUS, linked by exactly
buspolicy's exports and imports), and admitting nobody else."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import nkeys  # type: ignore[import-untyped]
import pytest

from jetkube.cli import natsconf
from jetkube.cli.buspolicy import (
    BUS_ACCOUNT,
    CONTROL_PLANE_IDENTITIES,
    STORE_ACCOUNT,
    account_links,
    account_of,
    permissions,
)
from jetkube.services.machinery.apimachinery import APISERVER_STORE
from jetkube.services.machinery.store import nats_server_args

IDENTITIES = (*CONTROL_PLANE_IDENTITIES, "node:node-1")


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def render(tmp_path: Path, tls: bool = True) -> tuple[str, dict[str, str]]:
    users = {i: natsconf.public_key(natsconf.ensure_identity(tmp_path / "creds", i))
             for i in IDENTITIES}
    text = natsconf.render_nats_conf(
        host="127.0.0.1", port=4222, monitor_port=8222, store_dir=tmp_path / "js",
        server_name="jetkube-nats", bucket="jetkube", users=users,
        tls=(tmp_path / "nats.crt", tmp_path / "nats.key") if tls else None)
    return text, users


def user_blocks(text: str) -> dict[str, str]:
    """identity -> its rendered user block (each starts with a ``# <identity>`` line)."""
    parts = re.split(r"^ +# (\S+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def quoted_list(subjects: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in subjects) + "]"


def test_seed_files_are_private_user_seeds_kept_on_rerun(tmp_path: Path) -> None:
    seed = natsconf.ensure_identity(tmp_path / "creds", "node:node-1")
    assert seed == tmp_path / "creds" / "node:node-1.nk"
    assert mode(seed) == 0o600
    assert mode(tmp_path / "creds") == 0o700
    content = seed.read_bytes()
    assert content.startswith(b"SU")  # a user seed
    public = natsconf.public_key(seed)
    assert public == nkeys.from_seed(bytearray(content.strip())).public_key.decode()
    assert public.startswith("U") and len(public) == 56
    assert natsconf.ensure_identity(tmp_path / "creds", "node:node-1") == seed
    assert seed.read_bytes() == content
    other = natsconf.ensure_identity(tmp_path / "creds", "node:node-2")
    assert natsconf.public_key(other) != public


@pytest.mark.parametrize("bad", ["", "a.b", "../x", "a/b", "a b", "node:*", ">", ".hidden"])
def test_identities_that_are_no_subject_token_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="not a bus identity"):
        natsconf.ensure_identity(tmp_path, bad)
    assert not any(tmp_path.iterdir())


def test_conf_names_each_public_key_with_its_allow_lists(tmp_path: Path) -> None:
    text, users = render(tmp_path)
    blocks = user_blocks(text)
    assert sorted(blocks) == sorted(IDENTITIES)
    for identity, block in blocks.items():
        perms = permissions(identity, "jetkube")
        assert f'nkey: "{users[identity]}"' in block
        assert f"publish: {{ allow: {quoted_list(perms.publish)} }}" in block
        assert f"subscribe: {{ allow: {quoted_list(perms.subscribe)} }}" in block
        assert ("allow_responses: true" in block) == perms.allow_responses
    assert text.count("nkey:") == len(IDENTITIES)
    # the scheduler's reads name its resources in the consumer-create subject
    assert '"$JS.API.CONSUMER.CREATE.KV_jetkube.*.$KV.jetkube.pods.>"' in blocks["kube-scheduler"]
    assert '"_INBOX.node:node-1.>"' in blocks["node:node-1"]


def test_conf_admits_nobody_else(tmp_path: Path) -> None:
    text, _ = render(tmp_path)
    for anonymous in ("no_auth_user", "user:", "password", "token", "authorization"):
        assert anonymous not in text
    assert re.search(r"^accounts \{", text, flags=re.M)  # users exist only in its accounts
    assert text.count("users = [") == 2


def accounts(text: str) -> dict[str, str]:
    """account name -> its rendered block (``  <NAME>: {`` up to the next one)."""
    parts = re.split(r"^  ([A-Z]+): \{\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_conf_puts_the_store_identity_alone_in_store_linked_to_bus_by_the_mirrors_needs(
        tmp_path: Path) -> None:
    text, users = render(tmp_path)
    blocks = accounts(text)
    assert sorted(blocks) == [BUS_ACCOUNT, STORE_ACCOUNT]
    assert [account_of(i) for i in IDENTITIES].count(STORE_ACCOUNT) == 1
    for identity in IDENTITIES:
        home = STORE_ACCOUNT if identity == APISERVER_STORE else BUS_ACCOUNT
        assert account_of(identity) == home
        assert f'nkey: "{users[identity]}"' in blocks[home], identity
        other = BUS_ACCOUNT if home == STORE_ACCOUNT else STORE_ACCOUNT
        assert users[identity] not in blocks[other], identity
    for block in blocks.values():
        assert "jetstream: enabled" in block
    links = account_links("jetkube")
    exports = re.findall(r"^      \{(service|stream): (\"[^\"]+\")", blocks[STORE_ACCOUNT], re.M)
    assert exports == [*(("service", f'"{store}"') for store, _ in links.services),
                       *(("stream", f'"{s}"') for s in links.streams)]
    imports = re.findall(r'subject: "([^"]+)"\}(?:, to: "([^"]+)")?\}$', blocks[BUS_ACCOUNT], re.M)
    assert imports == [*links.services, *((s, "") for s in links.streams)]
    # STORE's JetStream API crosses only as consumer creation on its two streams
    assert {bus for _, bus in links.services} == {
        "$JS.store.API.CONSUMER.CREATE.KV_jetkube", "$JS.store.API.CONSUMER.CREATE.KV_jetkube.>",
        "$JS.store.API.CONSUMER.CREATE.JETKUBE_NODE_PODS",
        "$JS.store.API.CONSUMER.CREATE.JETKUBE_NODE_PODS.>", "$JS.FC.>"}
    assert "exports" not in blocks[BUS_ACCOUNT] and "imports" not in blocks[STORE_ACCOUNT]


def test_every_subject_is_quoted(tmp_path: Path) -> None:
    text, _ = render(tmp_path)
    assert "$KV" in text and "$JS" in text
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert "$" not in unquoted and ">" not in unquoted and "*" not in unquoted
    for items in re.findall(r"allow: \[(.*)\]", text):
        assert all(re.fullmatch(r'"[^"]+"', item) for item in items.split(", ")), items


def test_tls_block_is_optional_and_asks_clients_for_nothing(tmp_path: Path) -> None:
    with_tls, _ = render(tmp_path)
    assert f'cert_file: "{tmp_path / "nats.crt"}"' in with_tls
    assert f'key_file: "{tmp_path / "nats.key"}"' in with_tls
    assert "verify: false" in with_tls
    without, _ = render(tmp_path, tls=False)
    assert "tls {" not in without and "cert_file" not in without


def test_values_with_quotes_are_escaped_and_control_characters_refused(tmp_path: Path) -> None:
    text = natsconf.render_nats_conf(
        host="127.0.0.1", port=1, monitor_port=2, store_dir=Path('/tmp/a "b"\\c'),
        server_name="s", bucket="jetkube", users={"admin": "U" + "A" * 55}, tls=None)
    assert r'store_dir: "/tmp/a \"b\"\\c"' in text
    with pytest.raises(ValueError, match="control character"):
        natsconf.render_nats_conf(host="127.0.0.1", port=1, monitor_port=2,
                                  store_dir=Path("/tmp/a\nb"), server_name="s", bucket="jetkube",
                                  users={"admin": "U" + "A" * 55}, tls=None)


def test_nats_server_accepts_the_rendered_conf(tmp_path: Path) -> None:
    text, _ = render(tmp_path, tls=False)  # -t checks the files named in tls {} too
    conf = tmp_path / "nats.conf"
    natsconf.write_nats_conf(conf, text)
    argv = nats_server_args(tmp_path, 4222, config=conf)
    assert argv[1:] == ["-c", str(conf)]
    check = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=20)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "is valid" in check.stdout + check.stderr


def test_conf_is_written_atomically_and_private(tmp_path: Path) -> None:
    conf = tmp_path / "nats.conf"
    natsconf.write_nats_conf(conf, "a: 1\n")
    assert mode(conf) == 0o600
    os.chmod(conf, 0o644)
    natsconf.write_nats_conf(conf, "a: 2\n")
    assert conf.read_text() == "a: 2\n"
    assert mode(conf) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["nats.conf"]  # no temporary left


def test_existing_call_sites_keep_the_flag_form(tmp_path: Path) -> None:
    argv = nats_server_args(tmp_path, 4222, http_port=8222)
    assert argv[1:] == ["-js", "-a", "127.0.0.1", "-p", "4222", "-sd", str(tmp_path), "-m", "8222"]


def test_the_architecture_doc_lists_each_identitys_allow_lists() -> None:
    """docs/architecture.md's permission table is the code's (buspolicy.permissions)."""
    from jetkube.cli.buspolicy import CONTROL_PLANE_IDENTITIES, account_of, permissions

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in doc.splitlines()
            if line.startswith("| `")}
    for identity in (*CONTROL_PLANE_IDENTITIES, "node:node-1"):
        assert identity in rows, identity
        cells = [c.strip() for c in rows[identity].split("|")[1:-1]]
        p = permissions(identity)
        assert cells[1] == account_of(identity), identity
        assert cells[3] == "<br>".join(f"`{s}`" for s in p.publish), identity
        assert cells[4] == "<br>".join(f"`{s}`" for s in p.subscribe), identity
        assert cells[5] == ("yes" if p.allow_responses else "no"), identity
