"""Execute the notebooks headlessly (``takedowns figures``, ``make figures``).

Every ``notebooks/NN_topic.ipynb`` found is run with papermill; new notebooks are picked up
without any list to update.  How a run behaves:

* **Where outputs go.** The runner sets :data:`~analysis.reports.OUTPUT_ENV`
  (``TAKEDOWNS_REPORTS_DIR``) in the kernel's environment; :func:`analysis.plots.save_figure`
  and :func:`analysis.reports.write_numbers` write there when a notebook passes
  ``output_root=None``.  Nothing is injected as a path, so the executed notebook (and its
  HTML report) holds no absolute path.  An interactive run in JupyterLab has no such variable
  and writes to the scratch folder ``build/scratch/`` instead of the canonical ``reports/``.
* **Kernel.** Headless runs use the ``python3`` kernel of the running interpreter
  (jupyter_client maps a ``python`` command to ``sys.executable``), so the project kernel
  does not need to be registered in CI; the notebooks' own metadata name the project kernel
  ``takedown-dynamics`` for JupyterLab (``make lab``).
* **Transport.** The kernel talks to the runner over local Unix-domain sockets
  (``transport="ipc"``), which only this user can open, instead of TCP on 127.0.0.1: that is
  what ipykernel's "Kernel is running over TCP without encryption" warning asks for, so the
  warning is gone because its cause is gone (it is not filtered).
* **Parallel.** ``jobs=2`` runs two notebooks at once in separate processes (each notebook
  has its own kernel and output files, so the outputs are byte-identical to a serial run);
  the longest notebooks of the previous run start first (timings kept in
  ``build/figures-timings.json``, outside the outputs).
* **Progress.** One line per finished notebook: ``[2/6] 02_enforcement_over_time 9.1 s``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from analysis import paths
from analysis.errors import TakedownError

KERNEL_NAME = "python3"
"""Kernel of headless runs (the current interpreter; see the module docstring)."""

PROJECT_KERNEL = {
    "name": "takedown-dynamics",
    "display_name": "Python (takedown-dynamics)",
    "language": "python",
}
"""Kernelspec stored in every notebook: the kernel ``make lab`` / ``make kernel`` registers."""

FAILED_DIR = "build/failed-notebooks"
"""Where the executed copy of a notebook that raised is kept (repository-relative)."""

TIMINGS_FILE = "build/figures-timings.json"
"""Seconds per notebook of the last run (repository-relative), used to order parallel runs."""


class NotebookFailedError(TakedownError):
    """A notebook raised while executing (which notebook, which cell, what error)."""


@dataclass(frozen=True)
class NotebookRun:
    """What one notebook run wrote and how long it took."""

    notebook: str
    seconds: float
    written: tuple[Path, ...]


def notebook_paths(names: Sequence[str] | None = None, folder: Path | None = None) -> list[Path]:
    """Return the notebooks ``NN_*.ipynb`` in ``folder``, optionally only ``names``.

    A name may be the stem (``02_enforcement_over_time``), the file name, or the number
    prefix (``02``).
    """
    folder = folder or paths.notebooks_dir()
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        stem = Path(name).stem
        hits = [p for p in found if p.stem == stem or p.stem.split("_", 1)[0] == stem]
        if not hits:
            known = ", ".join(p.stem for p in found)
            raise FileNotFoundError(f"no notebook {name!r} in {folder}; expected one of: {known}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def relative_to_repo(path: str | Path) -> str:
    """``path`` relative to the repository root when it lies inside it, else unchanged."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(paths.repo_root().resolve()))
    except ValueError:
        return str(path)


def notebook_parameters(
    notebook: Path, *, fast: bool, processed_dir: Path | None = None
) -> dict[str, Any]:
    """Parameters injected into one notebook's ``parameters`` cell.

    No output path is injected (the kernel's environment carries it); ``processed_dir`` is
    injected as an absolute path when given (the kernel runs in ``notebooks/``), and the
    HTML report, which hides code anyway, shows paths relative to the repository.
    """
    from analysis.reports import FAST_PARAMETERS

    params: dict[str, Any] = {"fast": bool(fast)}
    if processed_dir is not None:
        params["processed_dir"] = str(Path(processed_dir).resolve())
    if fast:
        params.update(FAST_PARAMETERS.get(notebook.stem, {}))
    return params


def _ipc_kernel_manager() -> type:
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    class IpcKernelManager(AsyncKernelManager):
        """A kernel manager whose kernel listens on Unix-domain sockets, not TCP.

        The socket path is absolute (in Jupyter's runtime folder, private to the user):
        the kernel runs in ``notebooks/`` while the runner may run elsewhere.  The socket
        files are removed with the connection file when the kernel stops.
        """

        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default("ip")
        def _default_ip(self) -> str:
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            return str(runtime / f"takedowns-{uuid.uuid4().hex[:12]}-ipc")

    return IpcKernelManager


def _execute(notebook: Path, executed: Path, params: Mapping[str, Any], output_root: Path) -> None:
    import papermill as pm

    from analysis.reports import OUTPUT_ENV

    saved = {k: os.environ.get(k) for k in ("MPLBACKEND", OUTPUT_ENV, "PYTHONHASHSEED")}
    # inline figures in the HTML page; the notebook saves its files with agg either way
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ[OUTPUT_ENV] = str(output_root)
    # the kernel inherits this: a fixed hash seed keeps layout floats, and so the SVG
    # clip-path ids, identical from one run to the next
    os.environ.setdefault("PYTHONHASHSEED", "0")
    try:
        pm.execute_notebook(
            str(notebook),
            str(executed),
            parameters=dict(params),
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            cwd=str(notebook.parent),
            kernel_manager_class=_ipc_kernel_manager(),
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(
    notebook: Path,
    *,
    fast: bool = False,
    output_root: Path | None = None,
    processed_dir: Path | None = None,
    html: bool = True,
    extra_parameters: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Execute one notebook headlessly; return the files it wrote under ``output_root``.

    ``output_root`` defaults to the canonical ``reports/``.  The HTML report (code hidden,
    titled by the notebook's heading, headed by the dataset version and build date) goes to
    ``<output_root>/html/<notebook>.html``.
    """
    from analysis.report_html import export_html
    from analysis.reports import numbers_path

    output_root = Path(output_root or paths.reports_dir()).resolve()
    params = notebook_parameters(notebook, fast=fast, processed_dir=processed_dir)
    params.update(extra_parameters or {})
    before = time.time()
    with tempfile.TemporaryDirectory(prefix="takedowns-nb-") as tmp:
        executed = Path(tmp) / notebook.name
        try:
            _execute(notebook, executed, params, output_root)
        except Exception as err:  # papermill's PapermillExecutionError, kernel failures
            raise _failure(notebook, executed, err) from None
        written = []
        if html:
            html_path = output_root / "html" / f"{notebook.stem}.html"
            export_html(executed, html_path, processed_dir, source=notebook)
            written.append(html_path)
    figures = sorted((output_root / "figures" / notebook.stem).glob("*.*"))
    numbers = numbers_path(notebook.stem, output_root)
    outputs = [p for p in figures if p.stat().st_mtime >= before - 1]
    if numbers.is_file():
        outputs.append(numbers)
    return outputs + written


def _failure(notebook: Path, executed: Path, err: Exception) -> NotebookFailedError:
    """One-line error naming the notebook, the cell and the error; keep the executed copy."""
    kept = paths.repo_root() / FAILED_DIR / notebook.name
    where = ""
    if executed.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(executed.read_bytes())
        where = f"; the executed notebook with the traceback is {relative_to_repo(kept)}"
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    cell = getattr(err, "exec_count", None)
    at = f" in cell [{cell}]" if cell is not None else ""
    return NotebookFailedError(f"notebook {notebook.stem} failed{at}: {ename}: {evalue}{where}")


def _timed_run(notebook: Path, kwargs: Mapping[str, Any]) -> NotebookRun:
    start = time.perf_counter()
    written = run_notebook(notebook, **kwargs)
    return NotebookRun(notebook.stem, time.perf_counter() - start, tuple(written))


def _load_timings() -> dict[str, float]:
    path = paths.repo_root() / TIMINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def _save_timings(runs: Sequence[NotebookRun]) -> None:
    path = paths.repo_root() / TIMINGS_FILE
    timings = _load_timings()
    timings.update({run.notebook: round(run.seconds, 1) for run in runs})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    except OSError:  # a read-only checkout still runs its notebooks
        pass


def progress_line(done: int, total: int, run: NotebookRun) -> str:
    """``[2/6] 02_enforcement_over_time  9.1 s  (4 files)``."""
    width = len(str(total))
    return (
        f"[{done:>{width}}/{total}] {run.notebook:<32} {run.seconds:6.1f} s  "
        f"({len(run.written)} files)"
    )


def run_notebooks(
    names: Sequence[str] | None = None,
    fast: bool = False,
    output_root: Path | None = None,
    *,
    processed_dir: Path | None = None,
    html: bool = True,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Execute the notebooks (all, or ``names``) and return every file written.

    Parameters
    ----------
    names
        Notebook stems, file names or number prefixes; ``None`` runs every ``NN_*.ipynb``.
    fast
        Inject small sizes (:data:`analysis.reports.FAST_PARAMETERS`), for the tests.
    output_root
        Reports folder (default ``reports/``): ``figures/``, ``numbers/``, ``html/``.
    processed_dir
        Dataset folder the notebooks read (default ``data/processed``).
    html
        Also export each executed notebook to ``html/<notebook>.html`` and write the index
        ``html/index.html``.
    jobs
        Notebooks executed at once (separate processes; outputs do not depend on it).
    progress
        Called with one line per finished notebook (e.g. ``print``).
    """
    from analysis.report_html import write_index

    notebooks = notebook_paths(names)
    root = Path(output_root or paths.reports_dir()).resolve()
    kwargs = {"fast": fast, "output_root": root, "processed_dir": processed_dir, "html": html}
    runs: dict[str, NotebookRun] = {}
    report = progress or (lambda line: None)
    if jobs <= 1 or len(notebooks) <= 1:
        for notebook in notebooks:
            runs[notebook.stem] = _timed_run(notebook, kwargs)
            report(progress_line(len(runs), len(notebooks), runs[notebook.stem]))
    else:
        timings = _load_timings()
        order = sorted(notebooks, key=lambda p: (-timings.get(p.stem, 0.0), p.stem))
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_timed_run, notebook, kwargs) for notebook in order]
            for future in as_completed(futures):
                run = future.result()
                runs[run.notebook] = run
                report(progress_line(len(runs), len(notebooks), run))
    _save_timings(list(runs.values()))
    written = [p for notebook in notebooks for p in runs[notebook.stem].written]
    if html:
        written.append(write_index(root / "html", processed_dir))
    return written
