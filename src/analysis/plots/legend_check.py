"""Every legend entry must point at something the reader can see.

A legend entry lies when its series is empty, lies outside the axes, or is drawn exactly
under another series.  :func:`invisible_legend_entries` finds such entries by rendering
(the figure laid out once at :data:`CHECK_DPI` without antialiasing, then each axes alone):

* an entry whose handle is an artist with data (``ax.plot(..., label=...)``) is visible if
  hiding that artist changes at least one pixel of the rendered figure;
* an entry whose handle is a *container* (``ax.errorbar``, ``ax.bar``, ``ax.stem`` with a
  label) is visible if hiding one of its parts with data (the data line, caps and bar lines of
  an error bar; the bars; the markers, stems and baseline of a stem plot) changes a pixel;
  bars of zero width or height do not count;
* an entry whose handle is a *proxy* without data (``ax.scatter([], [], label=...)``,
  :func:`~analysis.plots.marker_legend_handles`) is visible if some other artist changes
  pixels when hidden, in the legend's axes (or in any axes, for a figure legend): one of the
  same colour for a coloured proxy (a colour key), one drawing the same marker shape for a
  grey or black marker (a shape key).

:func:`analysis.plots.save_figure` runs the check on every figure it saves: a
:class:`LegendWarning` names the offending entries, or, with ``TAKEDOWNS_STRICT_LEGENDS=1``
(the notebook tests), a :class:`FigureLegendError` stops the notebook.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.collections import Collection, LineCollection, PathCollection
from matplotlib.colors import to_rgba_array
from matplotlib.container import Container
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch

from analysis.errors import TakedownError

CHECK_DPI = 40
"""Resolution of the check renders (coarse on purpose: a mark smaller than a pixel here is
invisible in print too)."""


class LegendWarning(UserWarning):
    """A legend entry has no visible mark in the figure."""


class FigureLegendError(TakedownError):
    """A legend entry has no visible mark in the figure (strict mode)."""


def _draw_figure(fig: Figure) -> None:
    """Draw the whole figure once (the layout engine places the axes at this resolution)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()


def _render_axes(ax: Any) -> np.ndarray:
    """Pixels of one axes drawn alone on a blank canvas (no layout pass: cheap)."""
    from matplotlib.backends.backend_agg import RendererAgg

    fig = ax.figure
    width, height = fig.bbox.size
    renderer = RendererAgg(int(np.ceil(width)), int(np.ceil(height)), fig.dpi)
    ax.draw(renderer)
    return np.asarray(renderer.buffer_rgba()).copy()


def _has_data(artist: Artist) -> bool:
    if isinstance(artist, Line2D):
        return len(artist.get_xdata()) > 0
    if isinstance(artist, LineCollection):
        return len(artist.get_segments()) > 0
    if isinstance(artist, PathCollection):  # scatter: the path is the marker, offsets the data
        return len(artist.get_offsets()) > 0
    if isinstance(artist, Collection):
        return len(artist.get_offsets()) > 0 or len(artist.get_paths()) > 0
    if isinstance(artist, Patch):
        return True
    return True


def _colours(artist: Artist) -> np.ndarray:
    """RGB colours an artist draws with (edges and faces, transparent ones left out)."""
    found: list[Any] = []
    if isinstance(artist, Line2D):
        if artist.get_linestyle() not in ("None", "none", "", " "):
            found.append(artist.get_color())
        if _marker_vertices(artist) is not None:
            found += [artist.get_markerfacecolor(), artist.get_markeredgecolor()]
    elif isinstance(artist, Collection):
        found += list(artist.get_facecolor()) + list(artist.get_edgecolor())
    elif isinstance(artist, Patch):
        found += [artist.get_facecolor(), artist.get_edgecolor()]
    rgba = [c for c in (to_rgba_array(x) for x in found if x is not None) for c in c]
    rgba = [c for c in rgba if c[3] > 0 and not np.allclose(c[:3], 1.0)]  # not white/none
    return np.array([c[:3] for c in rgba]) if rgba else np.empty((0, 3))


def _marker_vertices(artist: Artist) -> np.ndarray | None:
    if isinstance(artist, Line2D):
        marker = artist.get_marker()
        if marker in (None, "None", "none", "", " "):
            return None
        style = MarkerStyle(marker)
        return style.get_path().transformed(style.get_transform()).vertices
    if isinstance(artist, PathCollection) and artist.get_paths():
        return artist.get_paths()[0].vertices
    return None


def _same_marker(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None or a.shape != b.shape:
        return False
    scale = max(np.abs(a).max(), 1e-12), max(np.abs(b).max(), 1e-12)
    return bool(np.allclose(a / scale[0], b / scale[1], atol=1e-6))


def _changes_pixels(artist: Artist, baselines: dict[int, np.ndarray]) -> bool:
    ax = artist.axes
    if ax is None or not artist.get_visible():
        return False
    if id(ax) not in baselines:
        baselines[id(ax)] = _render_axes(ax)
    artist.set_visible(False)
    try:
        return not np.array_equal(_render_axes(ax), baselines[id(ax)])
    finally:
        artist.set_visible(True)


def _legends(fig: Figure) -> list[tuple[Legend, list[Any], str]]:
    """(legend, axes it speaks for, name) for every axes legend and figure legend."""
    out = [
        (ax.get_legend(), [ax], _axes_title(ax) or "axes")
        for ax in fig.axes
        if ax.get_legend() is not None
    ]
    out += [(legend, list(fig.axes), "figure legend") for legend in fig.legends]
    return out


def _drawn_artists(axes: list[Any]) -> list[Artist]:
    return [a for ax in axes for a in (*ax.lines, *ax.collections, *ax.patches) if _has_data(a)]


def invisible_legend_entries(fig: Figure) -> list[str]:
    """Labels of legend entries without a visible mark in ``fig`` (see the module docstring).

    Returns
    -------
    list of str
        ``"<axes title>: <label>"`` for each offending entry; empty when all is well.
    """
    legends = _legends(fig)
    if not legends:
        return []
    # without antialiasing a mark drawn exactly under another leaves no trace at all
    aliased = [a for ax in fig.axes for a in _drawn_artists([ax]) if hasattr(a, "set_antialiased")]
    saved = [a.get_antialiased() for a in aliased]
    old_dpi = fig.get_dpi()
    for artist in aliased:
        artist.set_antialiased(False)
    try:
        fig.set_dpi(CHECK_DPI)
        _draw_figure(fig)
        return _invisible(legends)
    finally:
        fig.set_dpi(old_dpi)
        for artist, value in zip(aliased, saved, strict=True):
            artist.set_antialiased(value)


def _axes_title(ax: Any) -> str:
    return " ".join(t for t in (ax.get_title(loc=k) for k in ("left", "center", "right")) if t)


def _invisible(legends: list[tuple[Legend, list[Any], str]]) -> list[str]:
    visible: dict[int, bool] = {}
    baselines: dict[int, np.ndarray] = {}

    def shows(artist: Artist) -> bool:
        if id(artist) not in visible:
            visible[id(artist)] = _changes_pixels(artist, baselines)
        return visible[id(artist)]

    bad: list[str] = []
    for legend, axes, name in legends:
        drawn = _drawn_artists(axes)
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=False):
            label = text.get_text()
            source = _source_artist(handle, label, axes)
            if isinstance(source, Container):
                parts = _container_parts(source)
                ok = (
                    any(shows(a) for a in parts) if parts else _proxy_is_shown(handle, drawn, shows)
                )
            elif source is not None and _has_data(source):
                ok = shows(source)
            else:
                ok = _proxy_is_shown(handle if source is None else source, drawn, shows)
            if not ok:
                bad.append(f"{name}: {label}")
    return bad


def _source_artist(handle: Any, label: str, axes: list[Any]) -> Artist | Container | None:
    """The artist or container in ``axes`` a legend handle was made from (same label), if any."""
    for ax in axes:
        for artist in (*ax.lines, *ax.collections, *ax.patches, *ax.containers):
            if getattr(artist, "get_label", lambda: None)() == label:
                return artist
    return None


def _container_parts(container: Container) -> list[Artist]:
    """The drawn parts of a container (error bar, bars, stem plot) that have data.

    A container is a tuple of artists, not an artist: it has no ``axes`` and no visibility of
    its own, so the check looks at its parts (nested containers, such as the error bars of
    ``ax.bar(..., yerr=...)``, included).
    """
    parts = []
    for part in container.get_children():
        if isinstance(part, Container):
            parts += _container_parts(part)
        elif isinstance(part, Patch) and hasattr(part, "get_width"):
            if part.get_width() and part.get_height():  # a bar of zero size draws nothing
                parts.append(part)
        elif isinstance(part, Artist) and _has_data(part):
            parts.append(part)
    return parts


def _proxy_is_shown(proxy: Any, drawn: list[Artist], shows: Any) -> bool:
    marker = _marker_vertices(proxy)
    colours = _colours(proxy)
    neutral = len(colours) == 0 or bool(np.all(np.ptp(colours, axis=1) < 0.02))
    if marker is not None and neutral:
        # a key explaining a marker shape (drawn in grey or black): any artist drawing that
        # shape, in whatever colour, shows it
        candidates = [a for a in drawn if _same_marker(marker, _marker_vertices(a))]
    else:
        # a colour key (a coloured line, patch or marker): any artist of that colour shows it
        candidates = [
            a
            for a in drawn
            if len(colours)
            and len(_colours(a))
            and np.min(np.abs(_colours(a)[:, None, :] - colours[None, :, :]).sum(-1)) < 0.02
        ]
    return any(shows(a) for a in candidates)
