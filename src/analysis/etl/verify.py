"""Check that ``data/processed`` is exactly what the ETL writes from ``data/raw``.

:func:`check_processed` is what ``takedowns validate`` runs after the raw files have been
checked: every resource of ``datapackage.json`` must exist with the SHA-256 recorded
there, every file of the folder must be one the ETL writes and is listed, the raw hash
recorded must be that of the raw files read now, and the data dictionary must be the one
the ETL would write.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis import __version__, schema
from analysis.checksums import sha256_file
from analysis.errors import ProcessedIntegrityError

REBUILD = "run `make data` (takedowns etl)"


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def check_processed(
    processed: Path, raw_sha256: str, frames: Mapping[str, pd.DataFrame] | None = None
) -> None:
    """Raise unless ``processed`` matches its ``datapackage.json`` and the raw files.

    Parameters
    ----------
    processed
        The ``data/processed`` folder.
    raw_sha256
        The hash of the raw files read now (:attr:`analysis.etl.build.Tables.raw_sha256`).
    frames
        The tables built now; when given, ``README.md`` is compared with the data
        dictionary they give.

    Raises
    ------
    ProcessedIntegrityError
        Naming the first file that is missing, altered, foreign or stale.
    """
    from analysis.etl.write import METADATA_PREFIX, family_counts, owned_names, sources_of

    package_path = processed / "datapackage.json"
    if not _regular(package_path):
        raise ProcessedIntegrityError(package_path, f"is missing; {REBUILD}")
    try:
        package = json.loads(package_path.read_text(encoding="utf-8"))
        resources = package["resources"]
        recorded_raw = package["custom"]["raw_sha256"]
    except (ValueError, KeyError, TypeError) as err:
        raise ProcessedIntegrityError(
            package_path, f"is not a datapackage written by the ETL ({err}); {REBUILD}"
        ) from None
    owned = owned_names()
    listed: set[str] = set()
    for resource in resources:
        name = str(resource.get("path", ""))
        path = processed / name
        if name not in owned:
            raise ProcessedIntegrityError(package_path, f"lists an unknown resource {name!r}")
        listed.add(name)
        if not _regular(path):
            raise ProcessedIntegrityError(
                path, f"is missing (listed in datapackage.json); {REBUILD}"
            )
        recorded = str(resource.get("hash", "")).removeprefix("sha256:")
        actual = sha256_file(path)
        if actual != recorded:
            raise ProcessedIntegrityError(
                path,
                f"has sha256 {actual[:12]}..., datapackage.json records {recorded[:12]}... "
                f"(altered or corrupt); {REBUILD}",
            )
        try:
            meta = pq.read_schema(path).metadata or {}
        except Exception as err:  # pyarrow raises several kinds
            raise ProcessedIntegrityError(
                path, f"is not readable Parquet ({err}); {REBUILD}"
            ) from None
        built_from = meta.get(f"{METADATA_PREFIX}.raw_sha256".encode(), b"").decode()
        if built_from != recorded_raw:
            raise ProcessedIntegrityError(path, f"was built from other raw files; {REBUILD}")
    for entry in sorted(processed.iterdir()):
        if entry.name not in owned:
            raise ProcessedIntegrityError(entry, "is not a file the ETL writes; move it elsewhere")
        if entry.suffix == ".parquet" and entry.name not in listed:
            raise ProcessedIntegrityError(entry, f"is not listed in datapackage.json; {REBUILD}")
    if recorded_raw != raw_sha256:
        raise ProcessedIntegrityError(
            processed, f"is stale (built from other raw files than data/raw holds now); {REBUILD}"
        )
    if frames is not None:
        names = [n for n in schema.TABLES if n in frames]
        counts = {n: len(frames[n]) for n in names}
        expected = schema.data_dictionary(
            names, __version__, counts, family_counts(frames), sources_of(frames)
        )
        readme = processed / "README.md"
        if not _regular(readme) or readme.read_text(encoding="utf-8") != expected:
            raise ProcessedIntegrityError(
                readme, f"is missing or differs from the data dictionary the ETL writes; {REBUILD}"
            )
