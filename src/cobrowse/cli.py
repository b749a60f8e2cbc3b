"""The ``cobrowse`` command: run the server or the demo, migrate the database, manage groups and agents.

Settings come from :func:`cobrowse.config.load_config` (defaults < ``--config`` file < ``COBROWSE_*``
environment < flags). The global flags ``--config``, ``--data-dir`` and ``--database-url`` may be given before
or after the subcommand. Every error a user can cause (bad flag, bad value, unknown group, duplicate
username, unreachable database) ends with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import msgspec
from sqlalchemy.exc import SQLAlchemyError

from .config import LOG_FORMATS, LOG_LEVELS, Config, load_config
from .protocol.masking import parse_masking_config
from .store import Store
from .store.migrate import head_revision

T = TypeVar("T")
PROG = "cobrowse"


class UsageError(Exception):
    """A command line argparse refused, or a user error found while running a command."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _global_flags(parser: argparse.ArgumentParser, default: Any) -> None:
    group = parser.add_argument_group("global options")
    group.add_argument("--config", metavar="FILE", default=default, help="TOML settings file")
    group.add_argument("--data-dir", metavar="DIR", default=default, help="directory of the default database")
    group.add_argument("--database-url", metavar="URL", default=default, help="SQLAlchemy database URL")


def _logging_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="log level (default info)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, help="text (default) or json, one object a line")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Self-hosted co-browsing server.")
    _global_flags(parser, None)
    common = _Parser(add_help=False)
    _global_flags(common, argparse.SUPPRESS)  # repeated after the subcommand without resetting earlier ones
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def leaf(sub: Any, name: str, help: str, handler: Callable[[argparse.Namespace, Config], int]) -> Any:
        command = sub.add_parser(name, help=help, description=help, parents=[common])
        command.set_defaults(handler=handler)
        return command

    serve = leaf(commands, "serve", "run the server", _serve)
    serve.add_argument("--host", help="address to listen on (default from the configuration: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    _logging_flags(serve)
    serve.add_argument(
        "--drain-seconds",
        type=float,
        metavar="S",
        help="on SIGTERM, report not ready for S seconds before shutting down (default 0)",
    )

    demo = leaf(commands, "demo", "run the server and the demo website, with a demo agent", _demo)
    demo.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    demo.add_argument("--port", type=int, help="server port (default 8000)")
    demo.add_argument("--site-port", type=int, default=8001, help="demo website port (default 8001)")
    demo.add_argument("--site-pages", metavar="DIR", type=Path, help="extra pages for the demo website")
    _logging_flags(demo)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    leaf(db, "upgrade", "bring the database schema up to date", _db_upgrade)
    leaf(db, "current", "show the database schema revision", _db_current)

    group = commands.add_parser("group", help="customer groups").add_subparsers(
        dest="group_command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    create = leaf(group, "create", "create a group", _group_create)
    create.add_argument("--name", required=True, help="group name")
    create.add_argument("--id", type=int, help="numeric group id (data-groupid); default: next free id")
    create.add_argument("--json", action="store_true", help="print the group as JSON")
    leaf(group, "list", "list groups", _group_list).add_argument("--json", action="store_true")
    masking = leaf(
        group,
        "masking",
        "show or set a group's masking rules (each option given replaces that list)",
        _group_masking,
    )
    masking.add_argument("--id", type=int, required=True, help="group id")
    masking.add_argument(
        "--selector", action="append", metavar="CSS", help="masked element selector (repeat)"
    )
    masking.add_argument(
        "--allow", action="append", metavar="GLOB", help="URL pattern of unmasked pages (repeat)"
    )
    masking.add_argument(
        "--deny", action="append", metavar="GLOB", help="URL pattern of masked pages (repeat)"
    )
    masking.add_argument("--clear", action="store_true", help="start from no rules")
    masking.add_argument("--json", action="store_true", help="print the rules as JSON")

    agent = commands.add_parser("agent", help="agent accounts").add_subparsers(
        dest="agent_command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    create = leaf(
        agent, "create", "create an agent (password from --password, stdin or a prompt)", _agent_create
    )
    create.add_argument("--username", required=True)
    create.add_argument(
        "--group",
        dest="groups",
        type=int,
        action="append",
        required=True,
        metavar="ID",
        help="group the agent works in (repeat for several)",
    )
    create.add_argument("--name", help="display name (default: the username)")
    create.add_argument("--title", default="")
    create.add_argument("--agentrole")
    create.add_argument("--partnerid")
    create.add_argument("--partneruserid")
    create.add_argument("--admin", action="store_true", help="administrator")
    create.add_argument(
        "--password", help="the password (seen in process lists; else read from stdin or prompted)"
    )
    create.add_argument("--json", action="store_true", help="print the agent as JSON")
    leaf(agent, "list", "list agents", _agent_list).add_argument("--json", action="store_true")
    passwd = leaf(agent, "passwd", "set an agent's password", _agent_passwd)
    passwd.add_argument("--username", required=True)
    passwd.add_argument("--password", help="the new password (else read from stdin or prompted)")

    from .cli_accounts import register  # tokens, permissions, group settings (it builds on this module)

    register(commands, group, agent, leaf)
    return parser


# --- running the store ---


async def _with_store(config: Config, action: Callable[[Store], Awaitable[T]], migrate: bool = True) -> T:
    store = await Store.open(config.effective_database_url)
    try:
        if migrate:
            if config.auto_migrate:
                await store.upgrade()
            else:
                current, head = await store.current_revision(), head_revision()
                if current != head:
                    raise UsageError(
                        f"the database schema is at revision {current or 'none'}, not {head}: "
                        "run 'cobrowse db upgrade' (auto_migrate is off)"
                    )
        return await action(store)
    finally:
        await store.close()


def _run(config: Config, action: Callable[[Store], Awaitable[T]], migrate: bool = True) -> T:
    return asyncio.run(_with_store(config, action, migrate))


# --- output ---


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _print_json(value: Any) -> None:
    if isinstance(value, list):
        data: Any = [_jsonable(dataclasses.asdict(v)) for v in value]
    else:
        data = _jsonable(dataclasses.asdict(value))
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _read_password(given: str | None) -> str:
    """``--password``, else the first line of stdin when it is not a terminal, else a prompt asked twice."""
    if given is not None:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("no password: give --password, a line on stdin, or run in a terminal")
        return line
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UsageError("the two passwords differ")
    return first


# --- commands ---


def _serve(args: argparse.Namespace, config: Config) -> int:
    from cobrowse.ops.serve import run

    run(config)
    return 0


def _demo(args: argparse.Namespace, config: Config) -> int:
    from cobrowse.demo import run_demo
    from cobrowse.ops.logs import configure_logging

    configure_logging(config.log_level, config.log_format)  # before the demo's own (then a no-op) set-up
    run_demo(config, site_port=args.site_port, site_pages=args.site_pages)
    return 0


def _db_upgrade(args: argparse.Namespace, config: Config) -> int:
    async def action(store: Store) -> str | None:
        await store.upgrade()
        return await store.current_revision()

    revision = _run(config, action, migrate=False)
    print(f"database schema at revision {revision} (head)")
    return 0


def _db_current(args: argparse.Namespace, config: Config) -> int:
    async def action(store: Store) -> str | None:
        return await store.current_revision()

    current, head = _run(config, action, migrate=False), head_revision()
    if current is None:
        print(f"none (empty database; 'cobrowse db upgrade' brings it to {head})")
    elif current == head:
        print(f"{current} (head)")
    else:
        print(f"{current} (head is {head}; run 'cobrowse db upgrade')")
    return 0


def _group_create(args: argparse.Namespace, config: Config) -> int:
    group = _run(config, lambda store: store.create_group(args.name, args.id))
    if args.json:
        _print_json(group)
    else:
        print(f"created group {group.id} {group.name!r}")
    return 0


def _group_list(args: argparse.Namespace, config: Config) -> int:
    groups = _run(config, lambda store: store.list_groups())
    if args.json:
        _print_json(groups)
    else:
        _print_table(["ID", "NAME", "CREATED"], [(g.id, g.name, _when(g.created_at)) for g in groups])
    return 0


def _group_masking(args: argparse.Namespace, config: Config) -> int:
    changing = args.clear or any(x is not None for x in (args.selector, args.allow, args.deny))

    async def action(store: Store) -> dict[str, Any]:
        group = await store.get_group(args.id)
        if group is None:
            raise UsageError(f"no group with id {args.id}")
        current: dict[str, Any] = {} if args.clear else dict(group.settings.get("masking") or {})
        if not changing:
            return current
        pages = dict(current.get("pages") or {})
        if args.allow is not None:
            pages["allow"] = args.allow
        if args.deny is not None:
            pages["deny"] = args.deny
        if args.selector is not None:
            current["selectors"] = args.selector
        current["pages"] = pages
        try:
            rules = msgspec.to_builtins(parse_masking_config(current))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        await store.set_group_settings(args.id, {**group.settings, "masking": rules})
        return dict(rules)

    rules = _run(config, action)
    if args.json:
        print(json.dumps(rules, indent=2))
    else:
        pages = rules.get("pages") or {}
        print(f"group {args.id} masking rules{' (updated)' if changing else ''}:")
        print(f"  masked elements: {', '.join(rules.get('selectors') or []) or '(none)'}")
        print(f"  masked pages:    {', '.join(pages.get('deny') or []) or '(none)'}")
        print(f"  unmasked pages:  {', '.join(pages.get('allow') or []) or '(all not masked)'}")
    return 0


def _agent_create(args: argparse.Namespace, config: Config) -> int:
    password = _read_password(args.password)
    agent = _run(
        config,
        lambda store: store.create_agent(
            args.username,
            password,
            name=args.name if args.name is not None else args.username,
            groups=args.groups,
            title=args.title,
            agentrole=args.agentrole,
            partnerid=args.partnerid,
            partneruserid=args.partneruserid,
            is_admin=args.admin,
        ),
    )
    if args.json:
        _print_json(agent)
    else:
        groups = ",".join(map(str, agent.group_ids))
        print(f"created agent {agent.id} {agent.username!r} in group(s) {groups}")
    return 0


def _agent_list(args: argparse.Namespace, config: Config) -> int:
    agents = _run(config, lambda store: store.list_agents())
    if args.json:
        _print_json(agents)
        return 0
    rows = [
        (
            a.id,
            a.username,
            a.name,
            a.title,
            ",".join(map(str, a.group_ids)),
            a.agentrole or "",
            "yes" if a.is_admin else "",
        )
        for a in agents
    ]
    _print_table(["ID", "USERNAME", "NAME", "TITLE", "GROUPS", "ROLE", "ADMIN"], rows)
    return 0


def _agent_passwd(args: argparse.Namespace, config: Config) -> int:
    password = _read_password(args.password)

    async def action(store: Store) -> None:
        agent = await store.get_agent_by_username(args.username)
        if agent is None:
            raise UsageError(f"no agent with username {args.username!r}")
        await store.set_password(agent.id, password)

    _run(config, action)
    print(f"password of {args.username!r} changed")
    return 0


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 user error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help(sys.stderr)
            return 2
        config = load_config(
            args.config,
            data_dir=args.data_dir,
            database_url=args.database_url,
            **{k: getattr(args, k, None) for k in ("host", "port", "log_level", "log_format", "drain_seconds")},
        )
        handler: Callable[[argparse.Namespace, Config], int] = args.handler
        return handler(args, config)
    except UsageError as exc:
        return _fail(str(exc))
    except ValueError as exc:  # includes ConfigError; the store's messages are written for users
        return _fail(str(exc))
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        return _fail(f"database: {str(detail).splitlines()[0]}")
    except OSError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
