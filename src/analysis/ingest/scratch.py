"""Private scratch folders and clean-up on signals.

The message-log ingest keeps plain-named links to its inputs in a scratch folder (DuckDB's
own temporary files are disabled, see :mod:`analysis.ingest.messages`).  The folder is

* private: a fresh subfolder with mode 0700, named ``takedowns-ingest-<pid>-<random>``,
  created inside the system temporary folder or inside the user's ``--temp-dir`` (itself
  created 0700 when it does not exist);
* removed when the ingest ends, fails, or receives SIGTERM/SIGINT (:func:`signals_raise`
  turns both into :class:`~analysis.errors.IngestInterrupted`, so that every ``finally``
  runs: the DuckDB query is interrupted, the connection closed, the folder and any partial
  output removed);
* swept when left behind by a run that was killed outright (SIGKILL, the OOM killer): at
  start, :func:`sweep_stale` removes every ``takedowns-ingest-<pid>-*`` folder in the same
  parent whose process no longer exists.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from analysis.errors import IngestError, IngestInterrupted

PREFIX = "takedowns-ingest-"
_NAME = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_stale(parent: str | Path) -> list[Path]:
    """Remove scratch folders of dead processes in ``parent``; return those removed."""
    removed = []
    folder = Path(parent)
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
    return removed


def make_scratch(temp_dir: str | Path | None = None) -> Path:
    """Create a private (0700) scratch folder; sweep stale ones next to it first.

    Parameters
    ----------
    temp_dir
        Parent folder (the user's ``--temp-dir``); created 0700 when missing.  Default: the
        system temporary folder.

    Raises
    ------
    IngestError
        When the parent is not a folder or cannot be written.
    """
    parent = Path(temp_dir) if temp_dir is not None else Path(tempfile.gettempdir())
    try:
        if not parent.exists():
            parent.mkdir(mode=0o700, parents=True)
        if not parent.is_dir():
            raise IngestError("temporary folder is not a folder", file=parent)
        sweep_stale(parent)
        made = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
        made.chmod(0o700)
    except OSError as error:
        raise IngestError(
            f"cannot create a private temporary folder ({error.strerror or error})", file=parent
        ) from error
    return made


def remove_scratch(folder: Path | None) -> None:
    """Delete a scratch folder and everything in it (missing folder: nothing to do)."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


_PENDING: list[int] = []  # signals received inside signals_raise(), oldest first


def _raise_interrupted(signum: int, _frame: object) -> None:
    _PENDING.append(signum)
    raise IngestInterrupted(signum)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`IngestInterrupted`.

    Only installs handlers in the main thread (elsewhere the block runs unchanged); the
    previous handlers are restored on exit.  DuckDB checks for signals inside its own calls
    and replaces the exception a handler raises there by its own ("Query interrupted", or a
    ``duckdb.Error`` that the ingest then turns into an :class:`IngestError`): so the signal
    is also recorded, and whatever leaves the block after a signal arrived is re-raised as
    :class:`IngestInterrupted` (the clean-up in every ``finally`` has run by then).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    _PENDING.clear()
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, _raise_interrupted)
    try:
        yield
    except IngestInterrupted:
        raise
    except BaseException as error:
        if _PENDING:
            raise IngestInterrupted(_PENDING[0]) from error
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
