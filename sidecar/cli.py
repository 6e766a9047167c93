"""``agent-sidecar serve | demo | archive | restore | check-config | check-consistency``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from sidecar import __version__, lifecycle_cli
from sidecar.config import ConfigError, load_settings, masked


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config file (or SIDECAR_CONFIG)")
    parser.add_argument("--host", help="bind address (SIDECAR_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (SIDECAR_PORT, default 8787)")
    parser.add_argument("--db-url", dest="db_url", help="database URL (SIDECAR_DB_URL)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent-sidecar",
        description="Observability and cost-governance sidecar for LLM agent services.",
    )
    parser.add_argument("--version", action="version", version=f"agent-sidecar {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the sidecar")
    _server_flags(serve)
    demo = commands.add_parser("demo", help="run the sidecar and drive it with a simulated agent")
    _server_flags(demo)
    demo.add_argument("--runs", type=int, default=600, help="simulated agent runs (default 600)")
    demo.add_argument("--users", type=int, default=40, help="simulated users (default 40)")
    demo.add_argument("--seed", type=int, default=7)
    serving = demo.add_mutually_exclusive_group()
    serving.add_argument(
        "--keep-serving",
        action="store_true",
        default=None,
        help="keep serving after the summary (default: when in a terminal)",
    )
    serving.add_argument(
        "--no-serve",
        dest="keep_serving",
        action="store_false",
        help="stop after the summary (scripts, CI)",
    )
    demo.set_defaults(keep_serving=None)
    lifecycle_cli.add_commands(commands, _server_flags)
    check = commands.add_parser("check-config", help="validate a config file and print it")
    check.add_argument("file", nargs="?", help="YAML config file")
    consistency = commands.add_parser(
        "check-consistency",
        help="recompute every budget counter of the current windows from its reservations and "
        "charges; print the differences and exit 1 when there are any",
    )
    _server_flags(consistency)
    hash_token = commands.add_parser(
        "hash-token", help="print the SHA-256 digest of a token for auth.tokens[].sha256"
    )
    hash_token.add_argument("token", nargs="?", help="the token (default: read from stdin)")
    bench = commands.add_parser(
        "bench", help="run the benchmarks of a source checkout and write docs/benchmarks.md"
    )
    bench.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    bench.add_argument("--quick", action="store_true", help="short runs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, Any] = {
        key: getattr(args, key, None) for key in ("host", "port", "db_url")
    }
    if args.command == "bench":
        import subprocess

        quick = ["--quick"] if args.quick else []
        try:
            return subprocess.call([sys.executable, "-m", "bench", *quick, *args.names])
        except KeyboardInterrupt:
            return 130
    if args.command == "hash-token":
        from sidecar.api.principals import token_digest

        token = args.token if args.token is not None else sys.stdin.readline().strip()
        print(token_digest(token))
        return 0
    try:
        if args.command == "check-config":
            settings = load_settings(args.file, overrides=overrides)
            print(json.dumps(masked(settings), indent=2))
            return 0
        settings = load_settings(args.config, overrides=overrides)
    except ConfigError as exc:
        print(f"agent-sidecar: configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    if args.command in ("archive", "restore"):
        return lifecycle_cli.run(args, settings)
    if args.command == "check-consistency":
        return _check_consistency(settings)
    from sidecar.startup import StartupError

    try:
        if args.command == "serve":
            from sidecar.server import serve

            serve(settings)
            return 0
        from sidecar.demo import run_demo

        return run_demo(
            settings,
            runs=args.runs,
            users=args.users,
            seed=args.seed,
            keep_serving=args.keep_serving,
        )
    except (ConfigError, StartupError) as exc:
        print(f"agent-sidecar: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _configure_logging(settings: Any) -> None:
    """Level, SQL echo off unless ``logging.sql_echo``, the redactor on every log record."""
    from sidecar.logs import configure_logging
    from sidecar.redact import Redactor

    mask = Redactor(settings.redact).redact_text if settings.redact.enabled else None
    configure_logging(settings.log_level, settings.logging, mask)


def _check_consistency(settings: Any) -> int:
    from sidecar.budgets.consistency import run_check
    from sidecar.budgets.testclock import ledger_clock

    try:
        report = run_check(settings.db_url, settings.budgets.table_prefix, ledger_clock()())
    except Exception as exc:  # a missing file, an unreachable database: say so, exit 2
        print(f"agent-sidecar: cannot check the budget ledger: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
