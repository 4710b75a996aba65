"""Execute the notebooks headlessly into ``reports/`` (``takedowns figures``, ``make figures``).

Each ``notebooks/NN_topic.ipynb`` is executed with papermill (parameters injected into the
cell tagged ``parameters``) on the ``python3`` kernel of the current interpreter, and

* writes its figures itself, with :func:`analysis.plots.save_figure`, to
  ``reports/figures/<notebook>/<name>.png|pdf|svg``;
* writes every number its prose quotes, with :func:`write_numbers`, to
  ``reports/numbers/<notebook>.json`` (sorted keys, rounded floats: byte-identical), each
  with its unit, where it comes from (figure ids and document URLs, whole tables, synthetic
  simulation, or the researcher's own data), the dataset version and the raw-data hash;
* is exported by nbconvert to ``reports/html/<notebook>.html``, headed by the dataset
  version and raw-data hash.

Notebooks are committed without outputs; :func:`notebooks_with_outputs` finds offenders and
:func:`strip_outputs` cleans one.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
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
    return Source("synthetic" if synthetic else "dataset", figure_ids=_ids(figure_ids),
                  tables=tuple(tables))


def from_documents(document_ids: Iterable[Any] | str, *, figure_ids: Any = None,
                   tables: Sequence[str] = ()) -> Source:
    """The number was computed from rows that cite these documents (e.g. action days)."""
    return Source("dataset", figure_ids=_ids(figure_ids), document_ids=_ids(document_ids),
                  tables=tuple(tables))


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
        figures.loc[figures["figure_id"].astype(str).isin(source.figure_ids), "document_id"]
        .astype(str)
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


def provenance_markdown(processed: str | Path | None = None) -> str:
    """The line heading every HTML report: dataset name, version and raw-data hash."""
    d = dataset_provenance(processed)
    return (
        f"*Dataset: {d['name']} version {d['version']} (raw data sha256 "
        f"`{d['raw_sha256'][:16]}...`); numbers with units and sources in "
        "`reports/numbers/`.*"
    )


def _export_html(executed: Path, html_path: Path, processed: str | Path | None = None) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    header = nbformat.v4.new_markdown_cell(provenance_markdown(processed))
    header["id"] = "dataset-provenance"
    nb.cells.insert(0, header)
    root = str(paths.repo_root().resolve())
    for cell in nb.cells:  # papermill gives its injected cell a random id: fix it
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
            # paths inside the checkout are shown relative to it, so that the report does
            # not depend on where the repository was cloned (byte-identical releases)
            cell["source"] = cell["source"].replace(root + os.sep, "").replace(root, ".")
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
            _export_html(executed, html_path, processed_dir)
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
