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
    takedowns ingest dsa-tdb   DUMPS... -o OUT_FOLDER [--scope keyword|category]
                               [--engine duckdb|spark] [--force]

Hashing needs a secret key in ``$TAKEDOWNS_HASH_KEY`` (or the variable named by
``--hash-key-env``); without one the command stops and says how to create one.  ``--demo-key``
uses the public demo key (outputs NOT private).  ``--raw-identifiers`` writes unhashed ids and
is refused inside the repository.  SIGTERM/SIGINT stop the run, remove temporary files and
partial output, and exit with 128 + the signal number.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

import pandas as pd

from analysis.errors import IngestInterrupted, TakedownError
from analysis.ingest.privacy import HASH_KEY_ENV

_MESSAGES_HELP = """\
required columns: channel_id, timestamp (rename with --channel-column, --timestamp-column)
optional columns: forwarded_from (--forwarded-column), message_id (--message-id-column:
  (channel_id, message_id) must be unique)
times: Parquet timestamps (naive = UTC), ISO 8601 text (offsets honoured), text in
  --time-format (strptime, e.g. '%d/%m/%Y %H:%M'), or epoch numbers with --epoch-unit
  s|ms|us|ns (numbers without a unit are refused). Times after now are refused unless
  --allow-future.
censoring: every row gets detection_horizon = observation_end - inactivity_days; the
  models stop follow-up there (an ending seen only through silence cannot be detected
  later than that).
key: export TAKEDOWNS_HASH_KEY=$(python -c "import secrets; print(secrets.token_hex(32))")
"""

_CHANNELS_HELP = """\
required columns: channel_id, first_seen (or created_at), last_seen (or ended_at)
  (rename with --channel-column, --first-seen-column, --last-seen-column, --ended-at-column)
optional columns: end_reason, observation_end, observation_start, family_id,
  predecessor_id, handle, title, detection_horizon (each with --<name>-column)
times: ISO 8601 text, --time-format text, Parquet timestamps, or numbers with --time-unit
  days (float days since an origin of your choice) | s | ms | us | ns (Unix epoch).
censoring: with the inactivity rule every row gets detection_horizon = observation_end -
  inactivity_days (see `takedowns ingest messages --help`).
key: export TAKEDOWNS_HASH_KEY=$(python -c "import secrets; print(secrets.token_hex(32))")
"""


_DSA_HELP = """\
input: the daily dumps as published (sor-<platform>-<YYYY-MM-DD>-<full|light>.zip with their
  .sha1 files, or CSV parts, or Parquet with the dump's text columns). Nothing is unzipped to
  disk (the spark engine streams parts into a scratch folder, one at a time).
output folder: daily.parquet, completeness.parquet (recent days flagged partial),
  delay_quantiles.parquet, delay_survival.parquet (right-truncated, not censored),
  filing_lag.parquet, files.parquet (records and malformed records per CSV part),
  manifest.json; days/ keeps per-dump work so a re-run resumes (--force re-reads).
errors: a damaged archive, an unknown column, a term outside the vocabulary, a bad date or a
  truncated part stop the run naming the file and record; no output table is written.
"""


def _keep(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _common(parser: argparse.ArgumentParser, *, times: bool = True) -> None:
    parser.add_argument("input", help="input file (a folder or glob for message logs)")
    parser.add_argument("-o", "--output", required=True, help="output .parquet or .csv")
    if not times:
        return
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
        "'went dark'; also sets the detection horizon (default 30)",
    )
    parser.add_argument(
        "--time-format", default=None, help="strptime format of text times (default ISO 8601)"
    )
    parser.add_argument(
        "--allow-future", action="store_true", help="accept times after now (+1 day)"
    )
    parser.add_argument(
        "--keep-columns",
        type=_keep,
        default=[],
        metavar="A,B",
        help="covariate columns to keep (never handles/titles; they join other tables "
        "through the hashed channel id)",
    )
    parser.add_argument(
        "--hash-key-env",
        default=HASH_KEY_ENV,
        help=f"environment variable holding the secret hashing key (default {HASH_KEY_ENV}; "
        "unset: refused)",
    )
    parser.add_argument(
        "--demo-key",
        action="store_true",
        help="hash with the PUBLIC demo key (outputs are not private; for demonstrations)",
    )
    parser.add_argument(
        "--raw-identifiers",
        action="store_true",
        help="do NOT hash ids/handles/titles (refused inside the repository)",
    )


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``channels``, ``messages`` and ``isiswatch`` subcommands to ``parser``.

    Parameters
    ----------
    parser
        The ``ingest`` sub-parser of the project CLI (or a stand-alone parser).
    """
    sub = parser.add_subparsers(dest="ingest_kind", metavar="{channels,messages,isiswatch,dsa-tdb}")
    sub.required = True
    raw = argparse.RawDescriptionHelpFormatter

    channels = sub.add_parser(
        "channels",
        help="channel table (CSV/Parquet) -> channel events",
        epilog=_CHANNELS_HELP,
        formatter_class=raw,
    )
    _common(channels)
    channels.add_argument(
        "--time-unit",
        choices=["days", "s", "ms", "us", "ns"],
        default=None,
        help="unit of numeric times (required when times are numbers)",
    )
    for name in (
        "channel_id",
        "first_seen",
        "last_seen",
        "ended_at",
        "end_reason",
        "observation_end",
        "observation_start",
        "family_id",
        "predecessor_id",
        "handle",
        "title",
    ):
        flag = name.removesuffix("_id") if name in ("channel_id", "family_id") else name
        channels.add_argument(
            f"--{flag.replace('_', '-')}-column",
            dest=f"col_{name}",
            default=None,
            metavar="NAME",
            help=f"input column holding {name}",
        )
    channels.add_argument(
        "--link-successors",
        action="store_true",
        help="link re-created channels to ended ones by handle/title similarity",
    )
    channels.add_argument("--window-days", type=float, default=None, help="linking window")
    channels.add_argument("--threshold", type=float, default=None, help="linking similarity")
    channels.add_argument(
        "--predecessor-reasons",
        default=None,
        help="end reasons a predecessor may have, e.g. banned,went_dark (default: any)",
    )

    messages = sub.add_parser(
        "messages",
        help="message log -> channel events (DuckDB)",
        epilog=_MESSAGES_HELP,
        formatter_class=raw,
    )
    _common(messages)
    messages.add_argument(
        "--epoch-unit",
        choices=["s", "ms", "us", "ns"],
        default=None,
        help="unit of numeric (epoch) times (required when times are numbers)",
    )
    messages.add_argument("--channel-column", default="channel_id", metavar="NAME")
    messages.add_argument("--timestamp-column", default="timestamp", metavar="NAME")
    messages.add_argument("--forwarded-column", default="forwarded_from", metavar="NAME")
    messages.add_argument("--message-id-column", default="message_id", metavar="NAME")
    messages.add_argument(
        "--memory-limit",
        default="512MB",
        help="DuckDB memory limit; nothing is spilled to disk, so the per-channel state "
        "(about 300 bytes per channel) must fit (default 512MB)",
    )
    messages.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    messages.add_argument(
        "--temp-dir", default=None, help="parent of the private scratch folder (created 0700)"
    )
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

    dsa = sub.add_parser(
        "dsa-tdb",
        help="EU DSA Transparency Database dumps -> terrorist-content daily series and delays",
        epilog=_DSA_HELP,
        formatter_class=raw,
    )
    dsa.add_argument("inputs", nargs="+", help="dump files or folders (sor-*-full|light.zip)")
    dsa.add_argument("-o", "--output", required=True, help="output folder")
    dsa.add_argument(
        "--scope",
        choices=("keyword", "category"),
        default="keyword",
        help="keyword: KEYWORD_TERRORIST_CONTENT (default); category: the whole "
        "public-security category too",
    )
    dsa.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    dsa.add_argument(
        "--spark-master", default="local[2]", help="Spark master URL (default local[2])"
    )
    dsa.add_argument("--force", action="store_true", help="re-read dumps already done")
    dsa.add_argument(
        "--workers", type=int, default=2, help="CSV parts read at once (duckdb engine; 2)"
    )
    dsa.add_argument(
        "--accept-terms",
        type=_keep,
        default=[],
        help="comma-separated vocabulary terms to accept beyond the known lists",
    )
    dsa.add_argument(
        "--memory-limit", default="512MB", help="DuckDB memory limit, all workers (512MB)"
    )
    dsa.add_argument(
        "--transport",
        choices=("auto", "pipe", "file"),
        default="auto",
        help="how a CSV part reaches DuckDB: a named pipe (nothing on disk) or a scratch "
        "file; auto: a pipe where the system has them",
    )
    dsa.add_argument(
        "--temp-dir", default=None, help="parent of the private scratch folder (system temp)"
    )
    dsa.add_argument(
        "--synthetic",
        action="store_true",
        help="label every output synthetic (for generated dumps)",
    )
    dsa.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when standard error is a terminal)",
    )


def run_ingest(args: argparse.Namespace) -> int:
    """Run the subcommand parsed by :func:`add_ingest_arguments`; return the exit code.

    Errors of :mod:`analysis` are printed on one line of standard error without a traceback
    (exit 1); SIGTERM/SIGINT clean up and exit 128 + the signal number.
    """
    from analysis.ingest.scratch import signals_raise

    try:
        with signals_raise():
            return _run(args)
    except IngestInterrupted as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 128 + error.signum
    except KeyboardInterrupt:
        print("error: interrupted; nothing written", file=sys.stderr)
        return 130
    except TakedownError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _summary(events: pd.DataFrame, output: str, *, linked: bool = False) -> None:
    meta = events.attrs.get("takedowns_ingest", {})
    reason = events["end_reason"].astype("string")
    n = len(events)
    dark = int((reason == "went_dark").sum())
    banned = int((reason == "banned").sum())
    other = int(reason.notna().sum()) - dark - banned
    active = int(events["ended_at"].isna().sum())
    lines = [
        f"wrote {n} channels to {output}: {dark} went dark, {banned} banned, "
        f"{other} ended otherwise, {active} still active",
        f"observation end used: {meta.get('observation_end', '?')}; detection horizon: "
        f"{meta.get('detection_horizon') or 'none (inactivity rule not applied)'}",
    ]
    if linked:
        n_linked = int(events["predecessor_id"].notna().sum()) if "predecessor_id" in events else 0
        window = meta.get("link_window_days", "default")
        lines.append(f"linked {n_linked} channels to a predecessor (window {window} days)")
    if meta.get("hash_key_is_demo") == "true":
        lines.append("WARNING: hashed with the PUBLIC demo key: identifiers are NOT private")
    for line in lines:
        print(line, file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    kind = args.ingest_kind
    if kind == "channels":
        from analysis.ingest.channels import ingest_channel_table

        column_map = {
            k.removeprefix("col_"): v
            for k, v in vars(args).items()
            if k.startswith("col_") and v is not None
        }
        events = ingest_channel_table(
            args.input,
            args.output,
            observation_end=args.observation_end,
            inactivity_days=args.inactivity_days,
            link=args.link_successors,
            window_days=args.window_days,
            threshold=args.threshold,
            predecessor_reasons=args.predecessor_reasons,
            hash_ids=not args.raw_identifiers,
            hash_key_env=args.hash_key_env,
            allow_demo_key=args.demo_key,
            time_unit=args.time_unit,
            time_format=args.time_format,
            allow_future=args.allow_future,
            column_map=column_map,
            keep_columns=args.keep_columns,
        )
        _summary(events, args.output, linked=args.link_successors)
        return 0
    if kind == "messages":
        from analysis.ingest.messages import MessageLogColumns, ingest_message_log

        events = ingest_message_log(
            args.input,
            args.output,
            observation_end=args.observation_end,
            inactivity_days=args.inactivity_days,
            columns=MessageLogColumns(
                channel_id=args.channel_column,
                timestamp=args.timestamp_column,
                forwarded_from=args.forwarded_column,
                message_id=args.message_id_column,
            ),
            hash_ids=not args.raw_identifiers,
            hash_key_env=args.hash_key_env,
            allow_demo_key=args.demo_key,
            epoch_unit=args.epoch_unit,
            time_format=args.time_format,
            allow_future=args.allow_future,
            keep_columns=args.keep_columns,
            check_duplicates=args.check_duplicates,
            memory_limit=args.memory_limit,
            threads=args.threads,
            temp_directory=args.temp_dir,
            progress=args.progress,
        )
        _summary(events, args.output)
        return 0
    if kind == "isiswatch":
        from analysis.ingest.isiswatch import check_isiswatch_series, read_isiswatch_export
        from analysis.ingest.output import check_destination, write_table_atomic

        check_destination(args.output)
        series = read_isiswatch_export(args.input)
        report = check_isiswatch_series(series)
        write_table_atomic(series, args.output)
        print(report.summary(), file=sys.stderr)
        print(f"wrote {len(series)} rows to {args.output}", file=sys.stderr)
        return 0
    if kind == "dsa-tdb":
        from analysis.ingest.dsa_tdb import ingest_dsa_tdb

        manifest = ingest_dsa_tdb(
            args.inputs,
            args.output,
            scope=args.scope,
            engine=args.engine,
            force=args.force,
            accepted_terms=args.accept_terms,
            synthetic=args.synthetic,
            progress=args.progress,
            memory_limit=args.memory_limit,
            spark_master=args.spark_master,
            workers=args.workers,
            transport=args.transport,
            temp_dir=args.temp_dir,
        )
        print(
            f"read {manifest['records']} records from {len(manifest['dumps'])} dumps "
            f"({manifest['malformed']} malformed, skipped); selected {manifest['selected']} "
            f"statements ({manifest['scope_definition']}); wrote {args.output}",
            file=sys.stderr,
        )
        if manifest["unknown_keywords"]:
            print(
                "note: keywords outside the known lists (kept, not selected): "
                + ", ".join(manifest["unknown_keywords"]),
                file=sys.stderr,
            )
        return 0
    raise ValueError(f"unknown ingest kind {kind!r}")  # argparse prevents this


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m analysis.ingest.cli``)."""
    parser = argparse.ArgumentParser(
        prog="takedowns ingest", description=textwrap.dedent(__doc__.splitlines()[0])
    )
    add_ingest_arguments(parser)
    return run_ingest(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
