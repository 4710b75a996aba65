"""Numbers the notebooks quote, and notebook hygiene; running lives in :mod:`analysis.runner`.

Each ``notebooks/NN_topic.ipynb`` is executed headlessly by :mod:`analysis.runner`
(``takedowns figures``, ``make figures``) and

* writes its figures itself, with :func:`analysis.plots.save_figure`, to
  ``<root>/figures/<notebook>/<name>.png|pdf|svg``;
* writes every number its prose quotes, with :func:`write_numbers`, to
  ``<root>/numbers/<notebook>.json`` (sorted keys, rounded floats: byte-identical), each
  with its unit, where it comes from (figure ids and document URLs, whole tables, synthetic
  simulation, or the researcher's own data), the dataset version and the raw-data hash;
* is exported to ``<root>/html/<notebook>.html`` by :mod:`analysis.report_html` (code
  hidden, titled, headed by the dataset version and build date).

``<root>`` is ``reports/`` in headless runs (the runner sets :data:`OUTPUT_ENV`) and the
scratch folder :data:`SCRATCH_DIR` in interactive runs (:func:`default_output_root`).

Notebooks are committed without outputs and with the project kernel;
:func:`notebooks_with_outputs` finds offenders and :func:`strip_outputs` cleans one.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import paths

SIGNIFICANT_DIGITS = 6
"""Floats in the numbers files are rounded to this many significant digits."""

OUTPUT_ENV = "TAKEDOWNS_REPORTS_DIR"
"""Environment variable naming the folder notebooks write to (set by the headless runner)."""

SCRATCH_DIR = "build/scratch"
"""Where notebooks write when run interactively (no :data:`OUTPUT_ENV`): never ``reports/``."""

FAST_PARAMETERS: Mapping[str, Mapping[str, Any]] = {
    "04_survival_reappearance": {"observation_days": 120},
    "05_cat_and_mouse": {
        "simulation_days": 240,
        "n_simulations": 3,
        "fit_days": 120,
        "calibration_profile_points": 5,
    },
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


def default_output_root() -> Path:
    """Folder notebooks write figures and numbers to when they pass ``root=None``.

    ``$TAKEDOWNS_REPORTS_DIR`` when set (the headless runner, ``make figures``, sets it to
    ``reports/``), else the scratch folder :data:`SCRATCH_DIR` of the repository: running a
    notebook in JupyterLab never overwrites the canonical reports.
    """
    env = os.environ.get(OUTPUT_ENV)
    if env:
        return Path(env) if os.path.isabs(env) else paths.repo_root() / env
    return paths.repo_root() / SCRATCH_DIR


def numbers_path(notebook: str, root: str | Path | None = None) -> Path:
    """Path of ``<root>/numbers/<notebook>.json`` (root: :func:`default_output_root`)."""
    return Path(root or default_output_root()) / "numbers" / f"{notebook}.json"


# --------------------------------------------------------------------------- provenance
@dataclass(frozen=True)
class Source:
    """Where a quoted number comes from (see :func:`from_figures`, :data:`SYNTHETIC`...).

    Attributes
    ----------
    kind
        ``"dataset"`` (computed from the processed tables), ``"synthetic"`` (simulated; may
        be calibrated on published figures, listed in ``figure_ids``), ``"model"`` (fitted
        to published aggregate anchors, listed in ``urls``), ``"own_data"`` (the
        researcher's own channel table, not part of the dataset) or ``"parameter"`` (a
        setting of the notebook).
    figure_ids, document_ids
        Rows of the figures / documents tables the number was computed from.
    tables
        Whole tables the number summarises (e.g. a count over every figure).
    urls
        Documents cited directly (published anchors of a model), beyond the dataset's.
    """

    kind: str
    figure_ids: tuple[str, ...] = ()
    document_ids: tuple[str, ...] = ()
    tables: tuple[str, ...] = field(default=())
    urls: tuple[str, ...] = ()


def _ids(values: Iterable[Any] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = set()
    for value in values:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            continue
        out.update(part.strip() for part in str(value).split(";") if part.strip())
    return tuple(sorted(out))


def from_figures(
    figure_ids: Iterable[Any] | str, *, synthetic: bool = False, tables: Sequence[str] = ()
) -> Source:
    """The number was computed from these rows of the figures table (``;`` lists allowed).

    ``synthetic=True``: a simulation calibrated on (or seeded with) these published figures.
    """
    return Source(
        "synthetic" if synthetic else "dataset", figure_ids=_ids(figure_ids), tables=tuple(tables)
    )


def from_documents(
    document_ids: Iterable[Any] | str, *, figure_ids: Any = None, tables: Sequence[str] = ()
) -> Source:
    """The number was computed from rows that cite these documents (e.g. action days)."""
    return Source(
        "dataset",
        figure_ids=_ids(figure_ids),
        document_ids=_ids(document_ids),
        tables=tuple(tables),
    )


def from_tables(*tables: str) -> Source:
    """The number summarises whole tables of the dataset (counts, shares over every row)."""
    return Source("dataset", tables=tuple(tables))


def from_published(urls: Iterable[Any] | str) -> Source:
    """A model fitted to published aggregate figures at these URLs (``kind="model"``)."""
    return Source("model", urls=_ids(urls))


SYNTHETIC = Source("synthetic")
"""The number comes from a simulation with known truth, not from the dataset."""

OWN_DATA = Source("own_data")
"""The number comes from the researcher's own channel table (not part of the dataset)."""

PARAMETER = Source("parameter")
"""The number is a setting of the notebook (a window, a seed size), not a result."""

_UNIT_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|_)figure_ids$", "figure ids (figures table)"),
    (r"(^|_)n_|_n$|_count$", "count"),
    (r"(^|_)(date|dates|period_start|period_end|first_month|last_month)$", "date (ISO 8601)"),
    (r"(^|_)(first|last)_year$", "calendar year"),
    (r"_pct(_|$)", "percent"),
    (r"(^|_)share(_|$)|(^|_)fraction(_|$)", "proportion (0-1)"),
    (r"(^|_)probability(_|$)", "probability (0-1)"),
    (r"relative_difference", "proportion (relative difference, 0-1)"),
    (r"hazard.*_per_day(_|$)", "per day (hazard rate)"),
    (r"_per_day(_|$)", "count per day"),
    (r"_times_|(^|_)multiplier(_|$)", "ratio"),
    (r"(^|_)abs_z$|_z$", "z statistic"),
    (r"_(days|days_ci_lower|days_ci_upper)$|_days_|(^|_)lifetime_|(^|_)days_to_", "days"),
)
"""Default units, by the first regular expression matching the key (:func:`infer_unit`)."""


def infer_unit(key: str, value: Any = None) -> str | None:
    """Unit of a numbers-file key by the naming conventions (``n_`` count, ``_days``...).

    Booleans are ``"boolean"``.  Returns None when no convention applies: pass the unit
    to :func:`write_numbers` explicitly.
    """
    if isinstance(value, bool | np.bool_):
        return "boolean"
    for pattern, unit in _UNIT_RULES:
        if re.search(pattern, key):
            return unit
    return None


def _by_prefix(key: str, table: Mapping[str, Any]) -> Any:
    """Value of the longest key of ``table`` that ``key`` starts with ("" matches all)."""
    hits = [prefix for prefix in table if key.startswith(prefix)]
    return table[max(hits, key=len)] if hits else None


def dataset_provenance(processed: str | Path | None = None) -> dict[str, str]:
    """Name, version and raw-data SHA-256 of the dataset in ``processed`` (datapackage.json)."""
    package_path = Path(processed or paths.processed_dir()) / "datapackage.json"
    package = json.loads(package_path.read_text(encoding="utf-8"))
    return {
        "name": str(package["name"]),
        "version": str(package["version"]),
        "raw_sha256": str(package["custom"]["raw_sha256"]),
    }


def _document_urls(source: Source, processed: str | Path | None) -> list[str]:
    if not (source.figure_ids or source.document_ids):
        return sorted(source.urls)
    from analysis import load

    folder = Path(processed) if processed else None
    figures = load.figures(processed=folder)
    documents = load.documents(processed=folder)
    unknown = sorted(set(source.figure_ids) - set(figures["figure_id"].astype(str)))
    if unknown:
        raise ValueError(f"figure ids {unknown[:5]} are not in the figures table")
    doc_ids = set(source.document_ids) | set(
        figures.loc[figures["figure_id"].astype(str).isin(source.figure_ids), "document_id"].astype(
            str
        )
    )
    urls = documents.loc[documents["document_id"].astype(str).isin(doc_ids), "url"]
    return sorted(set(urls.dropna().astype(str)) | set(source.urls))


def numbers_record(
    notebook: str,
    mapping: Mapping[str, Any],
    *,
    units: Mapping[str, str] | None = None,
    sources: Mapping[str, Source] | None = None,
    processed: str | Path | None = None,
) -> dict[str, Any]:
    """The content of a numbers file: every number with its unit, source and dataset.

    Parameters
    ----------
    notebook
        Notebook stem.
    mapping
        ``{key: value}`` of the numbers the notebook quotes.
    units
        Units by key or key prefix (longest prefix wins), over :func:`infer_unit`.
    sources
        :class:`Source` by key or key prefix (longest prefix wins; ``""`` for all).
    processed
        Dataset folder the numbers were computed from (default ``data/processed``).

    Raises
    ------
    ValueError
        A key has no unit or no source (both are required: say them in the notebook).
    """
    units, sources = dict(units or {}), dict(sources or {})
    dataset = dataset_provenance(processed)
    urls: dict[Source, list[str]] = {}
    numbers: dict[str, Any] = {}
    missing_unit, missing_source = [], []
    for key in sorted(mapping):
        value = mapping[key]
        unit = _by_prefix(key, units) or infer_unit(key, value)
        source = _by_prefix(key, sources)
        if unit is None:
            missing_unit.append(key)
        if source is None:
            missing_source.append(key)
        if unit is None or source is None:
            continue
        if source not in urls:
            urls[source] = _document_urls(source, processed)
        entry: dict[str, Any] = {
            "value": jsonable(value),
            "unit": unit,
            "source": source.kind,
            "dataset_version": dataset["version"],
            "raw_sha256": dataset["raw_sha256"],
        }
        if source.figure_ids:
            entry["figure_ids"] = list(source.figure_ids)
        if source.document_ids:
            entry["document_ids"] = list(source.document_ids)
        if urls[source]:
            entry["document_urls"] = urls[source]
        if source.tables:
            entry["tables"] = list(source.tables)
        numbers[key] = entry
    if missing_unit or missing_source:
        raise ValueError(
            f"numbers of {notebook}: no unit for {missing_unit} and no source for "
            f"{missing_source}; expected write_numbers(..., units={{key: unit}}, "
            "sources={key_prefix: Source})"
        )
    return {"dataset": dataset, "notebook": notebook, "numbers": numbers}


def write_numbers(
    notebook: str,
    mapping: Mapping[str, Any],
    root: str | Path | None = None,
    *,
    units: Mapping[str, str] | None = None,
    sources: Mapping[str, Source] | None = None,
    processed: str | Path | None = None,
) -> Path:
    """Write the numbers a notebook quotes to ``<root>/numbers/<notebook>.json``.

    Each number is written as ``{"value", "unit", "source", "dataset_version", "raw_sha256"}``
    plus ``figure_ids``, ``document_urls``, ``document_ids`` or ``tables`` when it comes
    from the dataset (see :func:`numbers_record` for ``units``, ``sources``, ``processed``).
    Keys are sorted, floats rounded to :data:`SIGNIFICANT_DIGITS` significant digits, id and
    URL lists sorted, the file ends with a newline: the same numbers always give the same
    bytes.

    Returns
    -------
    Path
        The file written.
    """
    record = numbers_record(notebook, mapping, units=units, sources=sources, processed=processed)
    path = numbers_path(notebook, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read_numbers(notebook: str, root: str | Path | None = None) -> dict[str, Any]:
    """Read ``<root>/numbers/<notebook>.json`` (the whole record: dataset and numbers)."""
    return json.loads(numbers_path(notebook, root).read_text(encoding="utf-8"))


def number_values(notebook: str, root: str | Path | None = None) -> dict[str, Any]:
    """``{key: value}`` of a numbers file, without units and provenance."""
    return {k: v["value"] for k, v in read_numbers(notebook, root)["numbers"].items()}


# --------------------------------------------------------------------------- running
# The runner and the HTML export live in their own modules; their names stay importable here.
from analysis.report_html import export_html, provenance_markdown  # noqa: E402, F401
from analysis.runner import (  # noqa: E402, F401
    KERNEL_NAME,
    PROJECT_KERNEL,
    notebook_parameters,
    notebook_paths,
    run_notebook,
    run_notebooks,
)


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


def has_project_kernel(path: Path) -> bool:
    """True if the notebook at ``path`` names the project kernel in its kernelspec."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return nb.get("metadata", {}).get("kernelspec", {}).get("name") == PROJECT_KERNEL["name"]


def notebooks_with_outputs(folder: Path | None = None) -> list[Path]:
    """Notebooks in ``folder`` committed with outputs (should be empty)."""
    folder = folder or paths.notebooks_dir()
    return [p for p in sorted(folder.glob("*.ipynb")) if has_outputs(p)]


def strip_outputs(path: Path) -> bool:
    """Remove outputs, execution counts and run metadata from a notebook in place.

    Returns True if the file changed.  The kernelspec is set to the project kernel
    (:data:`analysis.runner.PROJECT_KERNEL`).
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
    meta["kernelspec"] = dict(PROJECT_KERNEL)
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if text != original:
        path.write_text(text, encoding="utf-8")
        return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.reports strip NOTEBOOK...``: strip outputs, set the kernel."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m analysis.reports")
    parser.add_argument("command", choices=["strip"])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        print(f"{path}: {'stripped' if strip_outputs(path) else 'already clean'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
