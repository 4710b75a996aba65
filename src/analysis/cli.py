"""The ``takedowns`` command.

Sub-commands
------------
etl        build data/processed from data/raw (atomic; nothing changes on error)
validate   check data/raw without writing, and whether data/processed is up to date
export     write every processed table as CSV and Stata .dta (plus a datapackage.json)
figures    execute every notebook headlessly into reports/
simulate   run the cat-and-mouse simulator and write a channel event table
ingest     researchers' own channel tables, message logs and ISIS Watch exports

Errors of the project's own kinds (:class:`analysis.errors.TakedownError`) are
printed on one line, without a traceback, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis import __version__, paths
from analysis.errors import TakedownError


def _cmd_etl(args: argparse.Namespace) -> int:
    from analysis.etl.write import EtlInterrupted, run_etl

    notes: list[str] = []
    try:
        counts = run_etl(args.raw, args.processed, notes=notes)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM turned into EtlInterrupted
        signum = stop.signum if isinstance(stop, EtlInterrupted) else signal.SIGINT
        state = (
            "holds the new complete build (the swap had begun)"
            if getattr(stop, "swapped", False)
            else "left unchanged"
        )
        print(f"error: stopped by signal {int(signum)}; {args.processed} {state}", file=sys.stderr)
        return 128 + int(signum)
    finally:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    for name, n in counts.items():
        print(f"{name:>16}: {n:>5} rows")
    print(f"wrote {args.processed}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from analysis.etl.verify import check_processed
    from analysis.etl.write import build_tables_all

    frames, tables = build_tables_all(args.raw)
    print(
        f"data/raw is valid: {len(frames['figures'])} figures, {len(frames['documents'])} documents"
    )
    for note in tables.notes:
        print(f"note: {note}", file=sys.stderr)
    check_processed(args.processed, tables.raw_sha256, frames)
    print(
        f"{args.processed} is up to date with data/raw (every sha256 in datapackage.json checked)"
    )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from analysis.export import export_tables

    written = export_tables(args.out, args.processed)
    for path in written:
        print(path)
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def _cmd_figures(args: argparse.Namespace) -> int:
    import time
    from collections import Counter

    from analysis.runner import relative_to_repo, run_notebooks

    start = time.perf_counter()
    written = run_notebooks(
        names=args.notebook or None,
        fast=args.fast,
        output_root=args.reports,
        jobs=args.jobs,
        progress=lambda line: print(line, flush=True),
    )
    root = Path(args.reports).resolve()
    kinds = Counter(p.relative_to(root).parts[0] for p in written if p.is_relative_to(root))
    where = relative_to_repo(root)
    summary = ", ".join(f"{where}/{kind}/ {n} files" for kind, n in sorted(kinds.items()))
    print(f"wrote {summary} in {time.perf_counter() - start:.1f} s")
    if args.list:
        for path in written:
            print(relative_to_repo(path))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from analysis.models.catmouse import CatMouseModel

    model = CatMouseModel(
        creation_rate_per_day=args.creation_rate,
        ban_hazard_per_day=args.ban_hazard,
        recreation_probability=args.recreation_probability,
        recreation_delay_mean_days=args.recreation_delay,
    )
    result = model.simulate(days=args.days, seed=args.seed)
    events = result.channel_events.assign(synthetic=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.output.suffix == ".parquet":
        events.to_parquet(args.output, index=False)
    else:
        events.to_csv(args.output, index=False)
    print(f"wrote {len(events)} synthetic channel lifetimes to {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``takedowns``."""
    parser = argparse.ArgumentParser(prog="takedowns", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_dirs(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--raw", type=Path, default=paths.raw_dir(), help="raw folder")
        p.add_argument(
            "--processed", type=Path, default=paths.processed_dir(), help="output folder"
        )
        return p

    with_dirs(sub.add_parser("etl", help="build data/processed from data/raw")).set_defaults(
        func=_cmd_etl
    )
    with_dirs(sub.add_parser("validate", help="check data/raw and freshness")).set_defaults(
        func=_cmd_validate
    )

    exp = sub.add_parser("export", help="processed tables as CSV and Stata .dta")
    exp.add_argument("--out", type=Path, required=True, help="folder to write into")
    exp.add_argument(
        "--processed", type=Path, default=paths.processed_dir(), help="processed folder to read"
    )
    exp.set_defaults(func=_cmd_export)

    fig = sub.add_parser("figures", help="run every notebook into reports/")
    fig.add_argument("--notebook", action="append", help="only this notebook (repeatable)")
    fig.add_argument("--fast", action="store_true", help="small parameters (tests)")
    fig.add_argument("--reports", type=Path, default=paths.reports_dir(), help="output root")
    fig.add_argument(
        "--jobs", type=int, default=1, help="notebooks run at once (outputs do not depend on it)"
    )
    fig.add_argument("--list", action="store_true", help="list every file written")
    fig.set_defaults(func=_cmd_figures)

    sim = sub.add_parser("simulate", help="simulate channels (synthetic data)")
    sim.add_argument("--days", type=float, default=365.0)
    sim.add_argument("--creation-rate", type=float, default=20.0, help="channels per day")
    sim.add_argument("--ban-hazard", type=float, default=0.1, help="per channel per day")
    sim.add_argument("--recreation-probability", type=float, default=0.5)
    sim.add_argument("--recreation-delay", type=float, default=2.0, help="mean days")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--output", type=Path, required=True, help=".csv or .parquet")
    sim.set_defaults(func=_cmd_simulate)

    try:
        from analysis.ingest.cli import add_ingest_arguments, run_ingest
    except ImportError:  # pragma: no cover
        pass
    else:
        ing = sub.add_parser("ingest", help="researchers' own channel data")
        add_ingest_arguments(ing)
        ing.set_defaults(func=run_ingest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``takedowns``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TakedownError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
