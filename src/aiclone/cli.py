"""The ``aiclone`` command: serve, migrations and admin commands.

Command-line options override the matching ``AICLONE_*`` variables by setting them in the
environment, so every server worker process (which builds its own app from the environment)
sees the same configuration.

Exit status, the same for every command (each one's ``--help`` repeats it): 0 done; 1 the
command failed and said why in one line on stderr (a bad setting, an unknown migration
revision, a refused change, a missing optional server); 2 a bad command line (argparse's own
status); ``serve`` also exits 3 when the HTTP server could not start (the port is taken, say).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib.metadata
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from aiclone import migrate
from aiclone.collector import pause_until_frozen
from aiclone.serving import SERVERS, EdgeTimings, run_server
from aiclone.settings import Settings, SettingsError, load_settings, var
from aiclone.web.logs import configure_process_logging

if TYPE_CHECKING:  # imported on use, so `aiclone --help` stays light
    from aiclone.container import Services

APP_FACTORY = "aiclone.app:create_app_from_env"

EXIT_CODES = "exit status: 0 done; 1 failed (the reason is one line on stderr); 2 bad command line"
SERVE_EXIT_CODES = (
    "exit status: 0 stopped by SIGTERM or Ctrl-C after the shutdown drain; 1 failed before"
    " serving (a bad setting, a failed migration, --server granian without the granian extra);"
    " 2 bad command line; 3 the HTTP server could not start (the port is taken, say)"
)
# Alembic's environment announces these two on every connection; they say nothing to an operator.
_ALEMBIC_NOISE = ("Context impl ", "Will assume ")


def _quiet_alembic_preamble(record: logging.LogRecord) -> bool:
    return not (isinstance(record.msg, str) and record.msg.startswith(_ALEMBIC_NOISE))


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"aiclone: configuration error: {exc}")
    # So that Alembic's progress ("Running upgrade ...") shows; the app configures its own.
    configure_process_logging(settings)
    migration_logger = logging.getLogger("alembic.runtime.migration")
    if _quiet_alembic_preamble not in migration_logger.filters:
        migration_logger.addFilter(_quiet_alembic_preamble)
    return settings


def _migrated_settings() -> Settings:
    """The settings, after migrating the database first when ``AICLONE_AUTO_MIGRATE`` is on."""
    settings = _settings()
    if settings.database.auto_migrate:
        _migrate_or_exit("migration", migrate.upgrade, settings.resolved_database_url)
    return settings


def _migrate_or_exit(action: str, run: Callable[..., object], *args: object, **kwargs: object) -> None:
    """Run a migration step; Alembic's own errors (an unknown revision, say) become one line."""
    from alembic.util import CommandError  # noqa: PLC0415

    try:
        run(*args, **kwargs)
    except CommandError as exc:
        sys.exit(f"aiclone: {action}: {exc}")


def _override(field: str, value: object) -> None:
    if value is not None:
        os.environ[var(field)] = str(value).lower() if isinstance(value, bool) else str(value)


def cmd_serve(args: argparse.Namespace) -> int:
    pause_until_frozen()  # on again once the app has started (aiclone.collector)
    _override("host", args.host)
    _override("port", args.port)
    if args.no_worker:
        _override("run_workers", False)
    if args.server == "granian" and importlib.util.find_spec("granian") is None:
        sys.exit("aiclone: --server granian needs the granian extra: pip install 'aiclone[granian]'")
    settings = _settings()
    # Resolve (and persist, in development) the secret once here, before workers fork.
    settings.with_secret()
    if settings.database.auto_migrate and not args.no_migrate:
        _migrate_or_exit("migration", migrate.upgrade_unless_at_head, settings.resolved_database_url)
    return run_server(
        APP_FACTORY,
        server=args.server,
        host=settings.server.host,
        port=settings.server.port,
        workers=args.workers,
        log_level=settings.server.log_level,
        metrics_address=settings.server.metrics_address,
        json_logs=settings.json_logs,
        timings=EdgeTimings(
            header_timeout=settings.server.header_timeout_seconds,
            drain_seconds=settings.shutdown_drain,
            grace_seconds=settings.server.shutdown_grace_seconds,
        ),
    )


async def _run_workers(settings: Settings) -> None:
    from aiclone.container import Services  # noqa: PLC0415 - keeps `aiclone --help` light

    services = Services(settings.with_secret())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await services.start(run_workers=True)
    print(f"aiclone worker: running {', '.join(job.name for job in services.jobs)}", flush=True)
    try:
        await stop.wait()
    finally:
        await services.stop()


def cmd_worker(_args: argparse.Namespace) -> int:
    settings = _migrated_settings()
    asyncio.run(_run_workers(settings))
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    url = _settings().resolved_database_url
    action = f"db {args.db_command}"
    if args.db_command == "upgrade":
        _migrate_or_exit(action, migrate.upgrade, url, args.revision)
    elif args.db_command == "downgrade":
        _migrate_or_exit(action, migrate.downgrade, url, args.revision)
    elif args.db_command == "current":
        _migrate_or_exit(action, migrate.current, url)
    elif args.db_command == "revision":
        _migrate_or_exit(action, migrate.revision, url, args.message, autogenerate=args.autogenerate)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    env_password = os.environ.get("AICLONE_NEW_USER_PASSWORD")
    if env_password:
        return env_password
    if not sys.stdin.isatty():
        sys.exit("aiclone: no terminal to ask for a password; use --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        sys.exit("aiclone: the passwords differ")
    return first


async def _with_services(settings: Settings, command: Callable[[Services], Awaitable[str]]) -> str:
    """Runs ``command`` on the services of this one command, then closes the database."""
    from aiclone.container import Services  # noqa: PLC0415 - keeps `aiclone --help` light

    services = Services(settings.with_secret())
    try:
        return await command(services)
    finally:
        await services.db.dispose()


def _users_action(args: argparse.Namespace, settings: Settings) -> str:
    from aiclone.admin import commands  # noqa: PLC0415
    from aiclone.admin.schemas import UserUpdate  # noqa: PLC0415
    from aiclone.auth.models import Role  # noqa: PLC0415

    action = args.users_command
    if action == "list":
        role = Role(args.role) if args.role else None
        return asyncio.run(_with_services(settings, lambda s: commands.list_users(s.admin, role)))
    if action != "create":  # set-role, activate, deactivate
        change = (
            UserUpdate(role=Role(args.role))
            if action == "set-role"
            else UserUpdate(is_active=action == "activate")
        )
        return asyncio.run(
            _with_services(settings, lambda s: commands.update_user(s.admin, args.user, change))
        )
    password, name = _read_password(args), args.full_name or args.email
    return asyncio.run(
        _with_services(
            settings, lambda s: commands.create_user(s.auth, args.email, name, password, args.admin)
        )
    )


def cmd_users(args: argparse.Namespace) -> int:
    from aiclone.errors import DomainError  # noqa: PLC0415

    settings = _migrated_settings()
    try:
        print(_users_action(args, settings))
    except DomainError as exc:
        details = "; ".join(f"{e.field} {e.message}" for e in exc.errors or [])
        sys.exit(f"aiclone: {exc.detail}{' ' + details if details else ''}")
    return 0


async def _delete_user(services: Services, email: str) -> str:
    erased = await services.account_data.erase_by_email(email)
    return f"deleted {erased.email} ({erased.user_id}): {sum(erased.rows.values())} rows"


def cmd_users_delete(args: argparse.Namespace) -> int:
    """Erase an account and everything it owns (the same erasure as DELETE /api/admin/users/{id})."""
    from aiclone.errors import DomainError  # noqa: PLC0415

    settings = _settings()
    if not args.yes:
        if not sys.stdin.isatty():
            sys.exit("aiclone: no terminal to confirm on; pass --yes")
        if input(f"Type the email again to delete {args.email} and all its data: ").strip() != args.email:
            sys.exit("aiclone: not confirmed; nothing deleted")
    try:
        print(asyncio.run(_with_services(settings, lambda services: _delete_user(services, args.email))))
    except DomainError as exc:
        sys.exit(f"aiclone: {exc.detail}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


async def _rebuild_analytics(settings: Settings, user_id: str | None, since: str | None) -> str:
    import datetime as dt  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    from aiclone.analytics.rebuild import rebuild  # noqa: PLC0415
    from aiclone.db import Database  # noqa: PLC0415 - keeps `aiclone --help` light

    try:
        user = uuid.UUID(user_id) if user_id else None
        start = dt.datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        sys.exit(f"aiclone: {exc}")
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    db = Database(settings.resolved_database_url, pool_size=1)
    try:
        report = await rebuild(db, user_id=user, since=start)
    finally:
        await db.dispose()
    scope = f"user {report.user_id}" if report.user_id else "all users"
    window = f"from {report.since.isoformat()}" if report.since else "from the first retained event"
    return (
        f"rebuilt analytics counters for {scope} {window}: "
        f"{report.counter_rows} counter rows, {report.funnel_entries} funnel entries"
    )


def cmd_analytics(args: argparse.Namespace) -> int:
    settings = _migrated_settings()
    print(asyncio.run(_rebuild_analytics(settings, args.user_id, args.since)))
    return 0


def _version() -> str:
    try:
        return importlib.metadata.version("aiclone")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiclone", description="aiclone service and admin commands", epilog=EXIT_CODES
    )
    parser.add_argument("--version", action="version", version=f"aiclone {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    worker = sub.add_parser("worker", epilog=EXIT_CODES, help="run the background workers alone (no HTTP)")
    worker.set_defaults(func=cmd_worker)
    _add_db(sub)
    _add_users(sub)
    _add_analytics(sub)
    return parser


def _command_group(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    func: Callable[[argparse.Namespace], int],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """``aiclone <name> <command>``: a command whose subcommands run ``func`` unless they say."""
    group = sub.add_parser(name, epilog=EXIT_CODES, help=help_text)
    group.set_defaults(func=func)
    return group.add_subparsers(dest=f"{name}_command", required=True)


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve", epilog=SERVE_EXIT_CODES, help="run the HTTP service (migrates first unless told not to)"
    )
    serve.add_argument("--host", help="bind address (AICLONE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=_positive_int, help="port (AICLONE_PORT, default 8000)")
    serve.add_argument("--workers", type=_positive_int, default=1, help="server worker processes (default 1)")
    serve.add_argument(
        "--server", choices=SERVERS, default="uvicorn", help="HTTP server (default %(default)s)"
    )
    serve.add_argument("--no-worker", action="store_true", help="do not run background workers in-process")
    serve.add_argument("--no-migrate", action="store_true", help="skip the automatic migration")
    serve.set_defaults(func=cmd_serve)


def _add_db(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db_sub = _command_group(sub, "db", "database migrations", cmd_db)
    up = db_sub.add_parser("upgrade", epilog=EXIT_CODES, help="migrate to a revision (default: every head)")
    up.add_argument("revision", nargs="?", default="heads")
    down = db_sub.add_parser(
        "downgrade", epilog=EXIT_CODES, help="migrate down to a revision (e.g. -1 or base)"
    )
    down.add_argument("revision")
    db_sub.add_parser("current", epilog=EXIT_CODES, help="show the applied revision")
    rev = db_sub.add_parser("revision", epilog=EXIT_CODES, help="create a migration script")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true", help="diff the models against the database")


def _add_users(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users_sub = _command_group(sub, "users", "user administration", cmd_users)
    create = users_sub.add_parser(
        "create", epilog=EXIT_CODES, help="create a user (the first admin, typically)"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--full-name")
    create.add_argument("--admin", action="store_true", help="give the admin role")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    listing = users_sub.add_parser(
        "list", epilog=EXIT_CODES, help="list users (id, role, state, created, email)"
    )
    listing.add_argument("--role", choices=["user", "admin"])
    set_role = users_sub.add_parser(
        "set-role", epilog=EXIT_CODES, help="change a user's role (ends their sessions)"
    )
    set_role.add_argument("user", help="email or id")
    set_role.add_argument("role", choices=["user", "admin"])
    for name, text in (
        ("deactivate", "refuse sign-ins and end every session"),
        ("activate", "allow sign-ins again"),
    ):
        users_sub.add_parser(name, epilog=EXIT_CODES, help=text).add_argument("user", help="email or id")
    delete = users_sub.add_parser("delete", epilog=EXIT_CODES, help="delete a user and everything they own")
    delete.add_argument("email")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=cmd_users_delete)


def _add_analytics(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    analytics_sub = _command_group(sub, "analytics", "analytics maintenance", cmd_analytics)
    rebuild = analytics_sub.add_parser(
        "rebuild",
        epilog=EXIT_CODES,
        help="rebuild the analytics counters from the events table",
        description=(
            "Recomputes the event-derived counters and the prospect funnel from the events still"
            " retained. Without --since everything is recomputed, which forgets counts whose events"
            " were already pruned; with --since only counters from that UTC day on. Event writers"
            " wait while it runs."
        ),
    )
    rebuild.add_argument("--user-id", help="only this user (default: everyone)")
    rebuild.add_argument("--since", help="ISO date or time (UTC unless an offset is given)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
