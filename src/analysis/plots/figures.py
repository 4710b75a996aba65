"""House style, figure sizes, source footnotes and byte-identical saving.

Every figure of the project is made the same way::

    from analysis.plots import new_figure, add_source_footnote, save_figure
    fig, ax = new_figure("one_column")
    ...
    add_source_footnote(fig, "Source: ...")
    save_figure(fig, "02_enforcement_over_time", "telegram_bans_per_day", root)

Sizes follow common journal columns: one column 3.5 in (89 mm), two columns 7.2 in
(183 mm).  The footnote is placed *inside* the figure (the constrained-layout rectangle is
shrunk to make room), so the saved size is exactly the requested width.

Rebuilds are byte-identical: no timestamps in PDF (``CreationDate``/``ModDate`` removed) or
SVG (``Date`` removed), no software version in PNG, PDF or SVG metadata, a fixed
``svg.hashsalt`` (the SVG element ids), and fonts from matplotlib's bundled DejaVu Sans.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

STYLE_PATH = Path(__file__).with_name("house.mplstyle")
"""The matplotlib style file of the project."""

WIDTH_INCHES = {"one_column": 3.5, "two_column": 7.2}
"""Figure widths in inches: one journal column (89 mm) and two columns (183 mm)."""

OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
"""Okabe & Ito (2008) colour-blind-safe palette (plus a neutral grey)."""

FORMATS = ("png", "pdf", "svg")
"""Formats written by :func:`save_figure`."""

FOOTNOTE_FONTSIZE_PT = 5.5
_CHAR_WIDTH_EM = 0.56  # mean advance of DejaVu Sans, in em, for wrapping the footnote
_METADATA = {
    "png": {"Software": None},
    "pdf": {
        "Creator": "takedown-dynamics",
        "Producer": None,
        "CreationDate": None,
        "ModDate": None,
    },
    "svg": {"Creator": "takedown-dynamics", "Date": None},
}


def use_house_style() -> None:
    """Apply the house style (and the deterministic-output settings) to matplotlib."""
    plt.style.use(STYLE_PATH)
    mpl.rcParams["svg.hashsalt"] = "takedown-dynamics"


def new_figure(
    width: Literal["one_column", "two_column"] = "one_column",
    height_ratio: float = 0.68,
    nrows: int = 1,
    ncols: int = 1,
    **subplots_kwargs: Any,
) -> tuple[Figure, Any]:
    """Return ``(figure, axes)`` sized for a journal column, in the house style.

    Parameters
    ----------
    width
        ``"one_column"`` (3.5 in) or ``"two_column"`` (7.2 in).
    height_ratio
        Height as a fraction of the width.
    nrows, ncols, subplots_kwargs
        Passed to :meth:`matplotlib.figure.Figure.subplots`.
    """
    if width not in WIDTH_INCHES:
        raise ValueError(f"width={width!r}; expected one of {sorted(WIDTH_INCHES)}")
    use_house_style()
    inches = WIDTH_INCHES[width]
    fig = plt.figure(figsize=(inches, inches * height_ratio), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplots_kwargs)
    return fig, axes


def version_note(version: str | None = None) -> str:
    """``"takedown-dynamics vX.Y.Z (dataset and code)."``: ends every figure footnote."""
    if version is None:
        from analysis import __version__ as version
    return f"takedown-dynamics v{version} (dataset and code)."


def add_source_footnote(fig: Figure, text: str, version: str | None = None) -> None:
    """Write ``text`` as a small footnote under the axes, wrapped to the figure width.

    The footnote ends with the dataset version (:func:`version_note`; ``version`` defaults
    to the package version, which is the version of the dataset it builds).  The
    constrained-layout rectangle is shrunk so that the footnote never overlaps the axes and
    the saved figure keeps its width and height.
    """
    width_pt = fig.get_figwidth() * 72.0
    chars = max(30, int(width_pt / (FOOTNOTE_FONTSIZE_PT * _CHAR_WIDTH_EM)))
    lines = textwrap.wrap(" ".join(text.split()), width=chars)
    note = version_note(version)  # never broken across lines
    if lines and len(lines[-1]) + 1 + len(note) <= chars:
        lines[-1] = f"{lines[-1]} {note}"
    else:
        lines.append(note)
    line_height_in = FOOTNOTE_FONTSIZE_PT * 1.25 / 72.0
    footnote_in = len(lines) * line_height_in + 0.06
    fraction = footnote_in / fig.get_figheight()
    fig.text(
        0.01,
        0.01,
        "\n".join(lines),
        ha="left",
        va="bottom",
        fontsize=FOOTNOTE_FONTSIZE_PT,
        color="#444444",
        linespacing=1.25,
    )
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0.0, fraction, 1.0, 1.0 - fraction))
    else:  # pragma: no cover - figures made outside new_figure
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, fraction + 0.08))


def save_figure(
    fig: Figure,
    notebook: str,
    name: str,
    root: str | Path | None = None,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Save ``fig`` as ``<root>/figures/<notebook>/<name>.png|pdf|svg``, byte-identically.

    Parameters
    ----------
    fig
        The figure; it must carry a source footnote (see :func:`add_source_footnote`).
    notebook
        Notebook stem, e.g. ``"02_enforcement_over_time"``.
    name
        Figure name (file stem), e.g. ``"telegram_bans_per_day"``.
    root
        Reports folder (default :func:`analysis.reports.default_output_root`: ``reports/``
        in ``make figures``, the scratch folder ``build/scratch/`` in an interactive run).
    formats
        Subset of :data:`FORMATS`.

    Returns
    -------
    list of Path
        The files written.
    """
    _check_legends(fig, f"{notebook}/{name}")
    if root is None:
        from analysis.reports import default_output_root

        root = default_output_root()
    out_dir = Path(root) / "figures" / notebook
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context({"svg.hashsalt": "takedown-dynamics"}):
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=300, metadata=_METADATA[fmt])
            if fmt == "svg":
                _number_svg_ids(path)
            written.append(path)
    return written


STRICT_LEGENDS_ENV = "TAKEDOWNS_STRICT_LEGENDS"
"""Set to ``1`` to make a legend entry without a visible mark an error (the tests do)."""


def _check_legends(fig: Figure, where: str) -> None:
    """Warn (or, strict, raise) when a legend entry has no visible mark in ``fig``."""
    import os
    import warnings

    from analysis.plots.legend_check import (
        FigureLegendError,
        LegendWarning,
        invisible_legend_entries,
    )

    bad = invisible_legend_entries(fig)
    if not bad:
        return
    message = (
        f"figure {where}: legend entries without a visible mark: {'; '.join(bad)} "
        "(expected every legend entry to point at something drawn and not hidden)"
    )
    if os.environ.get(STRICT_LEGENDS_ENV) == "1":
        raise FigureLegendError(message)
    # an explicit location: no absolute or kernel-temporary path in the report, same bytes
    # on every run
    warnings.warn_explicit(message, LegendWarning, filename="analysis/plots", lineno=0)


_SVG_HASH_ID = re.compile(r'id="([a-z][0-9a-f]{10})"')


def _number_svg_ids(path: Path) -> None:
    """Replace matplotlib's hashed SVG ids by their order of appearance.

    matplotlib names clip paths, markers and hatches by a hash of their full-precision
    coordinates, so a last-digit difference in a layout (seen between two clones of the
    repository) changes ids while the drawing is the same: numbered ids keep the file
    byte-identical wherever it is built.
    """
    text = path.read_text(encoding="utf-8")
    ids = dict.fromkeys(_SVG_HASH_ID.findall(text))
    for number, old in enumerate(ids):
        new = f"{old[0]}{number:010d}"
        text = text.replace(f'id="{old}"', f'id="{new}"').replace(f"#{old}", f"#{new}")
    path.write_text(text, encoding="utf-8")


def _domain(url: object) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    host = urlparse(url).netloc.lower()
    return host.removeprefix("www.") or None


def source_note(
    documents: pd.DataFrame,
    *,
    prefix: str = "Source",
    max_names: int = 4,
    extra: str | None = None,
) -> str:
    """Build a footnote naming who produced the numbers and where they were published.

    Parameters
    ----------
    documents
        Rows of the documents table (or of figures joined to documents) behind the figure:
        needs ``originator`` and ``url``; ``document_id`` is used to count documents.
    prefix
        First word of the note.
    max_names
        Originators and web domains listed before "+ n more".
    extra
        A sentence appended at the end (method, caveat).

    Returns
    -------
    str
        E.g. ``"Source: Telegram, Etidal; 12 documents (telegram.org, etidal.org, + 3
        more), transcribed in the takedown-dynamics dataset (documents table lists every
        URL)."``
    """
    frame = documents
    if "document_id" in frame.columns:
        frame = frame.drop_duplicates("document_id")
    originators = _most_common(frame["originator"].dropna().astype(str))
    domains = _most_common(d for d in map(_domain, frame["url"]) if d)
    n_docs = len(frame)
    who = _listed(originators, max_names)
    where = _listed(domains, max_names)
    docs = f"{n_docs} document{'s' if n_docs != 1 else ''}"
    note = (
        f"{prefix}: {who}; {docs} ({where}), transcribed in the takedown-dynamics dataset "
        "(the documents table lists every URL)."
    )
    if extra:
        note = f"{note} {extra.strip()}"
    return note


def _most_common(values: Iterable[str]) -> list[str]:
    series = pd.Series(list(values), dtype="object")
    if series.empty:
        return []
    counts = series.value_counts()
    order = sorted(counts.index, key=lambda v: (-counts[v], v))
    return list(order)


def _listed(names: list[str], max_names: int) -> str:
    if not names:
        return "unknown"
    shown = ", ".join(names[:max_names])
    rest = len(names) - max_names
    return f"{shown}, + {rest} more" if rest > 0 else shown


def plot_periods(
    ax: Axes,
    frame: pd.DataFrame,
    *,
    y: str = "per_day",
    color: str = OKABE_ITO["blue"],
    label: str | None = None,
    start: str = "period_start",
    end: str = "period_end",
    ring: bool = False,
) -> Axes:
    """Draw one horizontal segment per period at height ``y``, with honest markers.

    A filled circle marks the middle of a complete period with an exact (or "about")
    value; a hollow circle marks a partial period (to-date counts, periods still running);
    an upward triangle marks a lower bound ("more than", "at least") and a downward
    triangle an upper bound.  ``frame`` needs ``period_start``, ``period_end``, ``y``,
    ``qualifier`` and ``is_partial_period``.

    ``ring=True`` draws larger hollow markers on top (and thinner period bars), for a
    series whose values coincide with another one already drawn: both stay visible.
    """
    if frame.empty:
        return ax
    starts = pd.to_datetime(frame[start]).to_numpy()
    ends = pd.to_datetime(frame[end]).to_numpy() + np.timedelta64(1, "D")
    values = frame[y].astype("float64").to_numpy()
    size, zorder = (40.0, 4) if ring else (14.0, 3)
    ax.hlines(
        values,
        starts,
        ends,
        color=color,
        linewidth=0.8 if ring else 1.6,
        label=label,
        zorder=zorder - 1,
    )
    middles = starts + (ends - starts) / 2
    qualifier = frame["qualifier"].astype("string").fillna("exact").to_numpy()
    partial = frame["is_partial_period"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    lower = np.isin(qualifier, ["more_than", "at_least"])
    upper = np.isin(qualifier, ["less_than", "at_most"])
    plain = ~lower & ~upper
    kinds = [
        (plain & ~partial, "o", color),
        (plain & partial, "o", "white"),
        (lower & ~partial, "^", color),
        (lower & partial, "^", "white"),
        (upper & ~partial, "v", color),
        (upper & partial, "v", "white"),
    ]
    for mask, marker, face in kinds:
        if mask.any():
            ax.scatter(
                middles[mask],
                values[mask],
                marker=marker,
                s=size,
                facecolors="none" if ring else face,
                edgecolors=color,
                linewidths=0.8,
                zorder=zorder,
            )
    return ax


def marker_legend_handles(
    color: str = "#444444", frames: Sequence[pd.DataFrame] | None = None
) -> list[Any]:
    """Legend entries explaining the markers of :func:`plot_periods`.

    With ``frames`` (the tables drawn), only the markers that occur in them are explained:
    no legend entry without a mark in the figure.
    """
    from matplotlib.lines import Line2D

    def handle(marker: str, face: str, text: str) -> Line2D:
        return Line2D(
            [],
            [],
            linestyle="none",
            marker=marker,
            markersize=4,
            markerfacecolor=face,
            markeredgecolor=color,
            label=text,
        )

    entries = [
        ("complete", handle("o", color, "complete period")),
        ("partial", handle("o", "white", "partial period (to date)")),
        ("lower", handle("^", color, "lower bound ('more than')")),
        ("upper", handle("v", color, "upper bound ('less than')")),
    ]
    if frames is None:
        return [h for _, h in entries]
    present: set[str] = set()
    for frame in frames:
        if frame.empty:
            continue
        qualifier = frame["qualifier"].astype("string").fillna("exact")
        partial = frame["is_partial_period"].astype("boolean").fillna(False).astype(bool)
        lower = qualifier.isin(["more_than", "at_least"])
        upper = qualifier.isin(["less_than", "at_most"])
        if (~lower & ~upper & ~partial).any():
            present.add("complete")
        if partial.any():
            present.add("partial")
        if lower.any():
            present.add("lower")
        if upper.any():
            present.add("upper")
    return [h for kind, h in entries if kind in present]


def format_year_axis(ax: Axes, axis: str = "x") -> Axes:
    """Label a date axis with years only (ticks on 1 January, thinned to at most ~8)."""
    import matplotlib.dates as mdates

    target = ax.xaxis if axis == "x" else ax.yaxis
    locator = mdates.YearLocator(base=1)
    low, high = ax.get_xlim() if axis == "x" else ax.get_ylim()
    span_years = (high - low) / 365.25
    if span_years > 8:
        locator = mdates.YearLocator(base=int(np.ceil(span_years / 8)))
    target.set_major_locator(locator)
    target.set_major_formatter(mdates.DateFormatter("%Y"))
    return ax
