"""SYNTHETIC dumps in the official layout, with known contents, for tests and benchmarks.

:func:`generate_dumps` writes one outer zip per day (``sor-global-<day>-<version>.zip``)
holding inner ``...-<part>.csv.zip`` archives of CSV chunks, with the published column names
(``content_id_ean`` from July 2025), the published vocabularies, platform volumes skewed like a
Zipf law, free text with commas, quotes and line breaks, decisions filed up to a few days
late, and *malformed records* (a field missing) at known positions. It returns the valid
statements it wrote, so tests can compute the expected aggregates independently.

Every platform name is ``synthetic-platform-NN``: nothing here is real data.

For benchmarks, :func:`replicate_day` builds a large day (>= 5e7 records) cheaply by storing
the same inner archive several times under different part numbers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.ingest.dsa_tdb.layout import (
    DECISION_ACCOUNT,
    DECISION_MONETARY,
    DECISION_PROVISION,
    EEA_EXTRA,
    EU_COUNTRIES,
    FULL_COLUMNS,
    LIGHT_COLUMNS,
    PUBLIC_SECURITY_CATEGORY,
    TERRORIST_KEYWORD,
    era_for,
)

_V2_START = date(2025, 7, 1)


@dataclass
class GeneratedDumps:
    """What :func:`generate_dumps` wrote."""

    files: list[Path]
    statements: pd.DataFrame
    """Every valid record written (text as written, all columns)."""
    malformed: dict[str, list[int]] = field(default_factory=dict)
    """Record numbers (1 = first data record) of the malformed records, per CSV part name."""
    records: dict[str, int] = field(default_factory=dict)
    """Data records (valid + malformed) per CSV part name."""


def columns_for(day: date, version: str) -> tuple[str, ...]:
    """The header of a dump of ``day`` (``content_id_ean`` from July 2025)."""
    base = FULL_COLUMNS if version == "full" else LIGHT_COLUMNS
    if day < _V2_START:
        return base
    i = base.index("content_date") + 1
    return base[:i] + ("content_id_ean",) + base[i:]


def _json_list(items: list[str]) -> str:
    return "[" + ",".join(f'"{t}"' for t in items) + "]"


def _statements(day: date, n: int, rng: np.random.Generator, terrorist_share: float):
    era = era_for(day)
    categories = sorted(era.categories - {PUBLIC_SECURITY_CATEGORY})
    keywords = sorted(era.keywords - {TERRORIST_KEYWORD})
    platforms = [f"synthetic-platform-{i:02d}" for i in range(1, 9)]
    weights = 1.0 / np.arange(1, len(platforms) + 1) ** 1.2
    platform = rng.choice(platforms, size=n, p=weights / weights.sum())
    terrorist = rng.random(n) < terrorist_share
    wider = (~terrorist) & (rng.random(n) < terrorist_share)
    lag = np.where(rng.random(n) < 0.85, 0, rng.integers(1, 6, size=n))
    delay = rng.geometric(0.35, size=n) - 1
    delay = np.where(rng.random(n) < 0.01, -1, delay)
    rows = []
    eu = _json_list(EU_COUNTRIES)
    eea = _json_list(sorted(EU_COUNTRIES + list(EEA_EXTRA)))
    eea_no_is = _json_list(sorted(EU_COUNTRIES + ["LI", "NO"]))
    for i in range(n):
        decided = day - timedelta(days=int(lag[i]))
        posted = decided - timedelta(days=int(delay[i]))
        if terrorist[i]:
            category = PUBLIC_SECURITY_CATEGORY
            spec = _json_list([TERRORIST_KEYWORD])
        elif wider[i]:
            category = PUBLIC_SECURITY_CATEGORY
            spec = _json_list(["KEYWORD_ILLEGAL_ORGANIZATIONS"])
        else:
            category = categories[int(rng.integers(len(categories)))]
            spec = (
                _json_list([keywords[int(rng.integers(len(keywords)))]])
                if rng.random() < 0.5
                else ""
            )
        u = rng.random(8)
        scope_pick = rng.random()
        territorial = (
            eu
            if scope_pick < 0.5
            else eea
            if scope_pick < 0.7
            else eea_no_is
            if scope_pick < 0.8
            else _json_list(["DE"])
            if scope_pick < 0.9
            else _json_list(["FR", "IT"])
            if scope_pick < 0.97
            else ""
        )
        seconds = int(rng.integers(0, 86400))
        created = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
        rows.append(
            {
                "uuid": f"{int(rng.integers(0, 2**62)):032x}",
                "decision_visibility": _json_list(["DECISION_VISIBILITY_CONTENT_REMOVED"])
                if u[0] < 0.8
                else "",
                "decision_account": DECISION_ACCOUNT[int(u[1] * 2)] if u[1] < 0.1 else "",
                "decision_provision": DECISION_PROVISION[int(u[2] * 4 / 0.05) % 4]
                if u[2] < 0.05
                else "",
                "decision_monetary": DECISION_MONETARY[int(u[3] * 3 / 0.03) % 3]
                if u[3] < 0.03
                else "",
                "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
                "incompatible_content_ground": "Synthetic ground, section 3",
                "category": category,
                "category_addition": "[]" if u[4] < 0.5 else "",
                "category_specification": spec,
                "content_type": _json_list(["CONTENT_TYPE_TEXT"]),
                "content_date": "" if u[5] < 0.02 else f"{posted.isoformat()} 00:00:00",
                "territorial_scope": territorial,
                "application_date": f"{decided.isoformat()} 00:00:00",
                "decision_facts": 'Synthetic facts, "quoted", with a comma\nand a second line',
                "source_type": "SOURCE_VOLUNTARY",
                "automated_detection": "Yes" if u[6] < 0.7 else "No",
                "automated_decision": (
                    "AUTOMATED_DECISION_FULLY",
                    "AUTOMATED_DECISION_PARTIALLY",
                    "AUTOMATED_DECISION_NOT_AUTOMATED",
                )[int(u[7] * 3)],
                "platform_name": platform[i],
                "platform_uid": f"synthetic-{int(rng.integers(0, 2**40))}",
                "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
    return rows


def _csv_bytes(header: tuple[str, ...], rows: list[dict], malformed_at: list[int]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    bad = set(malformed_at)
    record = 0
    written = 0
    while written < len(rows) or (record + 1) in bad:
        record += 1
        if record in bad:
            writer.writerow(["broken"] * (len(header) - 3))
            continue
        row = rows[written]
        writer.writerow([row.get(c, "") for c in header])
        written += 1
    return buffer.getvalue().encode("utf-8")


def generate_dumps(
    folder: str | Path,
    days: list[date] | tuple[date, ...] = (date(2025, 6, 30), date(2025, 7, 1)),
    *,
    statements_per_day: int = 2_000,
    parts_per_day: int = 2,
    chunks_per_part: int = 2,
    version: str = "full",
    terrorist_share: float | dict[date, float] = 0.02,
    malformed_per_chunk: int = 1,
    seed: int = 0,
    sha1: bool = True,
) -> GeneratedDumps:
    """Write SYNTHETIC daily dumps into ``folder``; return what was written.

    Parameters
    ----------
    days
        Dump days (one outer archive each).
    statements_per_day
        Valid statements per day (split evenly over parts and chunks).
    terrorist_share
        Share of statements with the terrorist-content keyword (the same share again gets the
        public-security category with another keyword: the wider scope); a dict gives the
        share per dump day (days not in it: 0.02), e.g. to simulate a crackdown.
    malformed_per_chunk
        Records with a missing field per CSV chunk, at known positions.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files: list[Path] = []
    written: list[dict] = []
    malformed: dict[str, list[int]] = {}
    records: dict[str, int] = {}
    for day in days:
        header = columns_for(day, version)
        share = (
            terrorist_share.get(day, 0.02) if isinstance(terrorist_share, dict) else terrorist_share
        )
        rows = _statements(day, statements_per_day, rng, share)
        stem = f"sor-global-{day.isoformat()}-{version}"
        outer_path = folder / f"{stem}.zip"
        n_chunks = parts_per_day * chunks_per_part
        bounds = np.linspace(0, len(rows), n_chunks + 1).astype(int)
        with zipfile.ZipFile(outer_path, "w", compression=zipfile.ZIP_STORED) as outer:
            for part in range(parts_per_day):
                inner_buffer = io.BytesIO()
                with zipfile.ZipFile(inner_buffer, "w", compression=zipfile.ZIP_DEFLATED) as inner:
                    for chunk in range(chunks_per_part):
                        k = part * chunks_per_part + chunk
                        chunk_rows = rows[bounds[k] : bounds[k + 1]]
                        total = len(chunk_rows) + malformed_per_chunk
                        positions = (
                            sorted(
                                int(p) + 1
                                for p in rng.choice(total, size=malformed_per_chunk, replace=False)
                            )
                            if malformed_per_chunk
                            else []
                        )
                        name = f"{stem}-{part:05d}-{chunk:05d}.csv"
                        inner.writestr(name, _csv_bytes(header, chunk_rows, positions))
                        full_name = f"{outer_path.name}!{stem}-{part:05d}.csv.zip!{name}"
                        malformed[full_name] = positions
                        records[full_name] = total
                outer.writestr(f"{stem}-{part:05d}.csv.zip", inner_buffer.getvalue())
        if sha1:
            digest = hashlib.sha1(outer_path.read_bytes(), usedforsecurity=False).hexdigest()
            (folder / f"{outer_path.name}.sha1").write_text(f"{digest}  {outer_path.name}\n")
        files.append(outer_path)
        for row in rows:
            written.append({c: row.get(c, "") for c in header} | {"_dump": outer_path.name})
    statements = pd.DataFrame(written).fillna("")
    return GeneratedDumps(files, statements, malformed, records)


def replicate_day(
    folder: str | Path,
    day: date,
    *,
    statements_per_part: int = 1_000_000,
    parts: int = 50,
    version: str = "light",
    terrorist_share: float = 0.002,
    seed: int = 0,
) -> Path:
    """A large SYNTHETIC day for benchmarks: one inner archive stored ``parts`` times.

    Returns the outer archive; it holds ``parts * statements_per_part`` records (rounded
    down to a multiple of the 20,000-record block that is repeated).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    header = columns_for(day, version)
    stem = f"sor-global-{day.isoformat()}-{version}"
    block = _statements(day, min(statements_per_part, 20_000), rng, terrorist_share)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    body = io.StringIO(newline="")
    body_writer = csv.writer(body, lineterminator="\n")
    for row in block:
        body_writer.writerow([row.get(c, "") for c in header])
    repeats = max(1, statements_per_part // len(block))
    text = buffer.getvalue() + body.getvalue() * repeats
    inner_buffer = io.BytesIO()
    with zipfile.ZipFile(inner_buffer, "w", compression=zipfile.ZIP_DEFLATED) as inner:
        inner.writestr(f"{stem}-00000-00000.csv", text.encode("utf-8"))
    data = inner_buffer.getvalue()
    outer_path = folder / f"{stem}.zip"
    with zipfile.ZipFile(outer_path, "w", compression=zipfile.ZIP_STORED) as outer:
        for part in range(parts):
            outer.writestr(f"{stem}-{part:05d}.csv.zip", data)
    return outer_path


_TIMESTAMP_COLUMNS = (
    "end_date_visibility_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_account_restriction",
    "content_date",
    "application_date",
    "created_at",
)


def write_parquet_chunks(generated: GeneratedDumps, folder: str | Path) -> list[Path]:
    """The valid statements of SYNTHETIC dumps as typed Parquet, one file per dump.

    Parquet as ``dsa-tdb``'s chunking writes it: array columns (:data:`.layout.ARRAY_COLUMNS`)
    as lists of strings, dates as timestamps, everything else as text, empty fields as
    nulls; named ``sor-<platform>-<date>-<version>-00000.parquet``. For testing the Parquet
    input of both engines against the CSV dumps the statements came from.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.ingest.dsa_tdb.layout import ARRAY_COLUMNS

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for dump, rows in generated.statements.groupby("_dump", sort=True):
        rows = rows.drop(columns="_dump")
        arrays, fields = [], []
        for column in rows.columns:
            values = [None if v == "" else v for v in rows[column].tolist()]
            if column in ARRAY_COLUMNS:
                kind = pa.list_(pa.string())
                values = [None if v is None else json.loads(v) for v in values]
            elif column in _TIMESTAMP_COLUMNS:
                kind = pa.timestamp("s")
                values = [None if v is None else datetime.fromisoformat(v) for v in values]
            else:
                kind = pa.string()
            arrays.append(pa.array(values, type=kind))
            fields.append(pa.field(column, kind))
        stem = str(dump).removesuffix(".zip")
        path = folder / f"{stem}-00000.parquet"
        pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)
        paths.append(path)
    return paths
