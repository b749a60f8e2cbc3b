"""The ``cobrowse`` command line: db, group and agent commands, run in-process and as the installed script.

User errors must end with exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cobrowse.cli import main
from cobrowse.store import Agent, Store
from cobrowse.store.migrate import head_revision

COBROWSE = Path(sys.executable).parent / "cobrowse"

# The CLI's defaults are the embedded SQLite file in --data-dir (what these tests check, file and all); the
# commands themselves on PostgreSQL are covered by tests/test_cli_accounts.py and the store tests.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come only from each test's flags, never from the developer's environment."""
    for name in list(os.environ):
        if name.startswith("COBROWSE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    return str(tmp_path / "data")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, message: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("cobrowse: error: "), err
    assert message in err
    assert "Traceback" not in err


def authenticate(data_dir: str, username: str, password: str) -> Agent | None:
    url = f"sqlite+aiosqlite:///{Path(data_dir).resolve() / 'cobrowse.db'}"

    async def check() -> Agent | None:
        store = await Store.open(url)
        try:
            return await store.authenticate(username, password)
        finally:
            await store.close()

    return asyncio.run(check())


# --- db ---


def test_db_current_then_upgrade(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    code, out, _ = run(capsys, "--data-dir", data_dir, "db", "current")
    assert code == 0 and out.startswith("none (empty database")
    code, out, _ = run(capsys, "--data-dir", data_dir, "db", "upgrade")
    head = head_revision()
    assert head is not None and head >= "0003"
    assert (code, out) == (0, f"database schema at revision {head} (head)\n")
    assert (Path(data_dir) / "cobrowse.db").is_file()
    code, out, _ = run(capsys, "--data-dir", data_dir, "db", "current")
    assert (code, out) == (0, f"{head} (head)\n")


def test_database_url_flag_and_options_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}"
    assert run(capsys, "group", "create", "--name", "G", "--database-url", url)[0] == 0
    assert (tmp_path / "elsewhere.db").is_file()
    code, out, _ = run(capsys, "--database-url", url, "group", "list", "--json")
    assert code == 0 and [g["name"] for g in json.loads(out)] == ["G"]


def test_config_file_supplies_the_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "cobrowse.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-file"}"\n')
    assert run(capsys, "--config", str(config), "group", "create", "--name", "G")[0] == 0
    assert (tmp_path / "from-file" / "cobrowse.db").is_file()


def test_without_auto_migrate_an_empty_database_is_an_error(
    capsys: pytest.CaptureFixture[str], data_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COBROWSE_AUTO_MIGRATE", "false")
    code, _, err = run(capsys, "--data-dir", data_dir, "group", "list")
    assert_user_error(code, err, "run 'cobrowse db upgrade'")
    assert run(capsys, "--data-dir", data_dir, "db", "upgrade")[0] == 0
    assert run(capsys, "--data-dir", data_dir, "group", "list")[0] == 0


# --- groups ---


def test_group_create_and_list(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    code, out, _ = run(capsys, "--data-dir", data_dir, "group", "create", "--name", "Demo", "--id", "1")
    assert (code, out) == (0, "created group 1 'Demo'\n")
    code, out, _ = run(capsys, "--data-dir", data_dir, "group", "create", "--name", "Sales team", "--json")
    assert code == 0 and json.loads(out)["id"] == 2 and json.loads(out)["name"] == "Sales team"

    code, out, _ = run(capsys, "--data-dir", data_dir, "group", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["ID", "NAME", "CREATED"]
    assert lines[1].startswith("1   Demo ") and lines[2].startswith("2   Sales team ")
    code, out, _ = run(capsys, "--data-dir", data_dir, "group", "list", "--json")
    assert [(g["id"], g["name"], g["settings"]) for g in json.loads(out)] == [
        (1, "Demo", {}),
        (2, "Sales team", {}),
    ]


def test_group_errors(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    run(capsys, "--data-dir", data_dir, "group", "create", "--name", "Demo", "--id", "1")
    assert_user_error(
        *run(capsys, "--data-dir", data_dir, "group", "create", "--name", "X", "--id", "1")[::2],
        "group 1 already exists",
    )
    assert_user_error(
        *run(capsys, "--data-dir", data_dir, "group", "create", "--name", "")[::2], "group name is empty"
    )
    assert_user_error(*run(capsys, "group", "create", "--name", "X", "--id", "one")[::2], "invalid int value")
    assert_user_error(*run(capsys, "group", "create")[::2], "required: --name")


# --- agents ---


def _with_groups(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    for gid in ("1", "2"):
        assert (
            run(capsys, "--data-dir", data_dir, "group", "create", "--name", f"G{gid}", "--id", gid)[0] == 0
        )


def test_agent_create_with_password_flag(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    _with_groups(capsys, data_dir)
    code, out, _ = run(
        capsys,
        "--data-dir",
        data_dir,
        "agent",
        "create",
        "--username",
        "alice",
        "--group",
        "1",
        "--group",
        "2",
        "--name",
        "Alice A",
        "--title",
        "Lead",
        "--agentrole",
        "supervisor",
        "--admin",
        "--password",
        "correct horse",
    )
    assert (code, out) == (0, "created agent 1 'alice' in group(s) 1,2\n")
    agent = authenticate(data_dir, "alice", "correct horse")
    assert agent is not None
    assert (agent.name, agent.title, agent.agentrole, agent.is_admin, agent.group_ids) == (
        "Alice A",
        "Lead",
        "supervisor",
        True,
        (1, 2),
    )


def test_agent_create_reads_the_password_from_stdin(
    capsys: pytest.CaptureFixture[str], data_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_groups(capsys, data_dir)
    monkeypatch.setattr(sys, "stdin", io.StringIO("from stdin pw\n"))
    code, out, _ = run(
        capsys, "--data-dir", data_dir, "agent", "create", "--username", "bob", "--group", "1", "--json"
    )
    assert code == 0
    created = json.loads(out)
    assert (created["username"], created["name"], created["group_ids"]) == ("bob", "bob", [1])
    assert "password" not in out
    assert authenticate(data_dir, "bob", "from stdin pw") is not None


def test_agent_create_errors(
    capsys: pytest.CaptureFixture[str], data_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_groups(capsys, data_dir)
    base = ("--data-dir", data_dir, "agent", "create")
    assert run(capsys, *base, "--username", "alice", "--group", "1", "--password", "correct horse")[0] == 0
    cases = [
        (
            ("--username", "alice", "--group", "1", "--password", "correct horse"),
            "username 'alice' already exists",
        ),
        (("--username", "carol", "--group", "9", "--password", "correct horse"), "unknown group 9"),
        (("--username", "carol", "--group", "1", "--password", "short"), "too short"),
        (("--username", "bad name", "--group", "1", "--password", "correct horse"), "invalid username"),
        (("--username", "carol", "--password", "correct horse"), "required: --group"),
    ]
    for args, message in cases:
        assert_user_error(*run(capsys, *base, *args)[::2], message)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert_user_error(*run(capsys, *base, "--username", "carol", "--group", "1")[::2], "no password")
    code, out, _ = run(capsys, "--data-dir", data_dir, "agent", "list", "--json")
    assert [a["username"] for a in json.loads(out)] == ["alice"]


def test_agent_list_table(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    _with_groups(capsys, data_dir)
    run(
        capsys,
        "--data-dir",
        data_dir,
        "agent",
        "create",
        "--username",
        "alice",
        "--group",
        "1",
        "--group",
        "2",
        "--name",
        "Alice A",
        "--title",
        "Lead",
        "--admin",
        "--password",
        "correct horse",
    )
    run(
        capsys,
        "--data-dir",
        data_dir,
        "agent",
        "create",
        "--username",
        "bob",
        "--group",
        "2",
        "--password",
        "correct horse",
    )
    code, out, _ = run(capsys, "--data-dir", data_dir, "agent", "list")
    rows = [line.split() for line in out.splitlines()]
    assert code == 0
    assert rows == [
        ["ID", "USERNAME", "NAME", "TITLE", "GROUPS", "ROLE", "ADMIN"],
        ["1", "alice", "Alice", "A", "Lead", "1,2", "yes"],
        ["2", "bob", "bob", "2"],
    ]


def test_agent_passwd(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    _with_groups(capsys, data_dir)
    run(
        capsys,
        "--data-dir",
        data_dir,
        "agent",
        "create",
        "--username",
        "alice",
        "--group",
        "1",
        "--password",
        "correct horse",
    )
    code, out, _ = run(
        capsys,
        "--data-dir",
        data_dir,
        "agent",
        "passwd",
        "--username",
        "alice",
        "--password",
        "battery staple",
    )
    assert (code, out) == (0, "password of 'alice' changed\n")
    assert authenticate(data_dir, "alice", "correct horse") is None
    assert authenticate(data_dir, "alice", "battery staple") is not None
    assert_user_error(
        *run(
            capsys,
            "--data-dir",
            data_dir,
            "agent",
            "passwd",
            "--username",
            "nobody",
            "--password",
            "battery staple",
        )[::2],
        "no agent with username 'nobody'",
    )
    assert_user_error(
        *run(capsys, "--data-dir", data_dir, "agent", "passwd", "--username", "alice", "--password", "short")[
            ::2
        ],
        "too short",
    )


# --- usage and configuration errors ---


def test_usage_errors_are_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert_user_error(*run(capsys, "frobnicate")[::2], "invalid choice: 'frobnicate'")
    assert_user_error(*run(capsys, "group")[::2], "the following arguments are required")
    assert_user_error(*run(capsys, "serve", "--port", "http")[::2], "invalid int value")
    code, _, err = run(capsys)
    assert code == 2 and "usage: cobrowse" in err


def test_bad_settings_are_reported_clearly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert_user_error(*run(capsys, "--database-url", "nosuchdb://x", "group", "list")[::2], "unknown dialect")
    assert_user_error(
        *run(capsys, "--config", str(tmp_path / "missing.toml"), "group", "list")[::2],
        "cannot read config file",
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_setting = 1\n")
    assert_user_error(
        *run(capsys, "--config", str(bad), "group", "list")[::2], "unknown setting 'no_such_setting'"
    )


def test_demo_with_a_missing_pages_folder_is_a_user_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-pages"
    code, _, err = run(
        capsys,
        "--data-dir",
        str(tmp_path),
        "demo",
        "--port",
        "0",
        "--site-port",
        "0",
        "--site-pages",
        str(missing),
    )
    assert_user_error(code, err, str(missing))


# --- the installed script ---


def test_installed_script_and_python_m(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COBROWSE_")}
    data = str(tmp_path / "data")
    done = subprocess.run(
        [str(COBROWSE), "--data-dir", data, "group", "create", "--name", "Demo", "--id", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "created group 1 'Demo'\n", "")
    done = subprocess.run(
        [str(COBROWSE), "--data-dir", data, "agent", "create", "--username", "u", "--group", "1"],
        input="stdin password\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert authenticate(data, "u", "stdin password") is not None

    done = subprocess.run(
        [str(COBROWSE), "--data-dir", data, "group", "create", "--name", "Again", "--id", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (2, "cobrowse: error: group 1 already exists\n")

    done = subprocess.run(
        [sys.executable, "-m", "cobrowse", "--data-dir", data, "group", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0 and [g["id"] for g in json.loads(done.stdout)] == [1]


def test_group_masking_shows_sets_and_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--data-dir", str(tmp_path)]
    assert main([*base, "group", "create", "--name", "Bank", "--id", "3"]) == 0
    assert main([*base, "group", "masking", "--id", "3", "--selector", "#card", "--deny", "*/account/*"]) == 0
    capsys.readouterr()
    assert main([*base, "group", "masking", "--id", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "selectors": ["#card"],
        "pages": {"allow": [], "deny": ["*/account/*"]},
    }
    assert (
        main([*base, "group", "masking", "--id", "3", "--allow", "https://bank.example/*"]) == 0
    )  # keeps the rest
    capsys.readouterr()
    assert main([*base, "group", "masking", "--id", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["selectors"] == ["#card"]
    assert main([*base, "group", "masking", "--id", "3", "--selector", "a{b}"]) == 2
    assert "no braces" in capsys.readouterr().err
    assert main([*base, "group", "masking", "--id", "99"]) == 2
    assert main([*base, "group", "masking", "--id", "3", "--clear", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"selectors": [], "pages": {"allow": [], "deny": []}}
