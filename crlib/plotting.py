"""Figure helpers shared by the chapters: the measured anisotropy drawn the same way everywhere.

Every simulation figure of the book overlays the published dipole amplitudes
(:mod:`crlib.data`) on its model curves.  :func:`plot_measured_amplitudes` draws them
with one colour and marker per detector type, error bars (statistical and systematic
added in quadrature) and upper limits as downward arrows, and returns the legend
handles so a caller can merge them with its own.  Energies are in GeV unless
``energy_unit`` says otherwise (e.g. ``energy_unit=crlib.units.TeV``).

Rows flagged ``duplicate`` in the tables (the same measurement listed twice) are never
drawn.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from . import data as _data
from ._validate import as_float, in_closed_interval, positive

__all__ = ["DETECTOR_STYLE", "BAND_STYLE", "detector_handles", "plot_bands", "plot_measured_amplitudes",
           "plot_measured_phases"]

#: Fill colour of the central bands of an ensemble (the wider band drawn lighter).
BAND_STYLE = {0.683: "0.65", 0.95: "0.85"}

#: Colour, marker and legend label of each detector type (colour-blind-safe Dark2 colours).
DETECTOR_STYLE = {
    "underground muon": {"color": "#1b9e77", "marker": "o", "label": "underground muon"},
    "air shower": {"color": "#d95f02", "marker": "s", "label": "air shower"},
    "neutrino telescope": {"color": "#7570b3", "marker": "D", "label": "neutrino telescope (IceCube)"},
}

_UL_COLOR = "0.35"


def _types(detector_types):
    if detector_types is None:
        return _data.DETECTOR_TYPES
    if isinstance(detector_types, str):
        detector_types = (detector_types,)
    bad = [d for d in detector_types if d not in _data.DETECTOR_TYPES]
    if bad:
        raise ValueError(f"detector_types must be among {_data.DETECTOR_TYPES}, got {bad[0]!r}")
    return tuple(detector_types)


def detector_handles(detector_types=None, upper_limit=True, markersize=5):
    """Legend handles for the detector types (and the upper-limit arrow), for merged legends."""
    handles = []
    for d in _types(detector_types):
        st = DETECTOR_STYLE[d]
        handles.append(Line2D([], [], ls="none", marker=st["marker"], color=st["color"],
                              markersize=markersize, label=st["label"]))
    if upper_limit:
        handles.append(Line2D([], [], ls="none", marker="$\\downarrow$", color=_UL_COLOR,
                              markersize=markersize + 4, label="upper limit"))
    return handles


def _common(emin, emax, alpha, energy_unit):
    emin = None if emin is None else positive("emin", emin)
    emax = None if emax is None else positive("emax", emax)
    if emin is not None and emax is not None and emax < emin:
        raise ValueError(f"emax must be >= emin, got emin={emin!r}, emax={emax!r}")
    alpha = in_closed_interval("alpha", as_float("alpha", alpha), 0.0, 1.0)
    energy_unit = positive("energy_unit", as_float("energy_unit", energy_unit))
    return emin, emax, alpha, energy_unit


def _energy_label(energy_unit):
    from . import units

    names = {units.GeV: "GeV", units.TeV: "TeV", units.PeV: "PeV", units.EeV: "EeV"}
    for value, name in names.items():
        if np.isclose(energy_unit, value):
            return f"$E$ [{name}]"
    return f"$E$ [{energy_unit:g} GeV]"


def plot_measured_amplitudes(ax, emin=None, emax=None, detector_types=None, alpha=0.85, *,
                             energy_unit=1.0, legend=True, markersize=4.0, table=None):
    """Draw the published dipole amplitudes on ``ax`` (log-log), coloured by detector type.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    emin, emax : float, optional
        Keep points with ``emin <= E <= emax`` (GeV).  Default: all (60 GeV to 300 EeV).
    detector_types : str or sequence of str, optional
        Subset of :data:`crlib.data.DETECTOR_TYPES`; default all three.
    alpha : float
        Opacity of markers and error bars, in [0, 1].
    energy_unit : float
        Divide energies by this before plotting (``crlib.units.TeV`` plots in TeV).
    legend : bool
        Add a legend (detector types and upper-limit symbol) in the upper left corner.
        With ``legend=False`` merge the returned handles into your own legend.
    markersize : float
    table : structured array, optional
        Table in the format of :func:`crlib.data.load_amplitudes` (default: that table).

    Returns
    -------
    list of matplotlib.lines.Line2D
        Legend handles of what was drawn.

    Notes
    -----
    Error bars are statistical and systematic errors added in quadrature (a
    systematic error of 0 in the table means "not given"); a lower bar that would
    reach zero is cut at a tenth of the value.  Upper limits are drawn
    as a short bar at the limit with an arrow down to 60 % of it.  Most values
    are first harmonics in right ascension, i.e. *projections* of the 3D dipole
    (see :mod:`crlib.observable`).
    """
    emin, emax, alpha, energy_unit = _common(emin, emax, alpha, energy_unit)
    types = _types(detector_types)
    t = _data.load_amplitudes() if table is None else table
    t = _data.select(t, emin=emin, emax=emax, detector_types=types, upper_limits=True,
                     duplicates=False)
    ax.set_xscale("log")
    ax.set_yscale("log")
    drawn = []
    any_ul = False
    for d in types:
        st = DETECTOR_STYLE[d]
        rows = t[t["detector_type"] == d]
        if len(rows) == 0:
            continue
        drawn.append(d)
        pts = rows[~rows["upper_limit"]]
        if len(pts):
            lo = np.hypot(pts["stat_lo"], pts["sys_lo"])
            hi = np.hypot(pts["stat_hi"], pts["sys_hi"])
            # on a log axis a bar reaching zero has no end: stop it at a tenth of the value
            lo = np.minimum(lo, 0.9 * pts["amplitude"])
            ax.errorbar(pts["E_GeV"] / energy_unit, pts["amplitude"], yerr=[lo, hi], ls="none",
                        marker=st["marker"], color=st["color"], ms=markersize, mew=0.6,
                        mfc=st["color"], elinewidth=0.8, capsize=0, alpha=alpha, zorder=3)
        uls = rows[rows["upper_limit"]]
        if len(uls):
            any_ul = True
            x = uls["E_GeV"] / energy_unit
            y = uls["amplitude"]
            ax.plot(x, y, ls="none", marker="_", ms=markersize + 4, mew=1.2, color=st["color"],
                    alpha=alpha, zorder=3)
            for xi, yi in zip(x, y):
                ax.annotate("", xy=(xi, 0.6 * yi), xytext=(xi, yi), zorder=3,
                            arrowprops={"arrowstyle": "-|>", "color": st["color"], "lw": 1.0,
                                        "alpha": alpha, "shrinkA": 0, "shrinkB": 0,
                                        "mutation_scale": 7})
            # arrows do not enter autoscaling: add their tips invisibly
            ax.plot(x, 0.6 * y, ls="none", marker="none")
    if not ax.get_xlabel():
        ax.set_xlabel(_energy_label(energy_unit))
    if not ax.get_ylabel():
        ax.set_ylabel("dipole amplitude")
    handles = detector_handles(drawn, upper_limit=any_ul, markersize=markersize + 1)
    if legend and handles:
        ax.legend(handles=handles, loc="upper left", fontsize="small", frameon=False)
    return handles


def plot_measured_phases(ax, emin=None, emax=None, detector_types=None, alpha=0.85, *,
                         energy_unit=1.0, legend=True, markersize=4.0, phase_min=-180.0,
                         table=None):
    """Draw the published right-ascension phases of the first harmonic on ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    emin, emax, detector_types, alpha, energy_unit, legend, markersize
        As in :func:`plot_measured_amplitudes`.
    phase_min : float
        Phases are wrapped into ``[phase_min, phase_min + 360)`` degrees.  The default
        ``-180`` keeps the measurements near RA 0 together and shows the swing from
        about +40 deg below 100 TeV to about -90 deg (RA 270 deg) above it.
    table : structured array, optional
        Table in the format of :func:`crlib.data.load_phases`.

    Returns
    -------
    list of matplotlib.lines.Line2D
        Legend handles.
    """
    emin, emax, alpha, energy_unit = _common(emin, emax, alpha, energy_unit)
    phase_min = as_float("phase_min", phase_min)
    types = _types(detector_types)
    t = _data.load_phases() if table is None else table
    t = _data.select(t, emin=emin, emax=emax, detector_types=types, duplicates=False)
    ax.set_xscale("log")
    ax.set_yscale("linear")
    drawn = []
    for d in types:
        st = DETECTOR_STYLE[d]
        rows = t[t["detector_type"] == d]
        if len(rows) == 0:
            continue
        drawn.append(d)
        ph = (rows["phase_deg"] - phase_min) % 360.0 + phase_min
        ax.errorbar(rows["E_GeV"] / energy_unit, ph, yerr=[rows["err_lo_deg"], rows["err_hi_deg"]],
                    ls="none", marker=st["marker"], color=st["color"], ms=markersize, mew=0.6,
                    elinewidth=0.8, capsize=0, alpha=alpha, zorder=3)
    ax.set_ylim(phase_min, phase_min + 360.0)
    ax.set_yticks(np.arange(phase_min, phase_min + 361.0, 90.0))
    if not ax.get_xlabel():
        ax.set_xlabel(_energy_label(energy_unit))
    if not ax.get_ylabel():
        ax.set_ylabel("phase (right ascension) [deg]")
    handles = detector_handles(drawn, upper_limit=False, markersize=markersize + 1)
    if legend and handles:
        ax.legend(handles=handles, loc="lower left", fontsize="small", frameon=False)
    return handles


def plot_bands(ax, E, values, levels=(0.95, 0.683), one_sided=False, colors=None, labels=None,
               label_suffix="", **fill_kw):
    """Fill the central bands of an ensemble per energy, the widest first.

    Parameters
    ----------
    ax : matplotlib Axes
    E : array (n_E,)
        Energies, in the caller's unit.
    values : array (N, n_E) or dict level -> (lo, hi)
        Realizations (the bands are computed with :func:`crlib.ensemble.bands`, or the
        upper quantile only if ``one_sided``), or bands already computed.
    levels : sequence of float in (0, 1)
        Which bands to draw, widest first.
    one_sided : bool
        Bands [0, q_p] for a quantity bounded below by zero (e.g. an angle).
    colors : dict level -> colour, optional
        Default :data:`BAND_STYLE` (grey shades).
    labels : dict level -> str, optional
        Default "68.3 %" and "95 %" plus ``label_suffix``.
    **fill_kw
        Passed on to ``ax.fill_between`` (e.g. ``alpha``, ``zorder``).

    Returns
    -------
    dict level -> (lo, hi)
        The band edges drawn.
    """
    E = np.asarray(E, dtype=float)
    if isinstance(values, dict):
        edges = {p: (np.asarray(values[p][0], float), np.asarray(values[p][1], float)) for p in levels}
    else:
        a = np.asarray(values, dtype=float)
        if a.ndim != 2 or a.shape[1] != E.size:
            raise ValueError(f"values must have shape (N, {E.size}), got {a.shape}")
        edges = {}
        for p in levels:
            p = in_closed_interval("levels", as_float("levels", p), 0.0, 1.0)
            if one_sided:
                edges[p] = (np.zeros(E.size), np.quantile(a, p, axis=0))
            else:
                edges[p] = tuple(np.quantile(a, [(1 - p) / 2, (1 + p) / 2], axis=0))
    colors = {**BAND_STYLE, **(colors or {})}
    fill_kw.setdefault("lw", 0)
    for p in sorted(edges, reverse=True):
        lo, hi = edges[p]
        lab = (labels or {}).get(p, f"{100 * p:.3g} %{label_suffix}")
        ax.fill_between(E, lo, hi, color=colors.get(p, "0.75"), label=lab, **fill_kw)
    return edges
