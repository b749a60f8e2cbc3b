"""``cobrowse token``, ``agent set-permissions``, ``group settings`` and ``group sso-secret``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cobrowse.cli import main
from cobrowse.store import Store
from support.test_database import database_for


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("COBROWSE_DATABASE_URL", "COBROWSE_DATA_DIR", "COBROWSE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    path = str(tmp_path / "data")
    assert main(["--data-dir", path, "group", "create", "--name", "G", "--id", "1"]) == 0
    assert (
        main(
            [
                "--data-dir",
                path,
                "agent",
                "create",
                "--username",
                "u",
                "--group",
                "1",
                "--password",
                "pw-123456",
            ]
        )
        == 0
    )
    return path


def run(capsys: pytest.CaptureFixture[str], data_dir: str, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--data-dir", data_dir, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_token_create_list_revoke(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    code, out, _ = run(capsys, data_dir, "token", "create", "--username", "u", "--name", "crm", "--json")
    created = json.loads(out)
    assert code == 0 and created["token"].startswith("cbt_") and created["prefix"] == created["token"][:12]

    url = database_for(data_dir) or f"sqlite+aiosqlite:///{Path(data_dir).resolve() / 'cobrowse.db'}"

    async def owner(token: str) -> str | None:
        async with await Store.open(url) as store:
            agent = await store.agent_for_token(token)
            return agent.username if agent else None

    assert asyncio.run(owner(created["token"])) == "u"
    code, out, _ = run(capsys, data_dir, "token", "list", "--json")
    assert code == 0 and created["token"] not in out and json.loads(out)[0]["name"] == "crm"
    assert run(capsys, data_dir, "token", "revoke", "--id", str(created["id"]))[0] == 0
    assert asyncio.run(owner(created["token"])) is None
    code, _, err = run(capsys, data_dir, "token", "create", "--username", "nobody")
    assert code == 2 and "no agent with username 'nobody'" in err


def test_agent_set_permissions(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    code, out, _ = run(
        capsys,
        data_dir,
        "agent",
        "set-permissions",
        "--username",
        "u",
        "--permission",
        "admin",
        "--permission",
        "view",
    )
    assert (code, out) == (0, "permissions of 'u': view, admin\n")
    code, out, _ = run(capsys, data_dir, "agent", "set-permissions", "--username", "u", "--json")
    assert code == 0 and json.loads(out)["permissions"] == [] and json.loads(out)["is_admin"] is False
    code, _, err = run(capsys, data_dir, "agent", "set-permissions", "--username", "u", "--permission", "fly")
    assert code == 2 and "invalid choice: 'fly'" in err


def test_group_settings_and_sso_secret(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    code, out, _ = run(
        capsys,
        data_dir,
        "group",
        "settings",
        "--id",
        "1",
        "--allowed-origin",
        "HTTPS://Shop.Example:443",
        "--mixed-roles",
        "yes",
        "--max-live-sessions",
        "5",
        "--json",
    )
    group = json.loads(out)
    assert code == 0
    assert (group["allowed_origins"], group["allow_mixed_roles"], group["max_live_sessions"]) == (
        ["https://shop.example"],
        True,
        5,
    )
    code, _, err = run(capsys, data_dir, "group", "settings", "--id", "1", "--allowed-origin", "shop.example")
    assert code == 2 and "invalid origin 'shop.example'" in err
    code, out, _ = run(
        capsys, data_dir, "group", "settings", "--id", "1", "--any-origin", "--max-live-sessions", "0"
    )
    assert code == 0 and "allowed origins:   (any)" in out and "(no limit)" in out
    code, out, _ = run(capsys, data_dir, "group", "sso-secret", "--id", "1")
    assert code == 0 and len(out.splitlines()[1]) >= 40
    code, out, _ = run(capsys, data_dir, "group", "settings", "--id", "1")
    assert "single sign-on:    on" in out
    assert run(capsys, data_dir, "group", "sso-secret", "--id", "9")[2].startswith(
        "cobrowse: error: no group with id 9"
    )
