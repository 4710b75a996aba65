"""Write the processed dataset atomically and byte-identically.

Everything is built into a fresh folder next to ``data/processed`` and swapped in, in
one atomic ``renameat2(RENAME_EXCHANGE)``, only when every table, ``datapackage.json``
and the data dictionary have been written and synced.  A failure at any point leaves
``data/processed`` exactly as it was; a kill (SIGKILL, power loss) leaves it either the
old or the new complete set, and the next run tidies what was left next to it.  An
exclusive lock file (``.processed.lock``) keeps two ETLs apart, and the ETL refuses to
replace a folder holding files it does not write.

Determinism: rows are sorted by primary key, tables are built from plain Python
values (no pandas metadata), Parquet is written by the pinned pyarrow with fixed
options, and JSON is written with sorted keys.  The same raw files therefore give
the same bytes.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import json
import math
import os
import secrets
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import __version__, schema
from analysis.checksums import sha256_file
from analysis.errors import EtlLockedError, ProcessedFolderError
from analysis.etl.build import Tables, build_tables

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 9,
    "write_statistics": True,
    "data_page_version": "2.0",
}
"""Fixed writer options.  Dictionary encoding is used for the vocabulary columns only
(:func:`dictionary_columns`): their Arrow dictionary (every term of the vocabulary) is
written as the Parquet dictionary, so readers get every term as a level."""


def dictionary_columns(table: schema.Table) -> list[str]:
    """Columns written with Parquet dictionary encoding: the vocabulary columns."""
    return [f.name for f in table.fields if f.vocabulary is not None]


METADATA_PREFIX = "takedown_dynamics"


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def to_arrow(
    frame: pd.DataFrame,
    table: schema.Table,
    metadata: Mapping[str, str],
    sources: tuple[str, ...] = (),
) -> pa.Table:
    """Sort ``frame`` by the primary key and convert it to a typed Arrow table.

    ``sources``: researcher-supplied inputs in the build, whose own terms join the
    vocabulary columns' dictionaries (see :data:`analysis.vocab.SOURCE_TERMS`).
    """
    ordered = frame.sort_values(list(table.primary_key), kind="mergesort", na_position="first")
    arrow_schema = schema.arrow_schema(table, metadata)
    arrays = []
    for f in table.fields:
        values = (
            [_cell(v) for v in ordered[f.name].tolist()]
            if f.name in ordered
            else [None] * len(ordered)
        )
        if f.type == "integer":
            values = [None if v is None else int(v) for v in values]
        elif f.type == "number":
            values = [None if v is None else float(v) for v in values]
        elif f.type == "boolean":
            values = [None if v is None else bool(v) for v in values]
        elif f.type == "string":
            values = [None if v is None else str(v) for v in values]
        if f.vocabulary is not None:
            arrays.append(schema.vocabulary_array(f, values, sources))
            continue
        arrays.append(pa.array(values, type=arrow_schema.field(f.name).type))
    return pa.Table.from_arrays(arrays, schema=arrow_schema)


def write_tables(
    frames: Mapping[str, pd.DataFrame],
    folder: Path,
    raw_sha256: str,
    sources: tuple[str, ...] = (),
) -> None:
    """Write ``frames`` as Parquet plus ``datapackage.json`` and ``README.md`` into ``folder``.

    ``sources`` names the researcher-supplied inputs folded into the frames
    (:attr:`Tables.sources`): their own vocabulary terms join the dictionaries, the enums
    and the data dictionary, and every Parquet file names them in its metadata
    (:data:`analysis.schema.VOCABULARY_SOURCES_KEY`).  Without them nothing is added.
    """
    metadata = {
        f"{METADATA_PREFIX}.dataset": schema.DATASET_NAME,
        f"{METADATA_PREFIX}.version": __version__,
        f"{METADATA_PREFIX}.raw_sha256": raw_sha256,
    }
    sources = tuple(sorted(sources))
    if sources:
        metadata[schema.VOCABULARY_SOURCES_KEY] = ",".join(sources)
    names = [n for n in schema.TABLES if n in frames]
    hashes: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in names:
        table = schema.TABLES[name]
        arrow = to_arrow(
            frames[name], table, {**metadata, f"{METADATA_PREFIX}.table": name}, sources
        )
        path = folder / table.path
        pq.write_table(
            arrow, path, use_dictionary=dictionary_columns(table) or False, **PARQUET_OPTIONS
        )
        hashes[table.path] = sha256_file(path)
        counts[name] = arrow.num_rows
    package = schema.datapackage(names, __version__, raw_sha256, hashes, sources)
    (folder / "datapackage.json").write_text(
        json.dumps(package, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (folder / "README.md").write_text(
        schema.data_dictionary(names, __version__, counts, family_counts(frames), sources),
        encoding="utf-8",
    )


def family_counts(frames: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Documents, figures and checked figures per source family (and figures computed by
    code, for a family that has any)."""
    figures, documents = frames["figures"], frames["documents"]
    out: dict[str, dict[str, int]] = {}
    for family in sorted(set(figures["family"]) | set(documents["family"])):
        mine = figures[figures["family"] == family]
        out[family] = {
            "documents": int((documents["family"] == family).sum()),
            "figures": len(mine),
            "checked": int((mine["check_status"] == "checked").sum()),
        }
        computed = int((mine["check_status"] == "computed").sum())
        if computed:
            out[family]["computed"] = computed
    return out


SOURCE_TABLES = {"dsa_tdb": "dsa_tdb_daily"}
"""The optional table each input with terms of its own writes (see :func:`sources_of`)."""


def sources_of(frames: Mapping[str, pd.DataFrame]) -> tuple[str, ...]:
    """Inputs with vocabulary terms of their own that a build's ``frames`` hold."""
    return tuple(sorted(s for s, table in SOURCE_TABLES.items() if table in frames))


def owned_names() -> set[str]:
    """Names of the files the ETL writes into ``data/processed`` (every table it can write)."""
    return {t.path for t in schema.TABLES.values()} | {"datapackage.json", "README.md"}


def check_owned(processed: Path) -> None:
    """Refuse to replace a ``processed`` folder holding anything the ETL does not write.

    The swap replaces the whole folder, so a file put there by hand (or by another tool)
    would be deleted: the ETL stops instead and names it.

    Raises
    ------
    ProcessedFolderError
        If ``processed`` is not a folder, is a symbolic link, or holds other entries.
    """
    try:
        info = os.lstat(processed)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise ProcessedFolderError(
            processed, "is not a plain folder (a link or a file); the ETL owns this folder"
        )
    foreign = sorted(p.name for p in processed.iterdir() if p.name not in owned_names())
    if foreign:
        raise ProcessedFolderError(
            processed,
            f"holds files the ETL does not write ({', '.join(foreign)}); the ETL replaces the "
            "whole folder, so move them elsewhere first (nothing was changed)",
        )


def _siblings(processed: Path) -> tuple[Path, Path, Path]:
    """Lock file, prefix of build folders and the fallback's old folder, next to ``processed``."""
    parent, name = processed.parent, processed.name
    return parent / f".{name}.lock", parent / f".{name}.build-", parent / f".{name}.old"


@contextmanager
def processed_lock(processed: Path) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on the lock file next to ``processed``.

    The lock file (``.processed.lock``) is left in place: deleting it would let a second
    process lock a different inode.  The lock is released when the process ends, however.

    Raises
    ------
    EtlLockedError
        If another process holds the lock.
    """
    lock_path = _siblings(processed)[0]
    processed.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EtlLockedError(
                processed,
                f"another ETL is building this folder (lock {lock_path.name}); "
                "wait for it to finish and run again",
            ) from None
        yield lock_path
    finally:
        os.close(fd)


def recover(processed: Path) -> list[str]:
    """Tidy what a killed ETL left next to ``processed`` (call under :func:`processed_lock`).

    A build folder is removed.  The fallback swap's old folder is renamed back when
    ``processed`` is missing (the crash fell between its two renames) and removed
    otherwise.  Returns what was done, one line each.
    """
    _, build_prefix, old = _siblings(processed)
    done = []
    for leftover in sorted(processed.parent.glob(build_prefix.name + "*")):
        shutil.rmtree(leftover)
        done.append(f"removed the unfinished build {leftover.name}")
    if old.exists():
        if os.path.lexists(processed):
            shutil.rmtree(old)
            done.append(f"removed the previous build {old.name}")
        else:
            os.rename(old, processed)
            _fsync_dir(processed.parent)
            done.append(f"restored {processed.name} from {old.name}")
    return done


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False when the system or file system does not offer it (the caller then falls
    back to two renames, which :func:`recover` can complete after a crash).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    status = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if status == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_in(built: Path, target: Path) -> None:
    """Replace ``target`` by ``built`` atomically; ``built`` is gone afterwards.

    One ``RENAME_EXCHANGE`` flips the two folders, so ``target`` is at every instant either
    the old or the new complete set.  Without it, two renames are used and a crash between
    them is repaired by :func:`recover` at the next start.  ``target``'s permission bits are
    kept.
    """
    _, _, old = _siblings(target)
    if not os.path.lexists(target):
        os.rename(built, target)
        _fsync_dir(target.parent)
        return
    os.chmod(built, stat.S_IMODE(os.stat(target).st_mode))
    if exchange(built, target):
        _fsync_dir(target.parent)
        shutil.rmtree(built)  # now holds the previous build
        return
    os.rename(target, old)
    try:
        os.rename(built, target)
    except BaseException:
        os.rename(old, target)
        raise
    _fsync_dir(target.parent)
    shutil.rmtree(old)


class EtlInterrupted(KeyboardInterrupt):
    """SIGTERM arrived during the ETL; the clean-up ran.

    ``swapped`` tells whether the signal came during the swap (which is then finished
    first, so ``processed`` holds the new build) or before it (``processed`` unchanged).
    """

    def __init__(self, signum: int, swapped: bool = False) -> None:
        self.signum = signum
        self.swapped = swapped
        super().__init__(f"signal {signum}")


class _SignalGuard:
    """SIGTERM handler: raise at once, or defer while the swap is in progress."""

    def __init__(self) -> None:
        self.critical = False
        self.deferred: int | None = None

    def __call__(self, signum: int, frame: object) -> None:
        if self.critical:
            self.deferred = signum
            return
        raise EtlInterrupted(signum)


@contextmanager
def _terminate_cleanly() -> Iterator[_SignalGuard]:
    """Turn SIGTERM into an exception while building, so the clean-up still runs."""
    guard = _SignalGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = signal.signal(signal.SIGTERM, guard)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGTERM, previous)
    if guard.deferred is not None:
        raise EtlInterrupted(guard.deferred, swapped=True)


def extra_tables(raw: Path, *, dsa_tdb: bool = True) -> dict[str, pd.DataFrame]:
    """Optional tables built from researcher-supplied raw inputs (an ISIS Watch export, a
    ``takedowns ingest dsa-tdb`` daily series; ``dsa_tdb=False`` leaves the latter to
    :func:`~analysis.etl.build.build_tables`, which folds it into the core tables too)."""
    try:
        from analysis.ingest.dsa_tdb.fold import FOLDER, read_dsa_tdb_export
        from analysis.ingest.isiswatch import daily_series_from_raw
    except ImportError:  # pragma: no cover - ingestion not installed
        return {}
    out = {}
    daily = daily_series_from_raw(raw)
    if daily is not None:
        out["isiswatch_daily"] = daily
    dsa = read_dsa_tdb_export(Path(raw) / FOLDER) if dsa_tdb else None
    if dsa is not None:
        out["dsa_tdb_daily"] = dsa
    return out


def build_tables_all(
    raw: Path, *, today: dt.date | None = None
) -> tuple[dict[str, pd.DataFrame], Tables]:
    """Build the core tables and any optional ones from ``raw``."""
    tables = build_tables(raw, today=today)
    frames = tables.as_dict()
    frames.update(tables.extra)  # read with the core tables, so hashed as read
    frames.update(extra_tables(raw, dsa_tdb=False))
    return frames, tables


def run_etl(
    raw: Path, processed: Path, *, today: dt.date | None = None, notes: list[str] | None = None
) -> dict[str, int]:
    """Build ``processed`` from ``raw`` atomically.  Returns the row count of each table.

    Under an exclusive lock, leftovers of a killed run are tidied (:func:`recover`), the
    folder is checked to hold only files the ETL writes (:func:`check_owned`), the tables
    are built and written into a fresh folder next to ``processed`` and swapped in
    (:func:`swap_in`).

    Parameters
    ----------
    raw, processed
        Input and output folders.
    today
        The date future dates are judged against (default: today).
    notes
        If given, receives what a reader should hear (recovery steps, orphan documents).

    Raises
    ------
    RawDataError
        If a raw row or file is malformed; ``processed`` is then left untouched.
    ProcessedFolderError
        If ``processed`` holds other files, or another ETL holds its lock.
    """
    notes = notes if notes is not None else []
    with _terminate_cleanly() as guard, processed_lock(processed):
        notes += recover(processed)
        check_owned(processed)
        frames, tables = build_tables_all(raw, today=today)
        notes += list(tables.notes)
        _, build_prefix, _ = _siblings(processed)
        built = Path(f"{build_prefix}{os.getpid()}-{secrets.token_hex(4)}")
        try:  # mkdir inside: a SIGTERM right after it must still remove the folder
            os.mkdir(built, 0o777)  # the umask applies, as for any new folder
            write_tables(frames, built, tables.raw_sha256, tables.sources)
            for path in built.iterdir():
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
            _fsync_dir(built)
            check_owned(processed)
            guard.critical = True  # a SIGTERM now waits until the swap is complete
            swap_in(built, processed)
        finally:
            if built.exists():
                shutil.rmtree(built)
    return {name: len(frame) for name, frame in frames.items()}
