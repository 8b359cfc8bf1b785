r"""Ensembles over a parameter grid, compared with the measured dipole (:ref:`model-ensembles`).

:func:`scan` runs :func:`crlib.ensemble.run_ensemble` at every point of a grid
of model parameters, either in this process (``backend="serial"``, no dask
needed) or on a ``dask.distributed`` cluster (``backend="dask"``: a
``LocalCluster`` by default, or the scheduler address the reader gives).  Each
grid point is one task; its ensemble is cached on disk by run_ensemble's own
cache (``cache_dir``), whose key covers every parameter of the point, so a
second scan of the same grid, or of a grid sharing points with it, recomputes
nothing.

Seeds.  The grid points are numbered in C order over the grid axes (the order
of the keys of ``grid``); point k gets the integer seed drawn from child k of
``numpy.random.SeedSequence(seed).spawn(n_points)``, and run_ensemble gives
realization i of that point child i of ``SeedSequence(point_seed)``.  Every
number therefore depends only on the root seed and the grid, not on the backend
or the number of workers.

Statistic.  Each realization's dipole vectors are projected as a ground array
with a given declination band sees them
(:func:`crlib.observable.first_harmonic_band`) and compared with the measured
first-harmonic amplitudes by :func:`crlib.observable.distance_to_data`, the
distance :math:`d^2` of the data chapter; optionally a phase term is added
(:class:`Statistic`).  :meth:`ScanResult.acceptance` gives per grid point the
fraction of realizations with :math:`d^2` at most a stated threshold, an
approximate-Bayesian acceptance, with a binomial (Clopper–Pearson) interval.

Command line (the full grids of the book's scan chapter on a cluster)::

    python -m crlib.scan sh --scheduler tcp://host:8786 --n 1000 --cache /shared/scan-cache
    python -m crlib.scan ba --workers 8 --n 200 --cache scan-cache --out ba.npz
"""

import argparse
import dataclasses
import inspect
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from .diffusion import BADiffusion
from .ensemble import Scenario, run_ensemble
from .observable import distance_to_data, first_harmonic_band
from .units import PeV, TeV, kpc

__all__ = ["Statistic", "ScanResult", "scan", "point_seeds", "ba_grammage_scenario",
           "ba_grammage_D28", "acceptance", "phase_distance", "flat_benchmark", "constant_phase_dipoles",
           "circular_mean_phase", "local_cluster",
           "SH_FULL_GRID", "BA_FULL_GRID", "NORTH_BAND", "FIT_RANGE", "PIVOT_RATIO", "main"]

#: Declination band (degrees) of a northern array at 30 deg N (Tibet, ARGO-YBJ, LHAASO), as in
#: the data chapter.
NORTH_BAND = (-15.0, 75.0)

#: Energy range of the comparison with the data, GeV.
FIT_RANGE = (1.0 * TeV, 1.0 * PeV)


# ----------------------------------------------------------------------------- statistic
def _wrap_deg(x):
    """Angles in degrees wrapped to (-180, 180]."""
    return -((-np.asarray(x, float) + 180.0) % 360.0 - 180.0)


def phase_distance(E, delta, dec_band=NORTH_BAND, E_range=FIT_RANGE, floor_deg=10.0, table=None):
    r"""Phase part of the distance: :math:`\sum_i (\Delta\phi_i/\sigma_i)^2` over measured phases.

    :math:`\Delta\phi_i` is the difference, wrapped to (−180°, 180°], between the
    model's right-ascension phase at the measured energy and the measured phase;
    the model phase is that of the equatorial projection of the dipole vector
    interpolated linearly in ln E (interpolating the vector, not the angle);
    :math:`\sigma_i^2` is the larger quoted error squared plus ``floor_deg`` squared.
    Rows flagged ``duplicate`` are dropped.

    Parameters
    ----------
    E : array_like, shape (n_E,)
        Model energies, GeV, strictly increasing.
    delta : array_like, shape (n_realizations, n_E, 3)
        Dipole vectors in crlib's Galactocentric axes.
    dec_band : (float, float)
        Declination band of the projection, degrees (the phase does not depend on it,
        it is used only through :func:`crlib.observable.first_harmonic_band`).
    E_range : (float, float)
        Energies of the measured phases used, GeV.
    floor_deg : float
        Error floor in degrees, > 0.
    table : structured array, optional
        Phase table in the format of :func:`crlib.data.load_phases` (default: that table).

    Returns
    -------
    ndarray, shape (n_realizations,)
    """
    from .data import load_phases

    E = np.asarray(E, float)
    if E.ndim != 1 or E.size < 2 or np.any(np.diff(E) <= 0) or np.any(E <= 0):
        raise ValueError("E must be a strictly increasing 1-d array of at least 2 positive energies")
    d = np.asarray(delta, float)
    if d.ndim != 3 or d.shape[1:] != (E.size, 3):
        raise ValueError(f"delta must have shape (n_realizations, {E.size}, 3), got {d.shape}")
    if not (np.isfinite(floor_deg) and floor_deg > 0):
        raise ValueError(f"floor_deg must be a finite number > 0, got {floor_deg!r}")
    t = load_phases() if table is None else table
    keep = (t["E_GeV"] >= max(E_range[0], E[0])) & (t["E_GeV"] <= min(E_range[1], E[-1]))
    if "duplicate" in t.dtype.names:
        keep &= ~t["duplicate"]
    t = t[keep]
    if len(t) == 0:
        return np.zeros(d.shape[0])
    x, xd = np.log(E), np.log(t["E_GeV"])
    k = np.clip(np.searchsorted(x, xd, side="right") - 1, 0, x.size - 2)
    w = ((xd - x[k]) / (x[k + 1] - x[k]))[None, :, None]
    vec = (1.0 - w) * d[:, k, :] + w * d[:, k + 1, :]
    _, phase = first_harmonic_band(vec, *dec_band)
    err = np.fmax(np.nan_to_num(t["err_lo_deg"]), np.nan_to_num(t["err_hi_deg"]))
    sig2 = err ** 2 + floor_deg ** 2
    return np.sum(_wrap_deg(phase - t["phase_deg"][None, :]) ** 2 / sig2[None, :], axis=1)


@dataclass(frozen=True)
class Statistic:
    r"""Distance of each realization to the measured first harmonics.

    :math:`d^2` of :func:`crlib.observable.distance_to_data` for the amplitudes
    :math:`r_1` that an array with declination band ``dec_band`` reports
    (:func:`crlib.observable.first_harmonic_band`), over ``E_range``; with
    ``phases=True`` plus :func:`phase_distance`.

    Parameters
    ----------
    dec_band : (float, float)
        Declination band of the projection, degrees (default: a northern array at 30° N).
    E_range : (float, float)
        Energies of the measured points used, GeV (default 1 TeV – 1 PeV).
    phases : bool
        Add the phase term.
    phase_floor_deg : float
        Error floor of the phase term, degrees.
    """

    dec_band: tuple = NORTH_BAND
    E_range: tuple = FIT_RANGE
    phases: bool = False
    phase_floor_deg: float = 10.0

    def __call__(self, energies, delta):
        """d² per realization, shape (n_realizations,), from dipole vectors (N, n_E, 3)."""
        r1, _ = first_harmonic_band(delta, *self.dec_band)
        d2 = distance_to_data(energies, r1, E_range=self.E_range)
        if self.phases:
            d2 = d2 + phase_distance(energies, delta, self.dec_band, self.E_range,
                                     self.phase_floor_deg)
        return np.atleast_1d(d2)


def flat_benchmark(energies, level=7e-4, phase_deg=None, statistic=Statistic()):
    """d² of a structureless model: r1 = ``level`` at every energy (the data chapter's benchmark).

    With ``statistic.phases`` the benchmark also has one RA phase, ``phase_deg``, at every
    energy, and its phase term is added.

    Parameters
    ----------
    energies : array_like
        Model energies, GeV (strictly increasing).
    level : float
        The flat amplitude, > 0.
    phase_deg : float, optional
        The constant phase, degrees; required when ``statistic.phases`` is true.
    statistic : Statistic
    """
    E = np.asarray(energies, float)
    if not (np.isfinite(level) and level > 0):
        raise ValueError(f"level must be a finite amplitude > 0, got {level!r}")
    d2 = float(distance_to_data(E, np.full(E.size, float(level)), E_range=statistic.E_range))
    if statistic.phases:
        if phase_deg is None or not np.isfinite(phase_deg):
            raise ValueError(f"phase_deg must be a finite angle in degrees, got {phase_deg!r}")
        d2 += float(phase_distance(E, constant_phase_dipoles(E.size, phase_deg)[None],
                                   statistic.dec_band, statistic.E_range,
                                   statistic.phase_floor_deg)[0])
    return d2


def constant_phase_dipoles(n_E, phase_deg, amplitude=1.0):
    """Dipole vectors (n_E, 3), Galactocentric axes, in the celestial equator at RA ``phase_deg``."""
    from .observable import galactocentric_to_equatorial

    m = galactocentric_to_equatorial(np.eye(3))     # row i: image of axis i (orthogonal)
    phi = np.radians(float(phase_deg))
    eq = amplitude * np.array([np.cos(phi), np.sin(phi), 0.0])
    return np.broadcast_to(eq @ m.T, (int(n_E), 3)).copy()


def circular_mean_phase(E_range=FIT_RANGE, table=None):
    """Circular mean (degrees, [0, 360)) of the measured RA phases in ``E_range`` (no duplicates)."""
    from .data import load_phases

    t = load_phases() if table is None else table
    keep = (t["E_GeV"] >= E_range[0]) & (t["E_GeV"] <= E_range[1])
    if "duplicate" in t.dtype.names:
        keep &= ~t["duplicate"]
    a = np.radians(t["phase_deg"][keep])
    return float(np.degrees(np.arctan2(np.sin(a).mean(), np.cos(a).mean())) % 360.0)


def acceptance(distances, threshold, level=0.683):
    """Fraction of realizations with distance <= ``threshold``, and its binomial interval.

    Parameters
    ----------
    distances : array_like, shape (..., n_realizations)
        d² per realization; the last axis is the ensemble.
    threshold : float
        Stated distance threshold, >= 0.
    level : float
        Confidence level of the Clopper–Pearson interval, in (0, 1).

    Returns
    -------
    dict with
        ``fraction``, ``lo``, ``hi`` (the interval), ``sigma`` (the binomial standard error
        sqrt(p(1-p)/N)), ``k`` (number accepted) and ``n`` (ensemble size);
        arrays of the leading shape of ``distances``.
    """
    from scipy.stats import binomtest

    d = np.asarray(distances, float)
    if d.ndim == 0 or d.shape[-1] == 0:
        raise ValueError(f"distances must have a non-empty last axis, got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("distances must be finite and >= 0")
    if not (np.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    n = d.shape[-1]
    k = np.sum(d <= threshold, axis=-1)
    frac = k / n
    lo = np.empty(k.shape)
    hi = np.empty(k.shape)
    for idx in np.ndindex(k.shape):
        ci = binomtest(int(k[idx]), n).proportion_ci(confidence_level=level, method="exact")
        lo[idx], hi[idx] = ci.low, ci.high
    return {"fraction": frac, "lo": lo, "hi": hi, "sigma": np.sqrt(frac * (1.0 - frac) / n),
            "k": k, "n": n}


# ----------------------------------------------------------------------------- BA's grammage
def ba_grammage_D28(delta, H):
    r"""BA's D28 (1e28 cm²/s at 3 GV) for any slope, keeping the B/C grammage D/H fixed.

    BA normalise :math:`D = 10^{28} D_{28} (R/3\,{\rm GV})^\delta` cm²/s to the
    B/C ratio with :math:`D_{28} = 1.33\,H_{\rm kpc}` for δ = 1/3 and
    :math:`0.55\,H_{\rm kpc}` for δ = 0.6 (see :class:`crlib.diffusion.BADiffusion`).
    The two curves D/H cross at the pivot rigidity
    :math:`R_* = 3\,{\rm GV}\,(1.33/0.55)^{1/(0.6-1/3)} \approx 82` GV.  For another
    slope we keep D/H at :math:`R_*` (an interpolation of ours, not BA's):
    :math:`D_{28} = 1.33\,H_{\rm kpc}\,(R_*/3\,{\rm GV})^{1/3-\delta}`, which
    reproduces both of BA's normalisations exactly.
    """
    delta = float(delta)
    if not (math.isfinite(delta) and 0.0 < delta < 1.0):
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    H = float(H)
    if not (math.isfinite(H) and H > 0):
        raise ValueError(f"H must be a finite halo half-height > 0 kpc, got {H!r}")
    return 1.33 * (H / kpc) * PIVOT_RATIO ** (1.0 / 3.0 - delta)


#: R_* / 3 GV, the rigidity (in units of 3 GV) at which BA's two B/C normalisations agree.
PIVOT_RATIO = (1.33 / 0.55) ** (1.0 / (0.6 - 1.0 / 3.0))


def ba_grammage_scenario(H=4.0, delta=1.0 / 3.0, **kwargs):
    """BA's scenario (:func:`crlib.presets.ba_scenario`) at any (H, δ) with D/H fixed by B/C.

    The diffusion coefficient is :class:`crlib.diffusion.BADiffusion` with
    ``D28 = ba_grammage_D28(delta, H)`` and the injection index is 2.67 − δ;
    ``kwargs`` go to :func:`crlib.presets.ba_scenario` (model, rate, n_energies, ...).
    """
    from .presets import GAMMA_PLUS_DELTA, ba_scenario

    D28 = ba_grammage_D28(delta, H)
    base = ba_scenario(H=H, delta=1.0 / 3.0, **kwargs)
    return dataclasses.replace(base, diffusion=BADiffusion(float(delta), base.H, D28=D28),
                               injection_index=GAMMA_PLUS_DELTA - float(delta))


# ----------------------------------------------------------------------------- grid
def _check_grid(build, grid, fixed):
    if not isinstance(grid, dict) or len(grid) == 0:
        raise ValueError(f"grid must be a non-empty dict of parameter name -> values, got {grid!r}")
    if isinstance(build, Scenario):
        allowed = {f.name for f in dataclasses.fields(Scenario)}
        where = "a Scenario field"
        if fixed:
            raise ValueError("fixed must be empty when build is a Scenario (put values in the Scenario)")
    elif callable(build):
        sig = inspect.signature(build)
        if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            allowed = None
        else:
            allowed = {n for n, p in sig.parameters.items()
                       if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        where = f"a keyword of {getattr(build, '__name__', build)!r}"
    else:
        raise ValueError(f"build must be a Scenario or a callable returning one, got {build!r}")
    names, axes = [], []
    for name, values in grid.items():
        if allowed is not None and name not in allowed:
            raise ValueError(f"grid parameter {name!r} is not {where}")
        if name in (fixed or {}):
            raise ValueError(f"grid parameter {name!r} is also in fixed")
        try:
            v = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"grid parameter {name!r} must be a 1-d sequence of numbers, got {values!r}")
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"grid parameter {name!r} must be a non-empty 1-d sequence, got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"grid parameter {name!r} must be finite, got {v.tolist()!r}")
        if np.unique(v).size != v.size:
            raise ValueError(f"grid parameter {name!r} has repeated values {v.tolist()!r}")
        names.append(name)
        axes.append(v)
    return names, axes


def _scenario_at(build, fixed, params):
    if isinstance(build, Scenario):
        return dataclasses.replace(build, **params)
    sc = build(**(fixed or {}), **params)
    if not isinstance(sc, Scenario):
        raise ValueError(f"build must return a Scenario, got {type(sc).__name__}")
    return sc


def point_seeds(seed, n_points):
    """Integer seed of each grid point: from child k of ``SeedSequence(seed).spawn(n_points)``."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return [int(c.generate_state(1, np.uint64)[0])
            for c in np.random.SeedSequence(int(seed)).spawn(int(n_points))]


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True)
class ScanResult:
    """Outcome of :func:`scan`.

    Attributes
    ----------
    names : tuple of str
        Grid parameters, in axis order.
    axes : tuple of ndarray
        Their values.
    energies : ndarray (n_E,)
        Model energies of the first point, GeV.
    d2 : ndarray, grid shape + (N,)
        Distance of every realization to the data (:class:`Statistic`).
    r1 : ndarray, grid shape + (N, n_E)
        Observable amplitudes (band projection of ``statistic``).
    seeds : ndarray of uint64, grid shape
        Seed of each point's ensemble.
    keys : ndarray of str, grid shape
        run_ensemble's cache key of each point.
    seconds : ndarray, grid shape
        Wall time of each point on its worker (near zero when read from the cache).
    wall : float
        Wall time of the whole scan, s.
    computed : int
        Number of new cache files written (-1 without a cache).
    statistic : Statistic
    """

    names: tuple
    axes: tuple
    energies: np.ndarray
    d2: np.ndarray
    r1: np.ndarray
    seeds: np.ndarray
    keys: np.ndarray
    seconds: np.ndarray
    wall: float
    computed: int
    statistic: Statistic

    @property
    def shape(self):
        return tuple(a.size for a in self.axes)

    @property
    def n_realizations(self):
        return self.d2.shape[-1]

    def acceptance(self, threshold, level=0.683):
        """Per grid point: fraction of realizations with d² <= ``threshold`` (see :func:`acceptance`)."""
        return acceptance(self.d2, threshold, level)


def _point(scenario, n_realizations, seed, cache_dir, statistic):
    """One grid point: its ensemble (through run_ensemble's cache) and its distances."""
    t0 = time.perf_counter()
    res = run_ensemble(scenario, n_realizations, seed=seed, backend="local",
                       cache_dir=cache_dir, progress=False)
    r1, _ = first_harmonic_band(res.delta, *statistic.dec_band)
    d2 = statistic(res.energies, res.delta)
    return {"energies": np.asarray(res.energies), "d2": d2, "r1": r1, "key": res.key,
            "seconds": time.perf_counter() - t0}


def _cache_files(cache_dir):
    if cache_dir is None or not os.path.isdir(cache_dir):
        return set()
    return {(f, os.stat(os.path.join(cache_dir, f)).st_mtime_ns)
            for f in os.listdir(cache_dir) if f.endswith(".npz")}


def _limit_numba_threads():
    """Run on each dask worker: one numba thread per single-threaded worker."""
    import numba

    numba.set_num_threads(1)
    return numba.get_num_threads()


def local_cluster(n_workers=2):
    """A ``dask.distributed.Client`` on a ``LocalCluster`` of ``n_workers`` processes.

    One thread per worker and ``NUMBA_NUM_THREADS=1`` in the workers' environment,
    so that the numba kernels do not oversubscribe the cores; the dashboard listens on a
    free port (``client.dashboard_link``).
    """
    from dask.distributed import Client, LocalCluster

    if isinstance(n_workers, bool) or not isinstance(n_workers, (int, np.integer)) or n_workers < 1:
        raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    # dashboard on a free port: the scheduler's HTTP server runs even without a dashboard and
    # would otherwise warn when the default port 8787 is taken (another cluster on the machine)
    cluster = LocalCluster(n_workers=int(n_workers), threads_per_worker=1, processes=True,
                           dashboard_address=":0", env={"NUMBA_NUM_THREADS": "1"})
    client = Client(cluster)
    client.run(_limit_numba_threads)
    return client


def scan(build, grid, n_realizations, seed=0, fixed=None, statistic=None, backend="dask",
         client=None, n_workers=2, cache_dir=None, progress=True):
    """Run an ensemble at every point of a parameter grid and its distances to the data.

    Parameters
    ----------
    build : Scenario or callable
        Either a :class:`crlib.ensemble.Scenario`, whose fields named in ``grid``
        are replaced (``dataclasses.replace``), or a function returning a Scenario
        from keyword arguments, e.g. :func:`crlib.presets.sh_scenario` (grid keys
        ``h``, ``D0``) or :func:`ba_grammage_scenario` (``H``, ``delta``).
    grid : dict
        Parameter name -> 1-d sequence of finite, distinct numbers; the grid is
        their outer product, axes in key order.
    n_realizations : int
        Realizations per grid point.
    seed : int
        Root seed (see the module docstring).
    fixed : dict, optional
        Further keyword arguments of ``build`` (callable only), the same at every point.
    statistic : Statistic, optional
        Default ``Statistic()``: amplitudes of a northern array, 1 TeV – 1 PeV.
    backend : {"dask", "serial"}
        "serial" runs the points one after the other in this process (no dask).
    client : dask.distributed.Client or str, optional
        A client, or a scheduler address ("tcp://host:8786"); None: a new
        ``LocalCluster`` of ``n_workers`` single-threaded processes
        (:func:`local_cluster`), closed at the end.
    n_workers : int
        Workers of that LocalCluster.
    cache_dir : str, optional
        run_ensemble's cache folder (must be visible to the workers); None: no cache.
    progress : bool
        tqdm progress bar over grid points.

    Returns
    -------
    ScanResult
    """
    from tqdm.auto import tqdm

    names, axes = _check_grid(build, grid, fixed)
    if isinstance(n_realizations, bool) or not isinstance(n_realizations, (int, np.integer)) \
            or n_realizations < 1:
        raise ValueError(f"n_realizations must be an integer >= 1, got {n_realizations!r}")
    if backend not in ("dask", "serial"):
        raise ValueError(f"backend must be 'dask' or 'serial', got {backend!r}")
    statistic = Statistic() if statistic is None else statistic
    if not isinstance(statistic, Statistic):
        raise ValueError(f"statistic must be a crlib.scan.Statistic, got {statistic!r}")
    shape = tuple(a.size for a in axes)
    points = [dict(zip(names, (float(a[i]) for a, i in zip(axes, idx)))) for idx in np.ndindex(shape)]
    scenarios = [_scenario_at(build, fixed, p) for p in points]   # validates every point first
    seeds = point_seeds(seed, len(points))
    N = int(n_realizations)
    before = _cache_files(cache_dir)
    t0 = time.perf_counter()
    bar = tqdm(total=len(points), disable=not progress, desc="grid points")
    out = [None] * len(points)
    if backend == "serial":
        for k, (sc, s) in enumerate(zip(scenarios, seeds)):
            out[k] = _point(sc, N, s, cache_dir, statistic)
            bar.update(1)
    else:
        from dask.distributed import Client, as_completed

        own = client is None or isinstance(client, str)
        cl = local_cluster(n_workers) if client is None else (
            Client(client) if isinstance(client, str) else client)
        try:
            futures = [cl.submit(_point, sc, N, s, cache_dir, statistic, pure=False)
                       for sc, s in zip(scenarios, seeds)]
            index = {f.key: k for k, f in enumerate(futures)}
            for fut in as_completed(futures):
                out[index[fut.key]] = fut.result()
                bar.update(1)
        finally:
            if own:
                cluster = getattr(cl, "cluster", None)
                cl.close()
                if cluster is not None:
                    cluster.close()
    bar.close()
    wall = time.perf_counter() - t0
    computed = -1 if cache_dir is None else len(_cache_files(cache_dir) - before)
    E = out[0]["energies"]
    n_E = max(o["r1"].shape[-1] for o in out)
    if any(o["r1"].shape[-1] != n_E for o in out):
        raise ValueError("every grid point must have the same number of energies")
    return ScanResult(
        names=tuple(names), axes=tuple(axes), energies=E,
        d2=np.stack([o["d2"] for o in out]).reshape(shape + (N,)),
        r1=np.stack([o["r1"] for o in out]).reshape(shape + (N, n_E)),
        seeds=np.array(seeds, dtype=np.uint64).reshape(shape),
        keys=np.array([o["key"] for o in out]).reshape(shape),
        seconds=np.array([o["seconds"] for o in out]).reshape(shape),
        wall=wall, computed=computed, statistic=statistic)


# ----------------------------------------------------------------------------- full grids
#: Full (h, D0) grid of SH's model for a cluster run: h in kpc, D0 in cm²/s (multiply by
#: ``crlib.units.cm2_per_s`` for crlib's kpc²/Myr).
SH_FULL_GRID = {"h": tuple(float(x) for x in np.round(np.geomspace(0.16, 0.8, 10), 4)),
                "D0": tuple(float(x) for x in np.geomspace(1.5e26, 6e27, 9))}
#: Full (H, δ) grid of BA's model (D/H fixed by B/C): H in kpc.
BA_FULL_GRID = {"H": (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0), "delta": (0.25, 1 / 3, 0.4, 0.5, 0.6, 0.7)}


def main(argv=None):
    """``python -m crlib.scan {sh,ba} [--scheduler ADDR | --workers K | --serial] --n N --cache DIR --out FILE``."""
    from .presets import sh_scenario
    from .units import cm2_per_s

    ap = argparse.ArgumentParser(prog="python -m crlib.scan", description=main.__doc__)
    ap.add_argument("model", choices=("sh", "ba"))
    ap.add_argument("--scheduler", default=None, help="dask scheduler address (default: LocalCluster)")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    ap.add_argument("--serial", action="store_true", help="run in this process, without dask")
    ap.add_argument("--n", type=int, default=1000, help="realizations per grid point")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--cache", default="scan-cache")
    ap.add_argument("--out", default=None, help="write d2, r1 and the grid to this .npz")
    ap.add_argument("--energies", type=int, default=16)
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    a = ap.parse_args(argv)
    if a.model == "sh":
        grid = {"h": SH_FULL_GRID["h"], "D0": tuple(np.asarray(SH_FULL_GRID["D0"]) * cm2_per_s)}
        build, fixed = sh_scenario, {"E_range": FIT_RANGE, "n_energies": a.energies, "tol": 1e-3}
    else:
        grid = BA_FULL_GRID
        build, fixed = ba_grammage_scenario, {"E_range": FIT_RANGE, "n_energies": a.energies}
    res = scan(build, grid, a.n, seed=a.seed, fixed=fixed, client=a.scheduler,
               n_workers=a.workers, cache_dir=a.cache,
               backend="serial" if a.serial else "dask", progress=a.progress)
    thr = flat_benchmark(res.energies)
    acc = res.acceptance(thr)
    print(f"{a.model}: grid {dict(zip(res.names, res.shape))}, N = {res.n_realizations}, "
          f"wall {res.wall:.0f} s, {res.computed} points computed; threshold d2 <= {thr:.0f}")
    for idx in np.ndindex(res.shape):
        pars = ", ".join(f"{n}={ax[i]:.4g}" for n, ax, i in zip(res.names, res.axes, idx))
        print(f"  {pars}: acceptance {acc['fraction'][idx]:.4f} "
              f"[{acc['lo'][idx]:.4f}, {acc['hi'][idx]:.4f}]")
    if a.out:
        np.savez(a.out, d2=res.d2, r1=res.r1, energies=res.energies, seeds=res.seeds,
                 **{f"axis_{n}": ax for n, ax in zip(res.names, res.axes)})
    return res


if __name__ == "__main__":
    main()
