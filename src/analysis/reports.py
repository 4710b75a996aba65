"""Execute the notebooks headlessly into ``reports/`` (``takedowns figures``, ``make figures``).

Each ``notebooks/NN_topic.ipynb`` is executed with papermill (parameters injected into the
cell tagged ``parameters``) on the ``python3`` kernel of the current interpreter, and

* writes its figures itself, with :func:`analysis.plots.save_figure`, to
  ``reports/figures/<notebook>/<name>.png|pdf|svg``;
* writes every number its prose quotes, with :func:`write_numbers`, to
  ``reports/numbers/<notebook>.json`` (sorted keys, rounded floats: byte-identical);
* is exported by nbconvert to ``reports/html/<notebook>.html``.

Notebooks are committed without outputs; :func:`notebooks_with_outputs` finds offenders and
:func:`strip_outputs` cleans one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import paths

SIGNIFICANT_DIGITS = 6
"""Floats in the numbers files are rounded to this many significant digits."""

KERNEL_NAME = "python3"
"""Kernel the notebooks run on (jupyter_client maps its ``python`` to ``sys.executable``)."""

FAST_PARAMETERS: Mapping[str, Mapping[str, Any]] = {
    "04_survival_reappearance": {"observation_days": 120},
    "05_cat_and_mouse": {"simulation_days": 240, "n_simulations": 3, "fit_days": 120,
                         "calibration_profile_points": 5, "recovery_bootstrap": 30},
}
"""Small sizes injected by ``fast=True`` (tests), per notebook, on top of ``fast=True``."""


# --------------------------------------------------------------------------- numbers
def _round(value: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    if not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    return float(f"{value:.{digits}g}")


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types: rounded floats, ISO dates, lists, dicts.

    numpy scalars become Python numbers, NaN/NA/NaT become ``null``, integral floats stay
    floats (rounded to :data:`SIGNIFICANT_DIGITS`), timestamps become ISO dates (or
    date-times when they carry a time of day).
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _round(float(value))
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | pd.Series | list | tuple):
        return [jsonable(v) for v in list(value)]
    raise TypeError(f"cannot write {type(value).__name__} {value!r} to a numbers file")


def numbers_path(notebook: str, root: str | Path | None = None) -> Path:
    """Path of ``reports/numbers/<notebook>.json``."""
    return Path(root or paths.reports_dir()) / "numbers" / f"{notebook}.json"


def write_numbers(notebook: str, mapping: Mapping[str, Any], root: str | Path | None = None) -> Path:
    """Write the numbers a notebook quotes to ``<root>/numbers/<notebook>.json``.

    Keys are sorted, floats rounded to :data:`SIGNIFICANT_DIGITS` significant digits, the
    file ends with a newline: the same numbers always give the same bytes.

    Returns
    -------
    Path
        The file written.
    """
    path = numbers_path(notebook, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(jsonable(mapping), indent=2, sort_keys=True, ensure_ascii=False,
                      allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read_numbers(notebook: str, root: str | Path | None = None) -> dict[str, Any]:
    """Read ``<root>/numbers/<notebook>.json`` (for report authors)."""
    return json.loads(numbers_path(notebook, root).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- notebooks
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


def notebook_parameters(
    notebook: Path, *, fast: bool, output_root: Path, processed_dir: Path | None = None
) -> dict[str, Any]:
    """Parameters injected into one notebook's ``parameters`` cell."""
    params: dict[str, Any] = {"output_root": str(output_root), "fast": bool(fast)}
    if processed_dir is not None:
        params["processed_dir"] = str(processed_dir)
    if fast:
        params.update(FAST_PARAMETERS.get(notebook.stem, {}))
    return params


def _export_html(executed: Path, html_path: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter()
    exporter.exclude_input_prompt = False
    body, _ = exporter.from_notebook_node(nb)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")


def run_notebook(
    notebook: Path,
    *,
    fast: bool = False,
    output_root: Path | None = None,
    processed_dir: Path | None = None,
    html: bool = True,
    extra_parameters: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Execute one notebook headlessly; return the files it wrote under ``output_root``."""
    import papermill as pm

    output_root = Path(output_root or paths.reports_dir()).resolve()
    params = notebook_parameters(
        notebook, fast=fast, output_root=output_root, processed_dir=processed_dir
    )
    params.update(extra_parameters or {})
    before = time.time()
    with tempfile.TemporaryDirectory(prefix="takedowns-nb-") as tmp:
        executed = Path(tmp) / notebook.name
        env_backup = os.environ.get("MPLBACKEND")
        # inline figures in the HTML page; the notebook saves its files with agg either way
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        # the kernel inherits this: a fixed hash seed keeps layout floats, and so the SVG
        # clip-path ids, identical from one run to the next
        os.environ.setdefault("PYTHONHASHSEED", "0")
        try:
            pm.execute_notebook(
                str(notebook),
                str(executed),
                parameters=params,
                kernel_name=KERNEL_NAME,
                progress_bar=False,
                cwd=str(notebook.parent),
            )
        finally:
            if env_backup is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = env_backup
        written = []
        if html:
            html_path = output_root / "html" / f"{notebook.stem}.html"
            _export_html(executed, html_path)
            written.append(html_path)
    figures = sorted((output_root / "figures" / notebook.stem).glob("*.*"))
    numbers = numbers_path(notebook.stem, output_root)
    outputs = [p for p in figures if p.stat().st_mtime >= before - 1]
    if numbers.is_file():
        outputs.append(numbers)
    return outputs + written


def run_notebooks(
    names: Sequence[str] | None = None,
    fast: bool = False,
    output_root: Path | None = None,
    *,
    processed_dir: Path | None = None,
    html: bool = True,
) -> list[Path]:
    """Execute the notebooks (all, or ``names``) and return every file written.

    Parameters
    ----------
    names
        Notebook stems, file names or number prefixes; ``None`` runs all in order.
    fast
        Inject small sizes (:data:`FAST_PARAMETERS`), for the tests.
    output_root
        Reports folder (default ``reports/``): ``figures/``, ``numbers/``, ``html/``.
    processed_dir
        Dataset folder the notebooks read (default ``data/processed``).
    html
        Also export each executed notebook to ``html/<notebook>.html``.
    """
    written: list[Path] = []
    for notebook in notebook_paths(names):
        written.extend(
            run_notebook(
                notebook, fast=fast, output_root=output_root, processed_dir=processed_dir,
                html=html,
            )
        )
    return written


# --------------------------------------------------------------------------- hygiene
def has_outputs(path: Path) -> bool:
    """True if the notebook at ``path`` holds outputs or execution counts."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs") or cell.get("execution_count") is not None:
            return True
    return False


def notebooks_with_outputs(folder: Path | None = None) -> list[Path]:
    """Notebooks in ``folder`` committed with outputs (should be empty)."""
    folder = folder or paths.notebooks_dir()
    return [p for p in sorted(folder.glob("*.ipynb")) if has_outputs(p)]


def strip_outputs(path: Path) -> bool:
    """Remove outputs, execution counts and run metadata from a notebook in place.

    Returns True if the file changed.  The kernelspec is set to ``python3``.
    """
    path = Path(path)
    original = path.read_text(encoding="utf-8")
    nb = json.loads(original)
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
        cell.get("metadata", {}).pop("papermill", None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    meta = nb.setdefault("metadata", {})
    meta.pop("papermill", None)
    meta.pop("widgets", None)
    meta["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if text != original:
        path.write_text(text, encoding="utf-8")
        return True
    return False
