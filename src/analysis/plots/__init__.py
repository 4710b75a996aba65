"""Plotting helpers: the house style, journal sizes, source footnotes, byte-identical saving.

See :mod:`analysis.plots.figures`; :mod:`analysis.plots.synthetic` keeps the synthetic label
on data flagged synthetic; :mod:`analysis.plots.legend_check` checks that every legend entry
has a visible mark (run by :func:`save_figure`).
"""

from analysis.plots.figures import (
    FORMATS,
    OKABE_ITO,
    STYLE_PATH,
    WIDTH_INCHES,
    add_source_footnote,
    format_year_axis,
    marker_legend_handles,
    new_figure,
    plot_periods,
    save_figure,
    source_note,
    use_house_style,
    version_note,
)
from analysis.plots.synthetic import is_synthetic, mark_synthetic, synthetic_title

__all__ = [
    "FORMATS",
    "OKABE_ITO",
    "STYLE_PATH",
    "WIDTH_INCHES",
    "add_source_footnote",
    "format_year_axis",
    "is_synthetic",
    "mark_synthetic",
    "marker_legend_handles",
    "new_figure",
    "plot_periods",
    "save_figure",
    "source_note",
    "synthetic_title",
    "use_house_style",
    "version_note",
]
