"""How a CSV part reaches DuckDB's reader: through a named pipe, or a scratch file.

DuckDB's CSV reader needs a path. The part's bytes are inflated out of the nested archives
(:meth:`.reader.CsvPart.write_to`) by a writer thread, either

- ``"pipe"``: into a named pipe (FIFO) in the private scratch folder, read by DuckDB as it is
  written: nothing is written to disk and memory holds only the pipe's 1 MB buffer; the
  inflate and the parse run at the same time. Measured on a 404 MB part (10^6 statements):
  1.5 CPU-s per part, against 2.1 CPU-s through a scratch file on disk (writing 400 MB of
  page cache costs 0.75 s of system time); or
- ``"file"``: into a scratch file first (the fallback where named pipes do not exist, e.g.
  Windows), then read.

A pipe is read once. When a record has to be located after the scan (a bad term or date,
for the error message), :meth:`PartSource.rescannable` writes the part to a scratch file
and returns its path: only on the error path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path
from typing import Literal

from analysis.ingest.dsa_tdb.reader import ARCHIVE_ERRORS, CsvPart, DsaTdbError

Transport = Literal["auto", "pipe", "file"]
TRANSPORTS = ("auto", "pipe", "file")

_PIPE_BYTES = 1 << 20
"""Pipe buffer asked for (Linux's default maximum for unprivileged processes): with the
default 64 kB the writer and DuckDB switched 16 times as often and the part cost 0.4 CPU-s
more."""
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def resolve_transport(transport: Transport) -> Literal["pipe", "file"]:
    """``"auto"``: a pipe where the system has named pipes, a scratch file elsewhere."""
    if transport not in TRANSPORTS:
        raise DsaTdbError(f"transport {transport!r}: expected one of {', '.join(TRANSPORTS)}")
    if transport == "auto":
        return "pipe" if hasattr(os, "mkfifo") else "file"
    if transport == "pipe" and not hasattr(os, "mkfifo"):
        raise DsaTdbError("transport 'pipe' needs named pipes, which this system lacks")
    return transport


class _Cancelled(Exception):
    """The reader is done: the writer stops."""


class _TrackingSink:
    """Write to a raw file descriptor, remembering the last byte written."""

    def __init__(self, fd: int, cancelled: threading.Event) -> None:
        self.fd = fd
        self.cancelled = cancelled
        self.last = b""
        self.size = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            if self.cancelled.is_set():
                raise _Cancelled
            written = os.write(self.fd, view)
            view = view[written:]
        if data:
            self.last = bytes(data[-1:])
            self.size += len(data)
        return len(data)


def _archive_error(part: CsvPart, error: BaseException) -> DsaTdbError:
    return DsaTdbError(
        f"damaged or truncated archive member ({error}); download it again", file=part.name
    )


class PartSource:
    """A CSV part as a path for DuckDB (see the module docstring); use as a context manager.

    After the scan, call :meth:`finish` (it waits for the writer and raises an archive error
    the writer met); :attr:`ends_with_newline` then tells whether the part's last record is
    complete.
    """

    def __init__(self, part: CsvPart, scratch: Path, index: int, transport: Transport) -> None:
        self.part = part
        self.scratch = Path(scratch)
        self.index = index
        self.mode = resolve_transport(transport)
        self.path = self.scratch / f"part-{index:06d}.{'pipe' if self.mode == 'pipe' else 'csv'}"
        self._copy: Path | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._sink: _TrackingSink | None = None
        self._finished = False

    # -- set-up and tear-down -------------------------------------------------------------
    def __enter__(self) -> PartSource:
        if self.mode == "file":
            self._write_file(self.path)
            return self
        os.mkfifo(self.path, 0o600)
        self._thread = threading.Thread(
            target=self._write_pipe, name=f"dsa-tdb-part-{self.index}", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._stop_writer()
        finally:
            self.path.unlink(missing_ok=True)
            if self._copy is not None:
                self._copy.unlink(missing_ok=True)

    def _write_file(self, target: Path) -> None:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                sink = _TrackingSink(fd, self._cancelled)
                self.part.write_to(sink)
            finally:
                os.close(fd)
        except ARCHIVE_ERRORS as error:
            raise _archive_error(self.part, error) from None
        if target == self.path:
            self._sink = sink

    def _write_pipe(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY)  # blocks until DuckDB opens the pipe
        except OSError as error:  # pragma: no cover - the scratch folder vanished
            self._error = error
            return
        try:
            try:
                fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)
            except OSError:  # pragma: no cover - a lower system limit: the default buffer
                pass
            self._sink = _TrackingSink(fd, self._cancelled)
            self.part.write_to(self._sink)
        except _Cancelled:
            pass
        except BrokenPipeError:
            pass  # the reader stopped early (its own error is raised by the scan)
        except ARCHIVE_ERRORS as error:
            if not (isinstance(error, OSError) and error.errno == errno.EPIPE):
                self._error = error
        finally:
            os.close(fd)

    def _stop_writer(self) -> None:
        """Wait for the writer; release it when the reader went away before the end."""
        thread = self._thread
        if thread is None:
            return
        thread.join(timeout=0.5)  # at the end of a scan, the writer is closing
        while thread.is_alive():
            self._cancelled.set()
            # a writer blocked opening the pipe, or writing into a full pipe nobody reads:
            # open the read end (unblocks the open), drain it, close it (EPIPE for the write)
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                fd = None
            if fd is not None:
                try:
                    while os.read(fd, _PIPE_BYTES):
                        pass
                except BlockingIOError:
                    pass
                finally:
                    os.close(fd)
            thread.join(timeout=0.05)
        self._thread = None

    # -- after the scan -------------------------------------------------------------------
    def finish(self) -> None:
        """Wait for the writer; raise the archive error it met, if any."""
        if self._finished:
            return
        self._stop_writer()
        self._finished = True
        if self._error is not None:
            raise _archive_error(self.part, self._error)

    @property
    def ends_with_newline(self) -> bool:
        """Whether the part's last byte is a line break (else its last record is cut)."""
        if self._sink is None:
            return True
        return self._sink.size == 0 or self._sink.last == b"\n"

    def rescannable(self) -> Path:
        """A path DuckDB can read again: the part itself, or a scratch copy of a pipe."""
        if self.mode == "file":
            return self.path
        if self._copy is None:
            copy = self.scratch / f"part-{self.index:06d}.csv"
            self._write_file(copy)
            self._copy = copy
        return self._copy
