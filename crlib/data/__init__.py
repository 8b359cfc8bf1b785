"""Published measurements of the cosmic-ray dipole anisotropy, with their references.

Two tables ship with crlib, one row per published point:

``dipole_amplitude.csv``
    first-harmonic (dipole) amplitude versus energy;
``dipole_phase.csv``
    right ascension of the first-harmonic maximum versus energy.

The numbers are the June-2023 state of the Cosmic-Ray DataBase (CRDB, quantities
``DipoleAmplitude`` and ``DipolePhase``; Maurin et al. 2014, A&A 569, A32; 2020,
Universe 6, 102; 2023) as compiled in the project's shared data folder; they were copied
programmatically, never retyped. crlib adds to each row the detector type, the ADS bibcode
of the publication, how sure that attribution is, a duplicate flag and a free-text note.

What the numbers are
--------------------
Almost every ground-based value is the amplitude of the first harmonic of the counting
rate in right ascension. That is the projection of the 3D dipole onto the equatorial
plane, further reduced by the detector's declination coverage (see
:mod:`crlib.observable`); a model's 3D amplitude ``|delta|`` is an upper bound on it.
A few experiments (e.g. EAS-TOP 1996) refer their amplitude to the equatorial plane,
i.e. they already divided by the coverage factor; the ``note`` column says so where known.

Columns (both tables)
---------------------
experiment : str
    Name as in CRDB, except ``HAWC`` -> ``HAWC+IceCube`` (the joint full-sky fit of
    Abeysekara et al. 2019) and ``Honkong`` -> ``Hong Kong``.
detector_type : str
    One of :data:`DETECTOR_TYPES`: ``"underground muon"`` (muon telescopes, mostly
    underground; large water/scintillator detectors counting down-going muons),
    ``"air shower"`` (surface arrays, including the water-Cherenkov arrays HAWC and
    Milagro and the ultra-high-energy observatories), ``"neutrino telescope"`` (IceCube,
    counting atmospheric muons in the ice).
E_GeV, E_lo_GeV, E_hi_GeV : float
    Representative energy and, where published, the bin edges, in GeV (crlib's energy
    unit); ``nan`` when no bin is given.
duplicate : bool
    True when another row holds the same measurement (the 6-year IceCube series is read
    twice in CRDB; IceTop 2013 is listed for a proton and for an iron energy scale).
    Plots and fits skip these rows by default.
ambiguous_errors : bool
    Two readings at one energy whose error bars may be swapped (from CRDB).
bibcode : str
    ADS bibcode of the publication (every one is in :data:`BIBCODES`).
attribution : str
    ``"verified"`` (value checked against the paper's abstract), ``"likely"`` (experiment
    and year fit a single bibcode of the list) or ``"uncertain"`` (a guess among several
    candidates; ``note`` names the alternatives).
note : str
    Free text.

Amplitude table only: ``amplitude`` (dimensionless; for an upper limit, the limit),
``stat_lo, stat_hi, sys_lo, sys_hi`` (absolute errors; ``nan`` for upper limits; a
``0`` systematic error means "not given", not "zero"), ``upper_limit`` (bool; confidence
level as given by each experiment, typically 95 % or 99 %).

Phase table only: ``phase_deg`` (right ascension of the maximum, degrees in [0, 360)),
``err_lo_deg, err_hi_deg`` (total error, degrees).
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np

from .._validate import as_float, positive

__all__ = [
    "DETECTOR_TYPES",
    "BIBCODES",
    "SEED_DATASETS",
    "load_amplitudes",
    "load_phases",
    "select",
    "experiment_summary",
]

#: The detector classes used to colour and filter the data.
DETECTOR_TYPES = ("underground muon", "air shower", "neutrino telescope")

#: ADS bibcodes of the compiled data (the list of the shared data README).
BIBCODES = (
    "1973ICRC....2.1058S", "1977ICRC...11..109G", "1981ApJ...248.1166C", "1981ICRC....2..146A",
    "1983ICRC....2..137M", "1983ICRC....3..383T", "1985P&SS...33..395N", "1985P&SS...33.1069S",
    "1987ICRC....2...18L", "1987ICRC....2...22A", "1989NCimC..12..695N", "1990ICRC....6..372B",
    "1991ApJ...376..322C", "1995ICRC....2..800A", "1995ICRC....4..635F", "1995ICRC....4..639M",
    "1995ICRC....4..648M", "1996ApJ...470..501A", "1997PhRvD..56...23M", "2003PhRvD..67d2002A",
    "2005ApJ...626L..29A", "2007PhRvD..75f2003G", "2009ApJ...692L.130A", "2009ApJ...698.2121A",
    "2009NuPhS.196..179A", "2010ApJ...718L.194A", "2012ApJ...746...33A", "2013ApJ...765...55A",
    "2015ApJ...809...90B", "2015ICRC...34..281C", "2016ApJ...826..220A", "2017ApJ...836..153A",
    "2017ICRC...35..474B", "2018ApJ...861...93B", "2018ApJ...868....4A", "2019ApJ...870...91A",
    "2019ApJ...871...96A", "2019ICRC...36..263G", "2020ApJ...891..142A", "2022icrc.confE.291F",
    "2022icrc.confE.351G",
)

#: Publications in the table whose data the two source papers overlay on their amplitude
#: figures (use with ``select(..., bibcodes=SEED_DATASETS["SH"])``).
#:
#: * ``"SH"`` (small-halo paper, Fig. 1): IceTop 2013, IceCube 2012, Milagro 2009,
#:   EAS-TOP 1996 and 2009, Tibet 2005.  Also plotted there but *not* in this table:
#:   KASCADE 2004 upper limits (Antoni et al., ApJ 604, 687), Akeno (Kifune et al. 1986,
#:   J. Phys. G 12, 129) and Gerhardy & Clay 1983 (J. Phys. G 9, 1279).
#: * ``"BA"`` (Blasi & Amato 2012, Figs. 2-5, 8): EAS-TOP 1996 and 2009 (their refs. 21, 23,
#:   with the 110 and 370 TeV points of 2009).  Their other sets (a compilation, ref. 20, shown
#:   as crosses, diamonds and stars; Akeno, ref. 22; KASCADE and Grande limits, ref. 24) cannot
#:   be identified from the seed text or are not in this table.
SEED_DATASETS = {
    "SH": ("2013ApJ...765...55A", "2012ApJ...746...33A", "2009ApJ...698.2121A",
           "1996ApJ...470..501A", "2009ApJ...692L.130A", "2005ApJ...626L..29A"),
    "BA": ("1996ApJ...470..501A", "2009ApJ...692L.130A"),
}

_COMMON_TEXT = ("experiment", "detector_type")
_TAIL_TEXT = ("bibcode", "attribution", "note")
_FLOAT_AMP = ("E_GeV", "E_lo_GeV", "E_hi_GeV", "amplitude", "stat_lo", "stat_hi", "sys_lo", "sys_hi")
_BOOL_AMP = ("upper_limit", "ambiguous_errors", "duplicate")
_FLOAT_PHASE = ("E_GeV", "E_lo_GeV", "E_hi_GeV", "phase_deg", "err_lo_deg", "err_hi_deg")
_BOOL_PHASE = ("ambiguous_errors", "duplicate")


def _read(filename, float_cols, bool_cols):
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    rows = list(csv.DictReader(lines))
    names = list(rows[0].keys())
    dtype = []
    for name in names:
        if name in float_cols:
            dtype.append((name, "f8"))
        elif name in bool_cols:
            dtype.append((name, "?"))
        else:
            width = max(len(r[name]) for r in rows)
            dtype.append((name, f"U{max(width, 1)}"))
    table = np.zeros(len(rows), dtype=dtype)
    for i, r in enumerate(rows):
        for name in names:
            v = r[name]
            if name in float_cols:
                table[name][i] = float(v) if v != "" else np.nan
            elif name in bool_cols:
                if v not in ("yes", "no"):
                    raise ValueError(f"{filename}: column {name} must be yes/no, got {v!r}")
                table[name][i] = v == "yes"
            else:
                table[name][i] = v
    return table


def load_amplitudes():
    """Published first-harmonic amplitudes, one row per point.

    Returns
    -------
    numpy.ndarray
        Structured array (access columns as ``t["E_GeV"]``); columns are described in
        the module docstring. Energies in GeV. Sorted as in the file (by experiment,
        then energy). Upper limits have ``upper_limit=True`` and ``nan`` errors.

    Examples
    --------
    >>> t = load_amplitudes()
    >>> ok = ~t["upper_limit"] & ~t["duplicate"]
    >>> t["E_GeV"][ok].min() < 1e3 < t["E_GeV"][ok].max()
    True
    """
    t = _read("dipole_amplitude.csv", _FLOAT_AMP, _BOOL_AMP)
    for col in ("stat_lo", "stat_hi", "sys_lo", "sys_hi"):
        t[col][t["upper_limit"]] = np.nan
    return t


def load_phases():
    """Published right-ascension phases of the first harmonic, one row per point.

    Returns
    -------
    numpy.ndarray
        Structured array; ``phase_deg`` in [0, 360), errors in degrees, energies in GeV.
    """
    return _read("dipole_phase.csv", _FLOAT_PHASE, _BOOL_PHASE)


def select(table=None, emin=None, emax=None, detector_types=None, upper_limits=True,
           duplicates=False, bibcodes=None, experiments=None):
    """Rows of ``table`` (from :func:`load_amplitudes` or :func:`load_phases`) to keep.

    The one data selection of crlib: :func:`crlib.observable.select_data` and
    :func:`crlib.observable.distance_to_data` call it.

    Parameters
    ----------
    table : structured array, optional
        Defaults to :func:`load_amplitudes`.
    emin, emax : float, optional
        Energy range in GeV (inclusive) for the representative energy ``E_GeV``.
    detector_types : str or sequence of str, optional
        Keep only these detector types (see :data:`DETECTOR_TYPES`).
    upper_limits : bool
        Keep upper-limit rows (amplitude table only).
    duplicates : bool
        Keep rows flagged ``duplicate``.
    bibcodes : sequence of str, optional
        Keep only rows from these publications (e.g. ``SEED_DATASETS["SH"]``).
    experiments : str or sequence of str, optional
        Keep only rows of these experiments (names as in the table's ``experiment`` column).

    Returns
    -------
    structured array
        A copy of the selected rows.
    """
    if table is None:
        table = load_amplitudes()
    mask = np.ones(len(table), dtype=bool)
    if emin is not None:
        mask &= table["E_GeV"] >= positive("emin", emin)
    if emax is not None:
        mask &= table["E_GeV"] <= positive("emax", emax)
    if emin is not None and emax is not None and as_float("emax", emax) < as_float("emin", emin):
        raise ValueError(f"emax must be >= emin, got emin={emin!r}, emax={emax!r}")
    if detector_types is not None:
        if isinstance(detector_types, str):
            detector_types = (detector_types,)
        bad = [d for d in detector_types if d not in DETECTOR_TYPES]
        if bad:
            raise ValueError(f"detector_types must be among {DETECTOR_TYPES}, got {bad[0]!r}")
        mask &= np.isin(table["detector_type"], list(detector_types))
    if not upper_limits and "upper_limit" in table.dtype.names:
        mask &= ~table["upper_limit"]
    if not duplicates:
        mask &= ~table["duplicate"]
    if bibcodes is not None:
        if isinstance(bibcodes, str):
            bibcodes = (bibcodes,)
        bad = [b for b in bibcodes if b not in BIBCODES]
        if bad:
            raise ValueError(f"bibcodes must be ADS bibcodes listed in crlib.data.BIBCODES, got {bad[0]!r}")
        mask &= np.isin(table["bibcode"], list(bibcodes))
    if experiments is not None:
        names = [experiments] if isinstance(experiments, str) else list(experiments)
        bad = [n for n in names if n not in set(table["experiment"])]
        if bad:
            raise ValueError(f"experiments must name experiments in the table, got {bad[0]!r}")
        mask &= np.isin(table["experiment"], names)
    return table[mask].copy()


def experiment_summary(table=None):
    """One line per experiment: detector type, energy range, number of points, references.

    Parameters
    ----------
    table : structured array, optional
        Defaults to :func:`load_amplitudes` without duplicate rows.

    Returns
    -------
    list of dict
        Keys ``experiment, detector_type, E_min_GeV, E_max_GeV, n_points, n_upper_limits,
        bibcodes`` (tuple) and ``uncertain`` (True if any row's attribution is uncertain),
        ordered by detector type, then by lowest energy.
    """
    if table is None:
        table = select(load_amplitudes())
    out = []
    for name in dict.fromkeys(table["experiment"]):
        rows = table[table["experiment"] == name]
        ul = rows["upper_limit"] if "upper_limit" in rows.dtype.names else np.zeros(len(rows), bool)
        out.append({
            "experiment": str(name),
            "detector_type": str(rows["detector_type"][0]),
            "E_min_GeV": float(rows["E_GeV"].min()),
            "E_max_GeV": float(rows["E_GeV"].max()),
            "n_points": int(len(rows)),
            "n_upper_limits": int(ul.sum()),
            "bibcodes": tuple(dict.fromkeys(str(b) for b in rows["bibcode"])),
            "uncertain": bool(np.any(rows["attribution"] == "uncertain")),
        })
    order = {d: i for i, d in enumerate(DETECTOR_TYPES)}
    out.sort(key=lambda r: (order[r["detector_type"]], r["E_min_GeV"]))
    return out
