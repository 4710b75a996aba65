"""Writing ingest outputs: all or nothing, and never raw identifiers in ``data/processed``.

A table is written to a temporary file in the destination folder and moved into place with
:func:`os.replace` (atomic on POSIX), so a failure leaves any earlier output untouched and no
partial file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import IngestError


def ensure_private_destination(path: str | Path, *, raw_identifiers: bool) -> None:
    """Refuse to write raw (unhashed) identifiers anywhere under ``data/processed``.

    Raises
    ------
    IngestError
        When ``raw_identifiers`` is true and ``path`` lies in :func:`analysis.paths.processed_dir`.
    """
    if not raw_identifiers:
        return
    target = Path(path).resolve()
    processed = paths.processed_dir().resolve()
    if target == processed or processed in target.parents:
        raise IngestError(
            "raw channel identifiers may not be written under data/processed; "
            "drop the raw-identifiers option so handles and titles are hashed",
            file=path,
        )


def write_table_atomic(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` (``.parquet`` or ``.csv``) atomically; return the path.

    Raises
    ------
    IngestError
        For an unsupported suffix.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in {".parquet", ".csv"}:
        raise IngestError("output must end in .parquet or .csv", file=target, value=target.suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
