"""Command-line management of access: API tokens, agent permissions, group settings, SSO secrets.

``cobrowse token create --username U [--name N]`` prints a new API token once (only its hash is stored);
``cobrowse token list [--username U]`` / ``token revoke --id N``; ``cobrowse agent set-permissions
--username U [--permission P ...]``; ``cobrowse group settings --id G [--allowed-origin O ...] [--mixed-roles
yes|no] [--max-live-sessions N] [--trusted-domain O ...]``; ``cobrowse group sso-secret --id G`` sets a new
secret for signed login keys and prints it. Changes made here are audited with the actor ``cli``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from .cli import UsageError, _Parser, _print_json, _print_table, _run, _when
from .config import Config
from .permissions import PERMISSIONS
from .store import Agent, Group, Store

Handler = Callable[[argparse.Namespace, Config], int]
Leaf = Callable[[Any, str, str, Handler], Any]


def register(commands: Any, group: Any, agent: Any, leaf: Leaf) -> None:
    """Add the commands to the parsers of ``build_parser`` (``commands``, ``group`` and ``agent``)."""
    token = commands.add_parser("token", help="REST API tokens").add_subparsers(
        dest="token_command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    create = leaf(token, "create", "create an API token for an agent (printed once)", _token_create)
    create.add_argument("--username", required=True)
    create.add_argument("--name", default="", help="what the token is for")
    create.add_argument("--json", action="store_true")
    listing = leaf(token, "list", "list API tokens (never the tokens themselves)", _token_list)
    listing.add_argument("--username", help="only this agent's tokens")
    listing.add_argument("--json", action="store_true")
    leaf(token, "revoke", "revoke an API token", _token_revoke).add_argument("--id", type=int, required=True)

    perms = leaf(agent, "set-permissions", "replace an agent's permissions", _agent_permissions)
    perms.add_argument("--username", required=True)
    perms.add_argument(
        "--permission",
        dest="permissions",
        action="append",
        default=[],
        choices=PERMISSIONS,
        help="a permission to give (repeat); none given: no permissions",
    )
    perms.add_argument("--json", action="store_true")

    settings = leaf(group, "settings", "show or change a group's settings", _group_settings)
    settings.add_argument("--id", type=int, required=True, help="group id")
    settings.add_argument("--allowed-origin", action="append", metavar="ORIGIN", help="visitor page origin")
    settings.add_argument("--any-origin", action="store_true", help="clear the origin list: any origin")
    settings.add_argument("--mixed-roles", choices=["yes", "no"], help="may agents of different roles mix")
    settings.add_argument("--max-live-sessions", type=int, metavar="N", help="0: no limit")
    settings.add_argument("--trusted-domain", action="append", metavar="ORIGIN")
    settings.add_argument("--json", action="store_true")
    secret = leaf(group, "sso-secret", "set a new secret for the group's signed login keys", _group_sso)
    secret.add_argument("--id", type=int, required=True, help="group id")


async def _agent(store: Store, username: str) -> Agent:
    agent = await store.get_agent_by_username(username)
    if agent is None:
        raise UsageError(f"no agent with username {username!r}")
    return agent


def _token_create(args: argparse.Namespace, config: Config) -> int:
    async def action(store: Store) -> tuple[Any, str]:
        return await store.create_token((await _agent(store, args.username)).id, args.name)

    record, token = _run(config, action)
    if args.json:
        print(json.dumps({"id": record.id, "prefix": record.prefix, "token": token}))
    else:
        print(
            f"API token {record.id} for {args.username!r} (shown only now; send as 'Authorization: Bearer'):"
        )
        print(token)
    return 0


def _token_list(args: argparse.Namespace, config: Config) -> int:
    async def action(store: Store) -> list[Any]:
        owner = (await _agent(store, args.username)).id if args.username else None
        return await store.list_tokens(owner)

    tokens = _run(config, action)
    if args.json:
        _print_json(tokens)
        return 0
    rows = [
        (
            t.id,
            t.agent_id,
            t.prefix + "...",
            t.name,
            _when(t.created_at),
            _when(t.last_used_at),
            _when(t.revoked_at),
        )
        for t in tokens
    ]
    _print_table(["ID", "AGENT", "TOKEN", "NAME", "CREATED", "LAST USED", "REVOKED"], rows)
    return 0


def _token_revoke(args: argparse.Namespace, config: Config) -> int:
    _run(config, lambda store: store.revoke_token(args.id))
    print(f"API token {args.id} revoked")
    return 0


def _agent_permissions(args: argparse.Namespace, config: Config) -> int:
    async def action(store: Store) -> Agent:
        return await store.set_permissions((await _agent(store, args.username)).id, args.permissions)

    agent = _run(config, action)
    if args.json:
        _print_json(agent)
    else:
        print(f"permissions of {agent.username!r}: {', '.join(agent.permissions) or '(none)'}")
    return 0


def _group_settings(args: argparse.Namespace, config: Config) -> int:
    if args.any_origin and args.allowed_origin:
        raise UsageError("--any-origin and --allowed-origin exclude each other")
    origins = [] if args.any_origin else args.allowed_origin
    mixed = None if args.mixed_roles is None else args.mixed_roles == "yes"
    changing = any(x is not None for x in (origins, mixed, args.max_live_sessions, args.trusted_domain))

    async def action(store: Store) -> Group:
        if changing:
            return await store.set_group_options(
                args.id,
                allowed_origins=origins,
                allow_mixed_roles=mixed,
                max_live_sessions=args.max_live_sessions,
                trusted_domains=args.trusted_domain,
            )
        group = await store.get_group(args.id)
        if group is None:
            raise UsageError(f"no group with id {args.id}")
        return group

    group = _run(config, action)
    if args.json:
        _print_json(group)
        return 0
    print(f"group {group.id} {group.name!r}{' (updated)' if changing else ''}:")
    print(f"  allowed origins:   {', '.join(group.allowed_origins) or '(any)'}")
    print(f"  mixed roles:       {'yes' if group.allow_mixed_roles else 'no'}")
    print(f"  max live sessions: {group.max_live_sessions or '(no limit)'}")
    print(f"  trusted domains:   {', '.join(group.trusted_domains) or '(none)'}")
    print(f"  single sign-on:    {'on' if group.sso_enabled else 'off'}")
    return 0


def _group_sso(args: argparse.Namespace, config: Config) -> int:
    secret = _run(config, lambda store: store.rotate_sso_secret(args.id))
    print(f"new login key secret of group {args.id} (keys signed with the old one no longer work):")
    print(secret)
    return 0
