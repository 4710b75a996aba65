"""Writing ingest outputs: all or nothing, described, and never where they must not go.

A table is written to a temporary file in the destination folder and moved into place with
:func:`os.replace` (atomic on POSIX), so a failure leaves any earlier output untouched and no
partial file behind.  Its metadata (key fingerprint, demo-key flag, observation end,
detection horizon, units...) goes into the Parquet key-value metadata, or for CSV into a
sidecar ``<output>.meta.json`` written the same way, just before the table.

Destinations are checked before any input is read (:func:`check_destination`): the suffix
must be ``.parquet`` or ``.csv``; nothing is written under ``data/processed`` (the ETL owns
that folder); raw (unhashed) identifiers are refused anywhere inside the repository.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import paths
from analysis.errors import UnsafeDestinationError

OUTPUT_SUFFIXES = (".parquet", ".csv")
METADATA_KEY = "takedowns_ingest"


def _inside(target: Path, folder: Path) -> bool:
    return target == folder or folder in target.parents


def check_destination(path: str | Path, *, raw_identifiers: bool = False) -> Path:
    """Refuse an output path before anything is read; return it.

    Raises
    ------
    UnsafeDestinationError
        Suffix other than ``.parquet``/``.csv``; a path under ``data/processed``; raw
        identifiers anywhere inside the repository; an existing folder at the path.
    """
    target = Path(path)
    if target.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UnsafeDestinationError(
            "output must end in .parquet or .csv", file=target, value=target.suffix
        )
    resolved = target.resolve()
    root = paths.repo_root().resolve()
    if _inside(resolved, paths.processed_dir().resolve()):
        raise UnsafeDestinationError(
            "ingest outputs may not be written under data/processed (the ETL owns that "
            "folder); choose a path outside it",
            file=path,
        )
    if raw_identifiers and _inside(resolved, root):
        raise UnsafeDestinationError(
            f"raw channel identifiers may not be written inside the repository ({root}); "
            "write them outside it, or drop --raw-identifiers so ids, handles and titles "
            "are hashed",
            file=path,
        )
    if target.is_dir():
        raise UnsafeDestinationError("output path is a folder; expected a file name", file=path)
    return target


def ensure_private_destination(path: str | Path, *, raw_identifiers: bool) -> None:
    """Backwards-compatible alias of :func:`check_destination`."""
    check_destination(path, raw_identifiers=raw_identifiers)


def sidecar_path(path: str | Path) -> Path:
    """``<output>.meta.json``: where the metadata of a CSV output goes."""
    target = Path(path)
    return target.with_name(target.name + ".meta.json")


def read_output_metadata(path: str | Path) -> dict[str, str]:
    """Metadata written by :func:`write_table_atomic` (Parquet key-value, or CSV sidecar)."""
    target = Path(path)
    if target.suffix.lower() == ".parquet":
        raw = pq.read_schema(target).metadata or {}
        blob = raw.get(METADATA_KEY.encode())
        return json.loads(blob) if blob else {}
    side = sidecar_path(target)
    return json.loads(side.read_text(encoding="utf-8")) if side.exists() else {}


def _tmp_near(target: Path, suffix: str = ".tmp") -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(handle)
    return Path(name)


def write_table_atomic(
    frame: pd.DataFrame, path: str | Path, metadata: dict[str, object] | None = None
) -> Path:
    """Write ``frame`` to ``path`` (``.parquet`` or ``.csv``) atomically; return the path.

    Parameters
    ----------
    frame
        The table.
    path
        Destination.
    metadata
        Strings (JSON-serialisable values) recorded with the table: Parquet key-value
        metadata (each key, plus all of them as JSON under ``takedowns_ingest``), or the
        sidecar ``<output>.meta.json`` for CSV.

    Raises
    ------
    UnsafeDestinationError
        For an unsupported suffix.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise UnsafeDestinationError(
            "output must end in .parquet or .csv", file=target, value=target.suffix
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {str(k): _text(v) for k, v in (metadata or {}).items()}
    tmp = _tmp_near(target)
    side_tmp: Path | None = None
    try:
        if suffix == ".parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if meta:
                kv = dict(table.schema.metadata or {})
                kv.update({k.encode(): v.encode() for k, v in meta.items()})
                kv[METADATA_KEY.encode()] = json.dumps(meta, sort_keys=True).encode()
                table = table.replace_schema_metadata(kv)
            pq.write_table(table, tmp)
        else:
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
            if meta:
                side_tmp = _tmp_near(target, ".meta.tmp")
                side_tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if side_tmp is not None:
            os.replace(side_tmp, sidecar_path(target))
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, side_tmp):
            if leftover is not None and leftover.exists():
                leftover.unlink()
    return target


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
