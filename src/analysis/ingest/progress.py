"""Progress bars for long ingest runs.

DuckDB reports the progress of a running query through
:meth:`duckdb.DuckDBPyConnection.query_progress`; :func:`run_query` runs the query in a worker
thread and mirrors that percentage in a :mod:`tqdm` bar on standard error.

The query always runs in a worker thread, so the main thread stays responsive to signals:
when SIGTERM/SIGINT raises there (:func:`analysis.ingest.scratch.signals_raise`), the query
is interrupted (:meth:`~duckdb.DuckDBPyConnection.interrupt`) and waited for before the
exception goes on, so the caller can close the connection and remove the scratch folder.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import duckdb
import pandas as pd
from tqdm import tqdm

POLL_SECONDS = 0.2


def progress_wanted(progress: bool | None) -> bool:
    """Resolve ``progress=None`` to "show a bar when standard error is a terminal"."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def run_query(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, Any] | list[Any] | None = None,
    *,
    progress: bool = False,
    description: str = "ingest",
) -> pd.DataFrame:
    """Execute ``sql`` on ``con`` and return the result as a DataFrame.

    Parameters
    ----------
    con
        Open DuckDB connection.
    sql, params
        The query and its parameters.
    progress
        Show a tqdm bar (percent of the query done, as DuckDB estimates it).
    description
        Label of the bar.

    Raises
    ------
    duckdb.Error
        Whatever the query raises (re-raised in the calling thread).
    """
    if progress:
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        con.execute("SET progress_bar_time = 0")
    outcome: dict[str, Any] = {}
    finished = threading.Event()  # not Thread.join: a signal inside join() can corrupt it

    def work() -> None:
        try:
            outcome["frame"] = con.execute(sql, params).fetchdf()
        except BaseException as error:  # handed to the calling thread
            outcome["error"] = error
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="duckdb-ingest", daemon=True)
    bar = (
        tqdm(total=100, desc=description, unit="%", file=sys.stderr, leave=False)
        if progress
        else None
    )
    try:
        worker.start()
        while not finished.wait(POLL_SECONDS):
            if bar is not None:
                done = con.query_progress()
                if done >= 0:
                    bar.update(max(0.0, min(100.0, done) - bar.n))
        if bar is not None:
            bar.update(100 - bar.n)
    except BaseException:
        con.interrupt()
        finished.wait()
        raise
    finally:
        if bar is not None:
            bar.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["frame"]
