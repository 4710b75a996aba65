"""Every legend entry points at a visible mark (analysis.plots.legend_check, issue 14.6).

Small figures with a known answer: a series hidden exactly under another, an empty proxy, a
series outside the axes, a proxy whose colour is drawn elsewhere, a marker key; and
save_figure's warning / strict error.  The notebooks themselves run with strict legends in
test_notebooks.py (01 and 02).
"""

from __future__ import annotations

import warnings

import matplotlib
import pandas as pd
import pytest

matplotlib.use("agg")

from analysis.plots import marker_legend_handles, new_figure, plot_periods, save_figure
from analysis.plots.legend_check import (
    FigureLegendError,
    LegendWarning,
    invisible_legend_entries,
)


def _close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_hidden_empty_and_outside_entries_are_found() -> None:
    fig, ax = new_figure()
    ax.set_title("t")
    ax.plot([0, 1], [0, 1], color="#0072B2", lw=1.5, label="under")  # covered exactly
    ax.plot([0, 1], [0, 1], color="#E69F00", lw=1.5, label="over")
    ax.scatter([], [], color="#D55E00", label="empty proxy")
    ax.plot([5], [5], "o", color="#009E73", label="outside")
    ax.scatter([0.2], [0.8], color="#CC79A7")
    ax.scatter([], [], color="#CC79A7", label="proxy drawn elsewhere")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend()
    assert invisible_legend_entries(fig) == ["t: under", "t: empty proxy", "t: outside"]
    _close(fig)


def _periods(values: list[float], qualifier: str = "exact") -> pd.DataFrame:
    starts = pd.to_datetime(["2018-01-01", "2018-04-01", "2018-07-01"][: len(values)])
    return pd.DataFrame(
        {
            "period_start": starts,
            "period_end": starts + pd.Timedelta(days=89),
            "per_day": values,
            "qualifier": qualifier,
            "is_partial_period": False,
        }
    )


def test_rings_keep_a_coinciding_series_visible() -> None:
    """The notebook-02 panel b defect: one series drawn exactly under another."""
    big, small = _periods([10.0, 20.0, 30.0]), _periods([10.0, 20.0])
    fig, ax = new_figure()
    plot_periods(ax, small, color="#0072B2", label="small")
    plot_periods(ax, big, color="#E69F00", label="big")
    ax.legend()
    assert invisible_legend_entries(fig) == ["axes: small"]
    _close(fig)
    fig, ax = new_figure()
    plot_periods(ax, big, color="#E69F00", label="big")
    plot_periods(ax, small, color="#0072B2", label="small", ring=True)
    ax.legend()
    assert invisible_legend_entries(fig) == []
    _close(fig)


def test_marker_key_lists_only_markers_drawn() -> None:
    frame = _periods([1.0, 2.0])
    handles = marker_legend_handles(frames=[frame])
    assert [h.get_label() for h in handles] == ["complete period"]
    fig, ax = new_figure()
    plot_periods(ax, frame)
    fig.legend(handles=marker_legend_handles(), loc="outside upper center")  # all four
    bad = invisible_legend_entries(fig)
    assert bad == [
        "figure legend: lower bound ('more than')",
        "figure legend: upper bound ('less than')",
    ]  # the hollow circle shares the circle's shape: it is explained by the drawn circles
    _close(fig)


def test_save_figure_warns_or_raises_in_strict_mode(tmp_path, monkeypatch) -> None:
    fig, ax = new_figure()
    ax.scatter([], [], color="#D55E00", label="nothing drawn")
    ax.legend()
    fig.text(0, 0, "Source: test.")
    monkeypatch.delenv("TAKEDOWNS_STRICT_LEGENDS", raising=False)
    with pytest.warns(LegendWarning, match="nothing drawn"):
        save_figure(fig, "99_test", "legend", tmp_path, formats=("png",))
    monkeypatch.setenv("TAKEDOWNS_STRICT_LEGENDS", "1")
    with pytest.raises(FigureLegendError, match="99_test/legend.*nothing drawn"):
        save_figure(fig, "99_test", "legend", tmp_path, formats=("png",))
    _close(fig)


def test_a_clean_figure_saves_without_warning(tmp_path) -> None:
    fig, ax = new_figure()
    ax.plot([0, 1], [1, 2], label="line")
    ax.legend()
    with warnings.catch_warnings():
        warnings.simplefilter("error", LegendWarning)
        save_figure(fig, "99_test", "clean", tmp_path, formats=("png",))
    _close(fig)


def test_synthetic_label_follows_the_data() -> None:
    from analysis.plots import is_synthetic, mark_synthetic, synthetic_title

    real = pd.DataFrame({"channel_id": ["a", "b"]})
    simulated = real.assign(synthetic=[True, True])  # as `takedowns simulate` writes it
    from_csv = real.assign(synthetic=["true", "false"])  # read back from CSV as text
    flagged = real.copy()
    flagged.attrs["synthetic"] = True
    assert not is_synthetic(real)
    assert is_synthetic(simulated) and is_synthetic(from_csv) and is_synthetic(flagged)
    assert not is_synthetic(real.assign(synthetic=[False, False]))
    assert synthetic_title("Your channels", simulated) == "Your channels (synthetic)"
    assert synthetic_title("Your channels (synthetic)", simulated) == "Your channels (synthetic)"
    assert synthetic_title("Your channels", real) == "Your channels"
    fig, ax = new_figure()
    assert mark_synthetic(ax, simulated) and not mark_synthetic(ax, real)
    assert [t.get_text() for t in ax.texts] == ["SYNTHETIC DATA"]
    assert mark_synthetic(ax, simulated, loc="lower left")  # out of a legend's way
    badge = ax.texts[-1]
    assert badge.get_position() == (0.01, 0.02) and badge.get_ha() == "left"
    with pytest.raises(ValueError, match="loc"):
        mark_synthetic(ax, simulated, loc="centre")
    _close(fig)


def test_colour_keys_and_shape_keys() -> None:
    """A coloured square key explains a colour (drawn as circles); a grey key a shape."""
    from matplotlib.lines import Line2D

    fig, ax = new_figure()
    ax.plot([1, 2], [1, 2], "o", color="#0072B2")
    key = [
        Line2D([], [], ls="none", marker="s", color="#0072B2", label="blue series"),
        Line2D([], [], ls="none", marker="s", color="#E69F00", label="orange, never drawn"),
        Line2D([], [], ls="none", marker="o", color="#444444", label="circle: a value"),
        Line2D([], [], ls="none", marker="D", color="#444444", label="diamond, never drawn"),
    ]
    ax.legend(handles=key)
    assert invisible_legend_entries(fig) == [
        "axes: orange, never drawn",
        "axes: diamond, never drawn",
    ]
    _close(fig)


def test_labelled_containers_errorbar_bar_and_stem() -> None:
    """A labelled error bar, bar chart or stem plot is a legend handle that is a Container
    (no ``axes``, no visibility): visible when one of its parts with data changes pixels."""
    fig, ax = new_figure()
    ax.set_title("t")
    ax.errorbar([0.2], [0.5], yerr=[0.2], fmt="o", color="#0072B2", label="errorbar")
    ax.errorbar([0.4], [0.5], yerr=[0.2], fmt="none", color="#E69F00", label="bars only")
    ax.errorbar([5.0], [5.0], yerr=[0.2], fmt="o", color="#009E73", label="errorbar outside")
    ax.bar([0.6], [0.3], width=0.05, color="#CC79A7", label="bars")
    ax.bar([0.7], [0.0], width=0.05, color="#56B4E9", label="bars of zero height")
    ax.stem([0.8, 0.9], [0.4, 0.6], label="stem")
    ax.stem([3.0], [3.0], bottom=2.0, label="stem outside")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=4)
    assert invisible_legend_entries(fig) == [
        "t: errorbar outside",
        "t: bars of zero height",
        "t: stem outside",
    ]
    _close(fig)


def test_an_errorbar_hidden_under_another_is_found() -> None:
    """Bar lines drawn exactly under others.  (Markers exactly under markers, caps included,
    still leave edge pixels in the check render and pass as visible, for ``ax.plot`` too.)"""
    fig, ax = new_figure()
    for colour, label in (("#0072B2", "under"), ("#E69F00", "over")):
        ax.errorbar([0.5], [0.5], yerr=[0.3], fmt="none", lw=2, color=colour, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    assert invisible_legend_entries(fig) == ["axes: under"]
    _close(fig)


def test_an_empty_labelled_errorbar_is_a_colour_key() -> None:
    """With no data, a labelled container is a proxy: shown when its colour is drawn."""
    fig, ax = new_figure()
    ax.errorbar([0.5], [0.5], yerr=[0.2], fmt="none", color="#0072B2")
    ax.errorbar([], [], yerr=[], fmt="none", color="#0072B2", label="95% interval")
    ax.errorbar([], [], yerr=[], fmt="none", color="#D55E00", label="never drawn")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend()
    assert invisible_legend_entries(fig) == ["axes: never drawn"]
    _close(fig)


def test_save_figure_accepts_labelled_error_bars(tmp_path, monkeypatch) -> None:
    """The crash behind the workarounds of notebooks 04 and 05 (AttributeError on an
    ErrorbarContainer), in strict mode."""
    monkeypatch.setenv("TAKEDOWNS_STRICT_LEGENDS", "1")
    fig, ax = new_figure()
    ax.errorbar([0, 1], [1, 2], yerr=[0.5, 0.5], fmt="o", capsize=2, label="estimate, 95% CI")
    ax.legend()
    fig.text(0, 0, "Source: test.")
    assert save_figure(fig, "99_test", "errorbar", tmp_path, formats=("png",))
    _close(fig)
