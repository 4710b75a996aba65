"""Plotting helpers: the house style, journal sizes, source footnotes, byte-identical saving.

See :mod:`analysis.plots.figures`.
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

__all__ = [
    "FORMATS",
    "OKABE_ITO",
    "STYLE_PATH",
    "WIDTH_INCHES",
    "add_source_footnote",
    "format_year_axis",
    "marker_legend_handles",
    "new_figure",
    "plot_periods",
    "save_figure",
    "source_note",
    "use_house_style",
    "version_note",
]
