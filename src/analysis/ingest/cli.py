"""``takedowns ingest``: command-line front end of :mod:`analysis.ingest`.

The project CLI wires it in with::

    ingest = subparsers.add_parser("ingest", help="...")
    add_ingest_arguments(ingest)
    ...
    return run_ingest(args)

Subcommands::

    takedowns ingest channels  TABLE.csv|.parquet  -o OUT.parquet [--link-successors]
    takedowns ingest messages  LOG.parquet|DIR|GLOB -o OUT.parquet [--inactivity-days 30]
    takedowns ingest isiswatch result.json          -o OUT.parquet|.csv

Common options: ``--observation-end``, ``--inactivity-days``, ``--hash-key-env`` (name of the
environment variable holding the hashing key, default ``TAKEDOWNS_HASH_KEY``) and
``--raw-identifiers`` (write unhashed ids; refused under ``data/processed``).
"""

from __future__ import annotations

import argparse
import sys

from analysis.errors import TakedownError
from analysis.ingest.privacy import HASH_KEY_ENV


def _common(parser: argparse.ArgumentParser, *, times: bool = True) -> None:
    parser.add_argument("input", help="input file (a folder or glob for message logs)")
    parser.add_argument("-o", "--output", required=True, help="output .parquet or .csv")
    if times:
        parser.add_argument(
            "--observation-end",
            default=None,
            help="end of observation, ISO 8601 (default: latest time in the input)",
        )
        parser.add_argument(
            "--inactivity-days",
            type=float,
            default=30.0,
            help="a channel silent for more than this many days before the observation end "
            "'went dark' (default 30)",
        )
        parser.add_argument(
            "--hash-key-env",
            default=HASH_KEY_ENV,
            help=f"environment variable holding the hashing key (default {HASH_KEY_ENV}; "
            "unset: public demo key, with a warning)",
        )
        parser.add_argument(
            "--raw-identifiers",
            action="store_true",
            help="do NOT hash ids/handles/titles (refused under data/processed)",
        )


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``channels``, ``messages`` and ``isiswatch`` subcommands to ``parser``.

    Parameters
    ----------
    parser
        The ``ingest`` sub-parser of the project CLI (or a stand-alone parser).
    """
    sub = parser.add_subparsers(dest="ingest_kind", metavar="{channels,messages,isiswatch}")
    sub.required = True

    channels = sub.add_parser("channels", help="channel table (CSV/Parquet) -> channel events")
    _common(channels)
    channels.add_argument(
        "--link-successors",
        action="store_true",
        help="link re-created channels to banned ones by handle/title similarity",
    )
    channels.add_argument("--window-days", type=float, default=None, help="linking window")
    channels.add_argument("--threshold", type=float, default=None, help="linking similarity")

    messages = sub.add_parser("messages", help="message log -> channel events (DuckDB)")
    _common(messages)
    messages.add_argument("--memory-limit", default="512MB", help="DuckDB memory limit")
    messages.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    messages.add_argument("--temp-dir", default=None, help="DuckDB spill folder")
    messages.add_argument(
        "--check-duplicates",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check (channel_id, message_id) uniqueness (default: when message_id exists)",
    )
    messages.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar"
    )

    isiswatch = sub.add_parser("isiswatch", help="Telegram ISIS Watch JSON export -> daily series")
    _common(isiswatch, times=False)


def run_ingest(args: argparse.Namespace) -> int:
    """Run the subcommand parsed by :func:`add_ingest_arguments`; return the exit code.

    Errors of :mod:`analysis` are printed on standard error without a traceback (exit 1).
    """
    try:
        return _run(args)
    except TakedownError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    kind = args.ingest_kind
    if kind == "channels":
        from analysis.ingest.channels import ingest_channel_table

        events = ingest_channel_table(
            args.input,
            args.output,
            observation_end=args.observation_end,
            inactivity_days=args.inactivity_days,
            link=args.link_successors,
            window_days=args.window_days,
            threshold=args.threshold,
            hash_ids=not args.raw_identifiers,
            hash_key_env=args.hash_key_env,
        )
        print(f"wrote {len(events)} channels to {args.output}", file=sys.stderr)
        return 0
    if kind == "messages":
        from analysis.ingest.messages import ingest_message_log

        events = ingest_message_log(
            args.input,
            args.output,
            observation_end=args.observation_end,
            inactivity_days=args.inactivity_days,
            hash_ids=not args.raw_identifiers,
            hash_key_env=args.hash_key_env,
            check_duplicates=args.check_duplicates,
            memory_limit=args.memory_limit,
            threads=args.threads,
            temp_directory=args.temp_dir,
            progress=args.progress,
        )
        print(f"wrote {len(events)} channels to {args.output}", file=sys.stderr)
        return 0
    if kind == "isiswatch":
        from analysis.ingest.isiswatch import check_isiswatch_series, read_isiswatch_export
        from analysis.ingest.output import write_table_atomic

        series = read_isiswatch_export(args.input)
        report = check_isiswatch_series(series)
        write_table_atomic(series, args.output)
        print(report.summary(), file=sys.stderr)
        print(f"wrote {len(series)} rows to {args.output}", file=sys.stderr)
        return 0
    raise ValueError(f"unknown ingest kind {kind!r}")  # argparse prevents this


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m analysis.ingest.cli``)."""
    parser = argparse.ArgumentParser(prog="takedowns ingest", description=__doc__.splitlines()[0])
    add_ingest_arguments(parser)
    return run_ingest(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
