"""Reading DSA Transparency Database dump files: the CSV parts inside the nested zips.

A published day is ``sor-<platform>-<date>-<version>.zip``, holding inner archives
``...-<part>.csv.zip``, each holding CSV parts ``...-<part>-<chunk>.csv``. Nothing is
unzipped as a whole: :func:`csv_parts` lists the parts, each of which can be opened as a
stream or written (:meth:`CsvPart.write_to`, by the engines) into a named pipe or a scratch
file (:mod:`.transport`); a stored inner archive is inflated straight from the outer file
(:func:`_nested_copier`). Plain ``.csv`` parts and
Parquet chunks with the dump's columns (:func:`parquet_batches`) are read too.

A header with an unknown column or without a required one, a damaged archive and a
``.sha1`` mismatch stop the run with :class:`DsaTdbError` naming the file. Malformed
records are counted by the engines (DuckDB's rejects, with their record numbers).
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.errors import IngestError

try:  # ISA-L inflate: 2.4x faster than zlib on dump parts (benchmarks/bench_dsa_tdb.py)
    from isal import isal_zlib as _inflate_lib
except ImportError:  # pragma: no cover - isal is a pinned dependency
    _inflate_lib = zlib
from analysis.ingest.dsa_tdb.layout import (
    KNOWN_COLUMNS,
    REQUIRED_COLUMNS,
)

READ_COLUMNS = REQUIRED_COLUMNS + ("territorial_scope",)

ARCHIVE_ERRORS: tuple[type[BaseException], ...] = tuple(
    {zipfile.BadZipFile, EOFError, zlib.error, OSError, _inflate_lib.error}
)
"""What a damaged or truncated archive raises while a part is inflated (ISA-L's inflate
error is not a ``zlib.error``)."""


class DsaTdbError(IngestError):
    """A DSA Transparency Database dump cannot be read (layout, vocabulary, dates...)."""


class DsaTdbVocabularyError(DsaTdbError):
    """A dump uses a term outside the known vocabulary of its era."""


@dataclass
class PartStats:
    """What one CSV part held: for reconciliation with the dump's own counts."""

    name: str
    records: int = 0
    malformed: int = 0
    malformed_records: list[int] = field(default_factory=list)
    header: tuple[str, ...] = ()

    @property
    def valid(self) -> int:
        return self.records - self.malformed


@dataclass
class CsvPart:
    """One CSV part of a dump, openable as a binary stream any number of times."""

    name: str
    open: Callable[[], IO[bytes]]
    copy_to: Callable[[IO[bytes]], None] | None = None
    """Faster copy of the part's bytes into a file (a stored inner archive read with zlib
    straight from the outer file), or None: then ``open`` is streamed."""

    def write_to(self, sink: IO[bytes]) -> None:
        """Write the part's CSV bytes into ``sink``."""
        if self.copy_to is not None:
            self.copy_to(sink)
            return
        with self.open() as source:
            shutil.copyfileobj(source, sink, 1 << 22)


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_CHUNK = 1 << 20
_MAX_OUT = 8 << 20


def _data_start(handle: IO[bytes], header_offset: int) -> int:
    """Offset of a member's data, from its local file header at ``header_offset``."""
    handle.seek(header_offset)
    fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
    if fields[0] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local file header")
    return header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]


def _nested_copier(
    path: Path,
    outer_info: zipfile.ZipInfo,
    inner_info: zipfile.ZipInfo,
    *,
    check_crc: bool = True,
) -> Callable[[IO[bytes]], None] | None:
    """Copy an inner member of a *stored* inner archive straight from the outer file.

    Python's nested ``ZipExtFile`` streams cost about twice the time of inflating directly
    (with ISA-L's inflate when ``isal`` is installed: 0.37 s instead of zlib's 0.88 s of CPU
    for a 400 MB part; measured in ``benchmarks/bench_dsa_tdb.py``); the CRC-32 and size in
    the archive are checked (the CRC-32 only with ``check_crc``: it is skipped when the
    whole archive's published SHA-1 has been verified).
    """
    if outer_info.compress_type != zipfile.ZIP_STORED:
        return None
    if inner_info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None

    def copy(sink: IO[bytes]) -> None:
        with path.open("rb") as handle:
            outer_start = _data_start(handle, outer_info.header_offset)
            start = _data_start(handle, outer_start + inner_info.header_offset)
            handle.seek(start)
            remaining = inner_info.compress_size
            inflate = (
                _inflate_lib.decompressobj(-15)
                if inner_info.compress_type == zipfile.ZIP_DEFLATED
                else None
            )
            crc, size = 0, 0

            def emit(data: bytes) -> None:
                nonlocal crc, size
                if check_crc:
                    crc = _inflate_lib.crc32(data, crc)
                size += len(data)
                sink.write(data)

            while remaining > 0:
                block = handle.read(min(_CHUNK, remaining))
                if not block:
                    raise EOFError("archive ends inside a member")
                remaining -= len(block)
                if inflate is None:
                    emit(block)
                    continue
                # bounded output per call: unbounded calls built 100 MB buffers and cost 4x
                # the CPU (page faults, cache misses)
                emit(inflate.decompress(block, _MAX_OUT))
                while inflate.unconsumed_tail:
                    emit(inflate.decompress(inflate.unconsumed_tail, _MAX_OUT))
            if inflate is not None:
                emit(inflate.flush())
            if (check_crc and crc != inner_info.CRC) or size != inner_info.file_size:
                raise zipfile.BadZipFile("CRC-32 or size differs from the archive's record")

    return copy


def sha1_check(path: Path) -> str | None:
    """Compare ``path`` with its published ``<path>.sha1``; return the digest or None.

    Raises
    ------
    DsaTdbError
        The digest file exists and does not match (a damaged or truncated download).
    """
    digest_file = path.with_name(path.name + ".sha1")
    if not digest_file.exists():
        return None
    expected = digest_file.read_text(encoding="ascii").split()[0].lower()
    actual = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            actual.update(chunk)
    if actual.hexdigest() != expected:
        raise DsaTdbError(
            f"SHA-1 {actual.hexdigest()} differs from the published {expected} "
            f"({digest_file.name}): the file is damaged or truncated; download it again",
            file=path,
        )
    return expected


@contextmanager
def csv_parts(path: Path, *, check_crc: bool = True) -> Iterator[list[CsvPart]]:
    """The CSV parts of one dump file (outer zip, inner ``.csv.zip`` or ``.csv``), in order."""
    path = Path(path)
    with ExitStack() as stack:
        try:
            if path.suffix == ".csv":
                yield [CsvPart(path.name, lambda: path.open("rb"))]
                return
            outer = stack.enter_context(zipfile.ZipFile(path))
            parts: list[CsvPart] = []
            for member in sorted(outer.namelist()):
                if member.endswith(".zip"):
                    inner = stack.enter_context(zipfile.ZipFile(outer.open(member)))
                    for chunk in sorted(inner.namelist()):
                        if chunk.endswith(".csv"):
                            parts.append(
                                CsvPart(
                                    f"{path.name}!{member}!{chunk}",
                                    lambda inner=inner, chunk=chunk: inner.open(chunk),
                                    _nested_copier(
                                        path,
                                        outer.getinfo(member),
                                        inner.getinfo(chunk),
                                        check_crc=check_crc,
                                    ),
                                )
                            )
                elif member.endswith(".csv"):
                    parts.append(
                        CsvPart(
                            f"{path.name}!{member}",
                            lambda member=member: outer.open(member),
                        )
                    )
        except ARCHIVE_ERRORS as error:
            raise DsaTdbError(
                f"damaged or truncated archive ({error}); download it again", file=path
            ) from None
        if not parts:
            raise DsaTdbError("archive holds no CSV part", file=path)
        yield parts


def read_header(part: CsvPart) -> tuple[str, ...]:
    """The header of a CSV part, checked against the published columns."""
    with part.open() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        header = next(csv.reader(text), None)
    if not header:
        raise DsaTdbError("empty CSV part (no header)", file=part.name, row=1)
    unknown = [c for c in header if c not in KNOWN_COLUMNS]
    if unknown:
        raise DsaTdbError(
            "unknown column in the header: the dump layout changed; check the dsa-tdb "
            "documentation and update analysis.ingest.dsa_tdb.layout",
            file=part.name,
            row=1,
            column=unknown[0],
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DsaTdbError(
            "required column missing from the header", file=part.name, row=1, column=missing[0]
        )
    return tuple(header)


def check_parquet_columns(names: Iterable[str], path: Path) -> list[str]:
    """The needed columns of a Parquet chunk, after checking its columns are the dump's."""
    names = list(names)
    unknown = [c for c in names if c not in KNOWN_COLUMNS]
    if unknown:
        raise DsaTdbError("unknown column", file=path, column=unknown[0])
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise DsaTdbError("required column missing", file=path, column=missing[0])
    return [c for c in READ_COLUMNS if c in names]


def parquet_batches(path: Path, stats: PartStats) -> Iterator[pa.RecordBatch]:
    """Batches of the needed columns of a Parquet chunk written by ``dsa-tdb``, as typed."""
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise DsaTdbError(f"cannot read the Parquet file ({error})", file=path) from None
    names = tuple(handle.schema_arrow.names)
    stats.header = names
    wanted = check_parquet_columns(names, path)
    for batch in handle.iter_batches(batch_size=1 << 18, columns=wanted):
        stats.records += batch.num_rows
        yield batch  # typed as written (lists, timestamps): the engines turn them into text
