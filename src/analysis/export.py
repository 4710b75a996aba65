"""Export the processed tables as CSV and Stata ``.dta`` for R, Stata, Excel and the rest.

:func:`export_tables` reads the Parquet tables of ``data/processed`` (after checking each
file's SHA-256 against ``datapackage.json``) and writes, for every table,

* ``csv/<table>.csv``: UTF-8 without byte-order mark, comma-separated, ``\\n`` line ends, a
  header row, fields quoted only when needed; dates ISO ``YYYY-MM-DD``; booleans ``true`` /
  ``false``; numbers in the shortest form that reads back to the same double; an **empty
  cell is a missing value** (no ``NA``, ``nan`` or ``.``); vocabulary columns hold the term;
* ``stata/<table>.dta``: Stata 14+ format (version 118, UTF-8): vocabulary columns are labelled
  integers whose value labels are the terms (every term of the vocabulary, so unused terms
  show), booleans are 0/1 labelled ``false``/``true``, dates are ``%td``, variable labels
  are the schema descriptions (cut to Stata's 80 characters), the data label is the
  table's title; a missing string is Stata's empty string;

plus ``csv/datapackage.json`` (Frictionless tabular data package) describing the CSVs with
their hashes.  The bytes depend only on the processed tables: the ``.dta`` header's time
stamp is fixed at :data:`STATA_TIME_STAMP` and JSON keys are sorted.  Every file is written
to a temporary name and renamed, after all of them were written; nothing is left on error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import paths, schema
from analysis.checksums import sha256_file
from analysis.errors import ProcessedIntegrityError, TakedownError
from analysis.etl.verify import REBUILD

CSV_FOLDER = "csv"
"""Subfolder of the CSVs and their ``datapackage.json``."""
STATA_FOLDER = "stata"
"""Subfolder of the ``.dta`` files."""
STATA_VERSION = 118
"""Stata 14+ ``.dta``: UTF-8 strings, ``strL`` for long text."""
STATA_TIME_STAMP = dt.datetime(2000, 1, 1)
"""Fixed "saved on" stamp of the ``.dta`` header, so a rebuild gives the same bytes."""
STATA_LABEL_CHARS = 80
"""Longest variable, value and data label Stata keeps."""
STATA_STR_BYTES = 2045
"""Longest fixed ``str#``; longer text is written as ``strL``."""
_STATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
BOOLEAN_LABELS = {0: "false", 1: "true"}


def read_processed(processed: Path | None = None) -> tuple[dict[str, pa.Table], dict]:
    """Read every table listed in ``processed/datapackage.json``, checking its SHA-256.

    Returns the Arrow tables by name, in the package's order, and the package descriptor.

    Raises
    ------
    ProcessedIntegrityError
        If ``datapackage.json`` is missing or unreadable, or a file is missing or altered.
    """
    folder = processed or paths.processed_dir()
    package_path = folder / "datapackage.json"
    try:
        package = json.loads(package_path.read_text(encoding="utf-8"))
        resources = package["resources"]
    except FileNotFoundError:
        raise ProcessedIntegrityError(package_path, f"is missing; {REBUILD}") from None
    except (ValueError, KeyError, TypeError) as err:
        raise ProcessedIntegrityError(
            package_path, f"is not a datapackage written by the ETL ({err}); {REBUILD}"
        ) from None
    tables: dict[str, pa.Table] = {}
    for resource in resources:
        name = resource.get("name")
        if name not in schema.TABLES:
            raise ProcessedIntegrityError(package_path, f"lists an unknown table {name!r}")
        path = folder / schema.TABLES[name].path
        if not path.is_file():
            raise ProcessedIntegrityError(path, f"is missing; {REBUILD}")
        recorded = str(resource.get("hash", "")).removeprefix("sha256:")
        if sha256_file(path) != recorded:
            raise ProcessedIntegrityError(
                path, f"differs from the sha256 in datapackage.json (altered); {REBUILD}"
            )
        tables[name] = pq.read_table(path)
    return tables, package


def _column_strings(column: pa.ChunkedArray, f: schema.Field) -> list[str]:
    """Cells of one column as CSV text ('' for a missing value)."""
    out = []
    for value in column.to_pylist():
        if value is None:
            out.append("")
        elif f.type == "boolean":
            out.append("true" if value else "false")
        elif f.type == "date":
            out.append(value.isoformat())
        elif f.type == "number":
            out.append(repr(float(value)))
        else:
            out.append(str(value))
    return out


def csv_frame(table: schema.Table, arrow: pa.Table) -> pd.DataFrame:
    """The CSV text of every cell of ``arrow`` (see the module docstring for the rules)."""
    return pd.DataFrame(
        {f.name: _column_strings(arrow.column(f.name), f) for f in table.fields}, dtype=object
    )


def write_csv(table: schema.Table, arrow: pa.Table, path: Path) -> None:
    """Write one table as CSV (UTF-8, ISO dates, empty = missing)."""
    csv_frame(table, arrow).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def stata_label(text: str) -> str:
    """``text`` cut to Stata's 80 characters, at a word, with ``...`` when cut."""
    if len(text) <= STATA_LABEL_CHARS:
        return text
    cut = text[: STATA_LABEL_CHARS - 3].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "..."


def check_stata_names(table: schema.Table) -> None:
    """Raise ``ValueError`` if a column name is not a valid Stata name (<= 32 characters)."""
    for f in table.fields:
        if not _STATA_NAME.match(f.name):
            raise ValueError(
                f"{table.name}.{f.name}: not a valid Stata variable name "
                "(a letter or _, then letters, digits or _, at most 32 characters)"
            )


def stata_frame(
    table: schema.Table, arrow: pa.Table
) -> tuple[pd.DataFrame, dict[str, dict[int, str]], list[str]]:
    """The frame to write as ``.dta``, its value labels and the columns stored as ``strL``."""
    check_stata_names(table)
    # a build holding a machine-read export has vocabulary terms of its own (named in the
    # Parquet metadata: analysis.vocab.SOURCE_TERMS)
    sources = schema.vocabulary_sources(arrow.schema.metadata)
    data: dict[str, pd.Series] = {}
    labels: dict[str, dict[int, str]] = {}
    strl: list[str] = []
    for f in table.fields:
        values = arrow.column(f.name).to_pylist()
        if f.vocabulary is not None:
            terms = f.terms(sources) or []
            code = {term: i + 1 for i, term in enumerate(terms)}
            unlabelled = sorted({v for v in values if v is not None and v not in code})
            if unlabelled:  # a value label missing would silently become a missing value
                raise ValueError(
                    f"{table.name}.{f.name}: {unlabelled[:3]} not in the {f.vocabulary} "
                    "vocabulary of this build; cannot be labelled in Stata"
                )
            data[f.name] = pd.Series([code.get(v) for v in values], dtype="Int32")
            labels[f.name] = {i + 1: term for i, term in enumerate(terms)}
        elif f.type == "boolean":
            data[f.name] = pd.Series([None if v is None else int(v) for v in values], dtype="Int8")
            labels[f.name] = dict(BOOLEAN_LABELS)
        elif f.type == "date":
            data[f.name] = pd.Series(pd.to_datetime(values), dtype="datetime64[s]")
        elif f.type == "integer":
            data[f.name] = pd.Series(values, dtype="Int64")
        elif f.type == "number":
            data[f.name] = pd.Series(values, dtype="Float64")
        else:
            text = ["" if v is None else v for v in values]
            data[f.name] = pd.Series(text, dtype=object)
            if max((len(t.encode("utf-8")) for t in text), default=0) > STATA_STR_BYTES:
                strl.append(f.name)
    return pd.DataFrame(data), labels, strl


def write_dta(table: schema.Table, arrow: pa.Table, path: Path) -> None:
    """Write one table as Stata ``.dta`` (value and variable labels, fixed time stamp)."""
    frame, labels, strl = stata_frame(table, arrow)
    dates = {f.name: "td" for f in table.fields if f.type == "date"}
    frame.to_stata(
        path,
        write_index=False,
        version=STATA_VERSION,
        byteorder="<",
        time_stamp=STATA_TIME_STAMP,
        data_label=stata_label(table.title),
        variable_labels={f.name: stata_label(f.description) for f in table.fields},
        value_labels=labels,
        convert_dates=dates,
        convert_strl=strl,
    )


def csv_package(
    names: list[str], processed_package: Mapping[str, object], file_sha256: Mapping[str, str]
) -> dict[str, object]:
    """Frictionless descriptor of the exported CSVs (version, licence, raw hash kept)."""
    custom = processed_package.get("custom", {})
    sources = tuple(custom.get("vocabulary_sources", []) if isinstance(custom, Mapping) else [])
    resources = []
    for name in names:
        table = schema.TABLES[name]
        resources.append(
            {
                "name": table.name,
                "title": table.title,
                "description": table.description,
                "profile": "tabular-data-resource",
                "path": f"{name}.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": True, "quoteChar": '"'},
                "hash": f"sha256:{file_sha256[f'{name}.csv']}",
                "schema": schema.frictionless_schema(
                    table, schema.CSV_MISSING_VALUES, csv=True, sources=sources
                ),
            }
        )
    package = {
        key: processed_package[key]
        for key in ("name", "title", "version", "licenses", "sources", "custom")
        if key in processed_package
    }
    package["profile"] = "tabular-data-package"
    package["description"] = (
        "CSV copies of the processed Parquet tables (UTF-8, ISO dates, empty cell = missing). "
        "Stata .dta copies with value and variable labels lie beside them."
    )
    package["resources"] = resources
    return package


class ExportDestinationError(TakedownError):
    """The export folder cannot be written (a file stands where a folder is needed)."""

    def __init__(self, folder: str | Path, message: str) -> None:
        self.folder = folder
        super().__init__(f"{folder}: {message}")


def export_tables(out_dir: Path, processed: Path | None = None) -> list[Path]:
    """Write every processed table as CSV and ``.dta`` into ``out_dir/csv`` and ``out_dir/stata``.

    ``out_dir/csv/datapackage.json`` describes the CSVs, so ``out_dir`` itself can also hold
    a copy of ``data/processed`` (Parquet, its ``datapackage.json``, the data dictionary).

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing).  Existing files of the same names are
        replaced; other files are left alone.
    processed
        The processed folder to read (default ``data/processed``).

    Returns
    -------
    list of Path
        The files written, in a fixed order.

    Raises
    ------
    ProcessedIntegrityError
        If a processed table is missing or altered (nothing is written).
    ExportDestinationError
        If ``out_dir/csv`` or ``out_dir/stata`` is a file (nothing is written).
    """
    tables, package = read_processed(processed)
    out_dir = Path(out_dir)
    folders = {".csv": out_dir / CSV_FOLDER, ".dta": out_dir / STATA_FOLDER}
    for folder in (out_dir, *folders.values()):
        if folder.exists() and not folder.is_dir():
            raise ExportDestinationError(folder, "exists and is not a folder; nothing was written")
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    tag = f".tmp-{os.getpid()}"
    pending: list[tuple[Path, Path]] = []
    try:
        hashes: dict[str, str] = {}
        for name, arrow in tables.items():
            table = schema.TABLES[name]
            for suffix, writer in ((".csv", write_csv), (".dta", write_dta)):
                final = folders[suffix] / f"{name}{suffix}"
                temp = final.with_name(final.name + tag)
                pending.append((temp, final))
                writer(table, arrow, temp)
                hashes[final.name] = sha256_file(temp)
        descriptor = csv_package(list(tables), package, hashes)
        final = folders[".csv"] / "datapackage.json"
        temp = final.with_name(final.name + tag)
        pending.append((temp, final))
        temp.write_text(
            json.dumps(descriptor, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        for temp, final in pending:
            os.replace(temp, final)
    finally:
        for temp, _ in pending:
            temp.unlink(missing_ok=True)
    return [final for _, final in pending]
