"""Ensembles of independent realizations of the Galactic supernova history (:ref:`model-ensembles`).

A :class:`Scenario` bundles everything one realization needs: the source
model and its rate and span, the halo, the diffusion model, the nuclear
species with their injection spectra, the energy grid, spallation and,
optionally, BA's continuous escape.  :func:`run_ensemble` draws N
realizations, each from its own child of one ``numpy.random.SeedSequence``
(``SeedSequence(seed).spawn(N)``), so realization i is the same whatever the
number of threads or workers and whichever backend runs it.  Each
realization's catalogue is sampled, consumed by the Green-function kernel and
dropped before the next one is drawn, so memory does not grow with N.

Results can be cached on disk (``.npz`` files, see ``crlib._cache``): the
key hashes a canonical description of every parameter (models describe
themselves by their fields; an object that cannot be described is refused),
the ensemble size and seed, a hash of crlib's own files and the numpy and
numba versions.  Files are written atomically and read with
``allow_pickle=False``; a loaded file is checked against the request (dtypes,
shapes, energies, diffusion coefficients, finiteness) and recomputed if it does
not match; a failed write warns and still returns the result.

An energy at which no particle arrives in a realization (total density exactly
zero: above the injection cut-off where the weight underflows, below Z·E0 with
continuous escape where every source is still confined, or a history with no
source old enough to have reached the Sun) has no dipole: its ``delta`` is NaN
in that realization, and :attr:`EnsembleResult.no_arrival` records where.  An optional
``dask.distributed`` backend maps realizations over a cluster and returns
arrays identical to the local backend.
"""

import os
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import _cache
from . import _validate as _v
from .anisotropy import amplitude, angle_between, dipole
from .diffusion import escape_alpha, escape_spectrum, escape_time
from .green import far_bound, observe
from .sources import check_model, local_rate, near_region, sample, sample_near, sample_outside
from .species import BA_GROUPS, injection_shape, normalise_injection, spallation_rate
from .galaxy import OBSERVER
from .units import PeV, TeV, c_light

__all__ = ["Scenario", "Channels", "EnsembleResult", "channels", "realization", "run_ensemble",
           "run_ensembles",
           "bands", "prob_outside", "mean_direction", "angles_to_mean", "Estimate", "bootstrap",
           "log_spread", "spread_ratio", "band_quantiles", "binomial_fraction", "prob_outside_err",
           "bootstrap_ensembles"]


@dataclass(frozen=True)
class Scenario:
    """Everything one realization depends on.

    Parameters
    ----------
    sources : source model of :mod:`crlib.sources`
        e.g. ``Cylindrical()``, ``SpiralArms(w=5.0)``, ``MovingSpiralArms()``.
    rate : float
        Galactic supernova rate, 1/Myr (e.g. ``1 / (30 * yr)``).
    T : float
        Span of the supernova history, Myr (BA: 80).
    H : float
        Halo half-height, kpc.
    diffusion : diffusion model of :mod:`crlib.diffusion`
        Anything with a method ``D(E, Z)`` in kpc²/Myr.
    energies : tuple of float
        Total energy per particle, GeV.
    injection_index : float
        γ of the injection spectra E^-γ exp(−E/(Z E_max,p)) (BA eq. 2.2: γ + δ = 2.67).
    species : tuple of Species
        Nuclear groups (default BA's five).
    spallation : bool
        Include spallation losses exp(−Γ_k τ) (:ref:`model-anisotropy`).
    tau_snr : float or None
        None for burst injection; otherwise the remnant lifetime (Myr) of
        BA's continuous-escape scenario (particles of energy E leave at
        :func:`crlib.diffusion.escape_time`).
    escape_beta : float or None
        None (default): every injection follows ``injection_index`` with the
        exponential cut-off, also with continuous escape, so all earlier results are
        unchanged.  A number β (needs ``tau_snr``): the particles leave with BA's
        escaping spectrum E^-(2 + β/α), sharply cut at Z E_max,p
        (:func:`crlib.diffusion.escape_spectrum`, α from
        :func:`crlib.diffusion.escape_alpha` with ``tau_snr`` and ``E_max_p``), and
        ``injection_index`` is not used; BA's choice
        β = α(γ_obs − 2 − δ) (:func:`crlib.diffusion.adjusted_beta`, BA §4.1,
        :ref:`model-ensembles`) gives the burst case's slope.  β must make
        2 + β/α lie in (1, 4).
    E_max_p : float
        Proton maximum energy, GeV.
    tol : float
        Tolerance of the Green-function kernel, of its skip rule and of the
        near-Sun sampling below.
    scheme : {"auto", "sh"}
        Green-function scheme of :func:`crlib.green.observe`: the converged
        default, or SH's fixed image/eigenmode switch (SH eq. 6, i_max = 5).
    near_radius : float or None
        If given (kpc), realizations draw only the sources within this
        horizontal distance of the Sun exactly (:func:`crlib.sources.sample_near`)
        and, for the rest, only their numbers per age bin.  A rigorous bound on
        what the rest could add (:func:`crlib.green.far_bound`) is compared with
        ``tol`` times the density of the near sources (a lower bound of the total)
        for the density and every gradient component (the latter against
        ``tol * n * pi / 2H``, as in the skip rule); the far sources younger than
        the smallest age beyond which the bound holds are then drawn and added,
        so the result always meets the tolerance.
        Meant for thin halos (SH's h = 250 pc), where a few kpc suffice.
    min_age : float
        Minimum age (Myr) of a contributing supernova, default 0 (all).  A source
        younger than ``min_age`` is dropped from the sum entirely (a crude model of a
        remnant that still confines its particles, or of a history without very young
        nearby remnants); the sensitivity study of :doc:`/book/claims` uses 0.03, 0.1
        and 0.3 Myr.
    causal : bool
        If True, a supernova contributes only if its 3-d distance to the observer is
        at most the distance light has covered since its particles could first leave,
        c (t − t_esc,min), with t_esc,min the earliest escape time over all channels
        (0 for burst injection; with continuous escape the highest-energy particles
        leave first, at the earliest delay of :func:`crlib.diffusion.escape_time`).
        The diffusion Green function (:ref:`model-green`) is not causal: at high
        energies and small ages its Gaussian extends beyond c t.  The cut is per
        source, a necessary condition for every channel; a channel escaping later
        keeps its own zero before its delay.  Default False, so that the model is
        the papers' (BA and SH sum the plain Green function) and earlier results are
        unchanged; True is the physically safer choice and is studied beside it.
    """

    sources: object
    rate: float
    T: float
    H: float
    diffusion: object
    energies: tuple
    injection_index: float
    species: tuple = BA_GROUPS
    spallation: bool = True
    tau_snr: Optional[float] = None
    E_max_p: float = 3.0 * PeV
    tol: float = 1e-10
    scheme: str = "auto"
    near_radius: Optional[float] = None
    min_age: float = 0.0
    causal: bool = False
    escape_beta: Optional[float] = None

    def __post_init__(self):
        check_model("sources", self.sources)
        object.__setattr__(self, "rate", _v.positive("rate", _v.as_float("rate", self.rate)))
        object.__setattr__(self, "T", _v.positive("T", _v.as_float("T", self.T)))
        object.__setattr__(self, "H", _v.positive("H", _v.as_float("H", self.H)))
        E = np.atleast_1d(_v.positive("energies", self.energies))
        if E.ndim != 1 or E.size == 0:
            raise ValueError(f"energies must be a non-empty 1-d sequence, got shape {E.shape}")
        object.__setattr__(self, "energies", tuple(float(e) for e in E))
        object.__setattr__(self, "injection_index", _v.as_float("injection_index", self.injection_index))
        if len(self.species) == 0:
            raise ValueError("species must contain at least one Species")
        object.__setattr__(self, "species", tuple(self.species))
        if self.tau_snr is not None:
            object.__setattr__(self, "tau_snr", _v.positive("tau_snr", _v.as_float("tau_snr", self.tau_snr)))
        object.__setattr__(self, "E_max_p", _v.positive("E_max_p", _v.as_float("E_max_p", self.E_max_p)))
        if self.escape_beta is not None:
            if self.tau_snr is None:
                raise ValueError("escape_beta needs continuous escape (a tau_snr), got tau_snr=None")
            beta = _v.as_float("escape_beta", self.escape_beta)
            escape_spectrum(TeV, 1.0, beta, tau_SNR=self.tau_snr, E_M_p=self.E_max_p)  # slope range
            if not self.E_max_p > TeV:
                raise ValueError(f"escape_beta needs E_max_p > 1 TeV (the normalisation energy), "
                                 f"got {self.E_max_p!r}")
            object.__setattr__(self, "escape_beta", beta)
        object.__setattr__(self, "tol", _v.tolerance("tol", self.tol))
        if self.scheme not in ("auto", "sh"):
            raise ValueError(f"scheme must be 'auto' or 'sh', got {self.scheme!r}")
        if self.near_radius is not None:
            object.__setattr__(self, "near_radius", _v.positive("near_radius", _v.as_float("near_radius", self.near_radius)))
            if self.tau_snr is not None:
                raise ValueError("near_radius needs burst injection (tau_snr=None)")
            try:
                near_region(self.sources, self.near_radius, self.T)   # validates model and radius
            except TypeError:                                          # unhashable model
                raise ValueError(f"near_radius needs a crlib.sources model, got {self.sources!r}")
        object.__setattr__(self, "min_age", _v.non_negative("min_age", _v.as_float("min_age", self.min_age)))
        if not self.min_age < self.T:
            raise ValueError(f"min_age must be in [0, T={self.T}) Myr, got {self.min_age!r}")
        if not isinstance(self.causal, (bool, np.bool_)):
            raise ValueError(f"causal must be True or False, got {self.causal!r}")
        object.__setattr__(self, "causal", bool(self.causal))
        _v.model("diffusion", self.diffusion, "D")

    def key(self, n_realizations, seed):
        """Cache key: a hash of the canonical description of every field, the ensemble
        size, the seed, crlib's code identity and the numpy and numba versions.

        Raises
        ------
        ValueError
            If a field (e.g. a user-defined model that is neither a dataclass nor has a
            ``describe()`` method) cannot be described exactly (``crlib._cache.canonical``).
        """
        return _cache.make_key(self, N=int(n_realizations), seed=int(seed))


@dataclass(frozen=True)
class Channels:
    """Per (species, energy) inputs of the kernel, arrays of shape (n_species, n_E)."""

    D: np.ndarray
    gamma: np.ndarray
    delay: np.ndarray
    weight: np.ndarray


def channels(scenario):
    """Diffusion coefficients, loss rates, escape delays and injection weights of every channel.

    The weight of species k at energy E is the number of particles per GeV a
    supernova injects, K_k E^-γ exp(−E/(Z_k E_max,p)), with K_k fixed by
    :func:`crlib.species.normalise_injection` (propagated mean fluxes at 1 TeV
    equal to the poly-gonato fluxes, using the local rate of the scenario's
    source model averaged over its span T).
    """
    sc = scenario
    E = np.asarray(sc.energies)
    Z = np.array([s.Z for s in sc.species], dtype=float)
    D = _diffusion_table(sc)
    if sc.spallation:
        G = np.array([spallation_rate(s, sc.H) for s in sc.species])
    else:
        G = np.zeros(len(sc.species))
    gamma = np.repeat(G[:, None], E.size, axis=1)
    if sc.tau_snr is None:
        delay = np.zeros_like(D)
    else:
        delay = np.stack([escape_time(E, z, tau_SNR=sc.tau_snr, E_M_p=sc.E_max_p) for z in Z])
    D_ref = np.array([float(np.squeeze(sc.diffusion.D(1.0 * TeV, z))) for z in Z])
    # the local rate averaged over the simulated span (moving arms: over (0, T])
    span = sc.sources.averaging_span(sc.T)
    K = normalise_injection(sc.species, D_ref, sc.H, local_rate(sc.sources, sc.rate, T=span),
                            sc.injection_index, E_max_p=sc.E_max_p)
    if sc.escape_beta is None:
        shape = np.stack([injection_shape(E, s, sc.injection_index, sc.E_max_p) for s in sc.species])
    else:                 # BA's escaping spectrum: slope 2 + β/α, sharp cut at Z E_max,p
        slope = 2.0 + sc.escape_beta / escape_alpha(tau_SNR=sc.tau_snr, E_M_p=sc.E_max_p)
        esc = dict(beta=sc.escape_beta, tau_SNR=sc.tau_snr, E_M_p=sc.E_max_p)
        K = normalise_injection(sc.species, D_ref, sc.H, local_rate(sc.sources, sc.rate, T=span),
                                slope, E_max_p=sc.E_max_p)
        # the same flux at 1 TeV with the sharp cut-off in place of the exponential one
        K = K * np.array([injection_shape(TeV, s, slope, sc.E_max_p) / escape_spectrum(TeV, s.Z, **esc)
                          for s in sc.species])
        shape = np.stack([escape_spectrum(E, s.Z, **esc) for s in sc.species])
    return Channels(D=D, gamma=gamma, delay=np.asarray(delay, float), weight=K[:, None] * shape)


def _diffusion_table(sc):
    """D of every (species, energy) channel, checked finite and > 0, shape (n_species, n_E)."""
    E = np.asarray(sc.energies)
    rows = []
    for s in sc.species:
        d = np.asarray(sc.diffusion.D(E, float(s.Z)))
        if np.iscomplexobj(d) or d.dtype.kind not in "fiu":
            raise ValueError(f"diffusion.D must return real numbers, got dtype {d.dtype}")
        try:
            d = np.broadcast_to(d, E.shape).astype(float)
        except ValueError:
            raise ValueError(f"diffusion.D(E, Z) must have the shape of E = {E.shape}, got {d.shape}")
        if not np.all(np.isfinite(d) & (d > 0)):
            bad = E[~(np.isfinite(d) & (d > 0))][0]
            raise ValueError(f"diffusion.D must be finite and > 0 at every energy, got "
                             f"{d[E == bad][0]!r} at E = {bad!r} GeV, Z = {s.Z}")
        rows.append(d)
    return np.stack(rows)


def realization(scenario, seed, chan=None):
    """One realization: density, gradient and dipole at the Sun.

    Parameters
    ----------
    scenario : Scenario
    seed : numpy.random.SeedSequence or int
        The realization's own seed.
    chan : Channels, optional
        Precomputed :func:`channels` (saves recomputing them per realization).

    Returns
    -------
    dict with
        ``n`` (n_species, n_E): density per GeV per kpc³;
        ``grad`` (n_species, n_E, 3): its gradient per kpc;
        ``delta`` (n_E, 3): the all-particle dipole vector (BA eq. 3.1); NaN at an
        energy where no particle arrives (total density exactly 0);
        ``n_sources``: the number of supernovae inside the halo that were summed;
        ``far_age``: the age (Myr) below which the sources beyond ``near_radius``
        were drawn and summed (T without ``near_radius``: all sources were).
    """
    chan = channels(scenario) if chan is None else chan
    sc = scenario
    rng = np.random.default_rng(seed)
    if sc.near_radius is None:
        return _summed(sc, chan, sample(sc.sources, sc.rate, sc.T, rng))
    edges = _age_edges(sc, chan)
    near, rest, outside, region = sample_near(sc.sources, sc.rate, sc.T, rng,
                                              sc.near_radius, edges)
    n, grad, n_in = _observe(sc, chan, near)
    j = _far_cut(sc, chan, edges, outside + np.histogram(rest.t, edges)[0], n)
    far = float(edges[j])
    if j > 0:
        young = np.zeros_like(outside)
        young[:j] = outside[:j]
        drawn = sample_outside(sc.sources, rng, region, edges, young)
        for cat in (rest, drawn):
            n2, g2, k = _observe(sc, chan, cat, t_max=far)
            n, grad, n_in = n + n2, grad + g2, n_in + k
    return _weighted(chan, n, grad, n_in, far)


def _weighted(chan, n, grad, n_in, far):
    """The realization dict of :func:`realization` from per-injected-particle sums."""
    n = n * chan.weight
    grad = grad * chan.weight[..., None]
    return {"n": n, "grad": grad, "delta": dipole(n, grad, chan.D), "n_sources": n_in,
            "far_age": far}


def _summed(sc, chan, cat):
    """A realization of ``sc`` (without ``near_radius``) from its whole catalogue ``cat``."""
    n, grad, n_in = _observe(sc, chan, cat)
    return _weighted(chan, n, grad, n_in, sc.T)


def _same_sum(sc):
    """Scenarios with equal keys select the same sources and sum them the same way, so
    one ``observe`` call can serve all their channels (each channel's sum does not
    depend on the other channels of the call)."""
    return None if sc.causal else (sc.H, sc.min_age, sc.tol, sc.scheme)


def _summed_many(scs, chans, cat):
    """``[_summed(sc, ch, cat) for sc, ch in zip(scs, chans)]``, bit for bit, with one
    ``observe`` call per group of scenarios that select and sum the sources alike."""
    out = [None] * len(scs)
    groups = {}
    for i, sc in enumerate(scs):
        k = _same_sum(sc)
        if k is None:
            out[i] = _summed(sc, chans[i], cat)
        else:
            groups.setdefault(k, []).append(i)
    for idx in groups.values():
        if len(idx) == 1:
            out[idx[0]] = _summed(scs[idx[0]], chans[idx[0]], cat)
            continue
        cs = [chans[i] for i in idx]
        both = Channels(D=np.concatenate([c.D.ravel() for c in cs]),
                        gamma=np.concatenate([c.gamma.ravel() for c in cs]),
                        delay=np.concatenate([c.delay.ravel() for c in cs]), weight=None)
        n, grad, n_in = _observe(scs[idx[0]], both, cat)
        start = 0
        for i, c in zip(idx, cs):
            stop = start + c.D.size
            out[i] = _weighted(c, n[start:stop].reshape(c.D.shape),
                               grad[start:stop].reshape(c.D.shape + (3,)), n_in, scs[i].T)
            start = stop
    return out


def _observe(sc, chan, cat, t_max=np.inf):
    """Per-channel density and gradient (per injected particle) of a catalogue's sources
    younger than ``t_max``."""
    # A supernova outside the halo (|z| >= H, possible for thin halos such as SH's
    # h = 250 pc with exponential heights) injects nothing into the diffusion volume.
    inside = (np.abs(cat.z) < sc.H) & (cat.t < t_max)
    if sc.min_age > 0.0:
        inside &= cat.t >= sc.min_age
    if sc.causal:                      # inside the light front since the earliest escape
        r = np.sqrt((cat.x - OBSERVER[0]) ** 2 + (cat.y - OBSERVER[1]) ** 2
                    + (cat.z - OBSERVER[2]) ** 2)
        inside &= r <= c_light * (cat.t - float(np.min(chan.delay)))
    x, y, z, t = (np.ascontiguousarray(a[inside]) for a in (cat.x, cat.y, cat.z, cat.t))
    n, grad = observe(x, y, z, t, chan.D, sc.H, gamma=chan.gamma, delay=chan.delay,
                      tol=sc.tol, scheme=sc.scheme)
    return n, grad, int(inside.sum())


def _far_cut(sc, chan, edges, counts, n):
    """Smallest j such that the far sources older than edges[j] provably change the
    density by at most tol * n and each gradient component by at most tol * n * pi/2H
    in every channel (n: the near sources' density, a lower bound of the total)."""
    bn, bg = far_bound(edges, counts, chan.D.reshape(-1), sc.H, sc.near_radius, per_bin=True)
    # tail(b)[:, j] = sum over bins >= j (zero for j = n_bins)
    tail = lambda b: np.concatenate([np.cumsum(b[:, ::-1], axis=1)[:, ::-1],  # noqa: E731
                                     np.zeros((b.shape[0], 1))], axis=1)
    tn, tg = tail(bn), tail(bg)
    nl = n.reshape(-1, 1)
    ok = np.all((tn <= sc.tol * nl) & (tg <= sc.tol * nl * np.pi / (2.0 * sc.H)), axis=0)
    return int(np.argmax(ok))          # ok[-1] is True


def _age_edges(sc, chan):
    """Age bins for the far-source bound: [0, e0], then 200 log-spaced bins to T.

    e0 = a/40 with a = radius^2 / 4 D of the fastest channel, so that the first
    bin's envelope bound (valid below a/3, see far_bound) carries exp(-40)."""
    e0 = min(sc.near_radius ** 2 / (160.0 * float(np.max(chan.D))), 0.5 * sc.T)
    return np.concatenate([[0.0], np.geomspace(e0, sc.T, 201)])


@dataclass(frozen=True)
class EnsembleResult:
    """Arrays of an ensemble, realization on the first axis.

    Attributes
    ----------
    energies : (n_E,) GeV
    delta : (N, n_E, 3) dipole vectors (maximum-intensity direction); NaN where no
        particle arrives (see :attr:`no_arrival`)
    n : (N, n_species, n_E) densities per GeV per kpc³
    n_sources : (N,) number of supernovae summed in each realization
    far_age : (N,) age (Myr) below which sources beyond ``near_radius`` were drawn (T: all)
    D : (n_species, n_E) diffusion coefficients, kpc²/Myr
    key : str, the cache key
    """

    energies: np.ndarray
    delta: np.ndarray
    n: np.ndarray
    n_sources: np.ndarray
    far_age: np.ndarray
    D: np.ndarray
    key: str = field(default="")

    @property
    def amplitude(self):
        """``|δ|`` per realization and energy, shape (N, n_E) (NaN where :attr:`no_arrival`)."""
        return amplitude(self.delta)

    @property
    def no_arrival(self):
        """Boolean (N, n_E): True where no particle of any species arrives (total density
        exactly 0), so the dipole is undefined and ``delta`` is NaN there."""
        return ~(np.asarray(self.n).sum(axis=1) > 0)

    def arrays(self):
        return {"energies": self.energies, "delta": self.delta, "n": self.n,
                "n_sources": self.n_sources, "far_age": self.far_age, "D": self.D}


def _row(r):
    """What an ensemble keeps of a realization dict (the fields ``_result`` stacks)."""
    return r["delta"], r["n"], r["n_sources"], r["far_age"]


def _work(scenario, child, chan):
    return _row(realization(scenario, child, chan))


def _cache_path(cache_dir, key):
    return os.path.join(cache_dir, f"ensemble-{key}.npz")


def _load(path, key, scenario=None, n_realizations=None):
    """Cached arrays, or None if the file is missing, partial, from another key or (given
    the request) does not match it: see ``crlib._cache.check_arrays``."""
    arrays = _cache.load(path, key)
    if arrays is None or scenario is None:
        return arrays
    reason = _cache.check_arrays(arrays, scenario.energies, n_realizations,
                                 _diffusion_table(scenario), scenario.T)
    if reason is not None:
        warnings.warn(f"ignoring the ensemble cache file {path}: {reason}; recomputing",
                      RuntimeWarning, stacklevel=3)
        return None
    return arrays


def _save(path, key, arrays):
    """Write atomically (``crlib._cache.save``); True on success.  A failed write
    (read-only folder, full disk) warns and returns False instead of raising."""
    try:
        _cache.save(path, key, arrays)
        return True
    except OSError as exc:
        _cache.warn_write_failed(path, exc)
        return False


def _check_run_args(n_realizations, seed, cache_dir):
    N = _v.positive_int("n_realizations", n_realizations)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if cache_dir is not None:
        if isinstance(cache_dir, bytes) or not isinstance(cache_dir, (str, os.PathLike)):
            raise ValueError(f"cache_dir must be a folder path or None, got {cache_dir!r}")
        cache_dir = os.fspath(cache_dir)
        if os.path.isdir(cache_dir):
            _cache.clean_stale_parts(cache_dir)
    return N, int(seed), cache_dir


def _lookup(scenario, N, seed, cache_dir):
    """(key, cached EnsembleResult or None)."""
    if cache_dir is None:
        try:
            return scenario.key(N, seed), None
        except ValueError:       # an undescribable model is fine without a cache
            return "", None
    key = scenario.key(N, seed)
    cached = _load(_cache_path(cache_dir, key), key, scenario, N)
    return key, (None if cached is None else EnsembleResult(key=key, **cached))


def _result(scenario, chan, out, key, cache_dir):
    """EnsembleResult from the per-realization tuples of ``_work``; warns about energies
    where no particle arrives and writes the cache."""
    result = EnsembleResult(
        energies=np.asarray(scenario.energies),
        delta=np.stack([o[0] for o in out]),
        n=np.stack([o[1] for o in out]),
        n_sources=np.array([o[2] for o in out], dtype=np.int64),
        far_age=np.array([o[3] for o in out], dtype=float),
        D=chan.D, key=key)
    empty = result.no_arrival
    if np.any(empty):
        where = np.flatnonzero(empty.any(axis=0))
        warnings.warn(f"no particle arrives in {int(empty.sum())} (realization, energy) pairs, at "
                      f"energies {[scenario.energies[j] for j in where[:5]]} GeV"
                      f"{' ...' if where.size > 5 else ''}: their dipole is NaN "
                      "(EnsembleResult.no_arrival)", RuntimeWarning, stacklevel=3)
    if cache_dir is not None:
        _save(_cache_path(cache_dir, key), key, result.arrays())
    return result


def run_ensemble(scenario, n_realizations, seed=0, backend="local", client=None,
                 cache_dir=None, progress=True):
    """Run ``n_realizations`` independent realizations of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
    n_realizations : int
    seed : int
        Root of ``numpy.random.SeedSequence``; realization i uses child i of
        ``SeedSequence(seed).spawn(n_realizations)``.
    backend : {"local", "dask"}
        "dask" maps realizations over a ``dask.distributed.Client`` (``client``,
        or a new in-process one); results are identical to "local".
    cache_dir : str or None
        Folder of the on-disk cache; None disables caching.  Every field of the
        scenario must then be describable (:meth:`Scenario.key`).  Stale
        ``*.npz.part`` files of killed writes are removed from it.
    progress : bool
        Show a tqdm progress bar (local backend).

    Returns
    -------
    EnsembleResult
        A RuntimeWarning is issued if some realizations have energies where no
        particle arrives (their ``delta`` is NaN, :attr:`EnsembleResult.no_arrival`).

    See also
    --------
    run_ensembles : several scenarios over the same histories, each history drawn once.
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    N, seed, cache_dir = _check_run_args(n_realizations, seed, cache_dir)
    if backend not in ("local", "dask"):
        raise ValueError(f"backend must be 'local' or 'dask', got {backend!r}")
    key, cached = _lookup(scenario, N, seed, cache_dir)
    if cached is not None:
        return cached
    chan = channels(scenario)
    children = np.random.SeedSequence(seed).spawn(N)
    if backend == "local":
        from tqdm.auto import tqdm

        out = [_work(scenario, c, chan) for c in tqdm(children, disable=not progress,
                                                       desc="realizations", leave=False)]
    else:
        out = _run_dask(scenario, children, chan, client)
    return _result(scenario, chan, out, key, cache_dir)


def run_ensembles(scenarios, n_realizations, seed=0, cache_dir=None, progress=True):
    """Several scenarios over the same supernova histories, each history drawn once.

    Scenarios that share the source model, the rate and the span ``T`` (and have no
    ``near_radius``) see the same catalogue for the same realization seed, so
    ``run_ensemble(sc, n, seed)`` for each of them would draw every history once per
    scenario.  This draws it once and sums it for each scenario (halo, diffusion,
    species, escape, energies, youngest-remnant cuts may all differ).  The result for
    each scenario is identical, bit for bit, to ``run_ensemble(sc, n_realizations, seed)``
    and uses the same cache entries; only the work is shared.  Differences between the
    scenarios are then free of the history-to-history scatter (common random numbers):
    compare them with a paired bootstrap (``bootstrap_ensembles(..., paired=True)``).

    Parameters
    ----------
    scenarios : sequence of Scenario
        With equal ``sources``, ``rate`` and ``T`` and ``near_radius=None``.
    n_realizations, seed, cache_dir, progress
        As in :func:`run_ensemble` (local backend).

    Returns
    -------
    list of EnsembleResult, in the order of ``scenarios``.
    """
    try:
        scs = list(scenarios)
    except TypeError:
        raise ValueError(f"scenarios must be a sequence of Scenario, got {scenarios!r}") from None
    if not scs or not all(isinstance(sc, Scenario) for sc in scs):
        raise ValueError("scenarios must be a non-empty sequence of Scenario")
    first = scs[0]
    for sc in scs:
        if sc.near_radius is not None:
            raise ValueError("scenarios must have near_radius=None in run_ensembles "
                             "(near-Sun sampling depends on the channels); use run_ensemble")
        if (sc.sources, sc.rate, sc.T) != (first.sources, first.rate, first.T):
            raise ValueError("scenarios must share sources, rate and T in run_ensembles, got "
                             f"{(sc.sources, sc.rate, sc.T)!r} and "
                             f"{(first.sources, first.rate, first.T)!r}")
    N, seed, cache_dir = _check_run_args(n_realizations, seed, cache_dir)
    found = [_lookup(sc, N, seed, cache_dir) for sc in scs]
    todo = [i for i, (_, cached) in enumerate(found) if cached is None]
    chans = {i: channels(scs[i]) for i in todo}
    outs = {i: [] for i in todo}
    if todo:
        from tqdm.auto import tqdm

        children = np.random.SeedSequence(seed).spawn(N)
        for child in tqdm(children, disable=not progress, desc="realizations", leave=False):
            cat = sample(first.sources, first.rate, first.T, np.random.default_rng(child))
            rs = _summed_many([scs[i] for i in todo], [chans[i] for i in todo], cat)
            for i, r in zip(todo, rs):
                outs[i].append(_row(r))
    return [found[i][1] if i not in outs else
            _result(scs[i], chans[i], outs[i], found[i][0], cache_dir) for i in range(len(scs))]


def _run_dask(scenario, children, chan, client):
    from dask.distributed import Client

    own = client is None
    if own:
        client = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None)
    try:
        futures = client.map(_work, [scenario] * len(children), children, [chan] * len(children),
                             pure=False)
        return client.gather(futures)
    finally:
        if own:
            client.close()


# ----------------------------------------------------------------------------- statistics
def bands(amplitudes, levels=(0.683, 0.95)):
    """Central bands per energy: for each level p, the (1−p)/2 and (1+p)/2 quantiles (SH §4).

    Parameters
    ----------
    amplitudes : array (N, n_E)
    levels : sequence of float in (0, 1)

    Returns
    -------
    dict level -> (lo, hi), each of shape (n_E,)
    """
    a = _v.as_float_array("amplitudes", amplitudes)
    if a.ndim != 2:
        raise ValueError(f"amplitudes must have shape (N, n_E), got {a.shape}")
    out = {}
    for p in levels:
        p = _v.in_open_interval("levels", p, 0.0, 1.0)
        lo, hi = np.quantile(a, [(1 - p) / 2, (1 + p) / 2], axis=0)
        out[p] = (lo, hi)
    return out


def prob_outside(amplitudes, band):
    """Fraction of realizations that leave ``band`` = (lo, hi) at one energy or more (SH §4)."""
    a = _v.as_float_array("amplitudes", amplitudes)
    lo, hi = band
    outside = (a < np.asarray(lo)) | (a > np.asarray(hi))
    return float(np.mean(np.any(outside, axis=1)))


def mean_direction(delta):
    """Unit vector of the ensemble-mean dipole per energy, shape (n_E, 3).

    The mean over realizations estimates the large-scale part ⟨δ⃗⟩ (BA eq. 3.3),
    whose direction is that of the mean source gradient.  Realizations whose
    dipole is NaN at an energy (no arrival) are left out of that energy's mean;
    an energy where every realization is NaN gives a NaN direction.

    Raises
    ------
    ValueError
        ``delta`` not of shape (N, n_E, 3), non-finite values other than
        all-NaN vectors, or an ensemble-mean dipole exactly zero (no direction).
    """
    d = _v.vectors("delta", delta, allow_nan=True)
    if d.ndim != 3 or d.shape[0] == 0:
        raise ValueError(f"delta must have shape (N, n_E, 3) with N >= 1, got {d.shape}")
    defined = ~np.isnan(d[..., 0])                                   # (N, n_E)
    count = defined.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(defined[..., None], d, 0.0).sum(axis=0) / count[:, None]
    norm = amplitude(m)[:, None]
    zero = (count > 0) & (norm[:, 0] == 0)
    if np.any(zero):
        raise ValueError(f"delta has an ensemble-mean dipole of exactly zero at energy index "
                         f"{int(np.flatnonzero(zero)[0])}: it has no direction")
    return m / norm


def angles_to_mean(delta):
    """Angle (rad) between each realization's dipole and the ensemble-mean direction, (N, n_E)."""
    return angle_between(np.asarray(delta, float), mean_direction(delta)[None])


# ------------------------------------------------------- heavy-tail statistics with errors
# The dipole of stochastic sources has a power-law tail from young nearby remnants
# (:ref:`model-ensembles`), so spreads are quantile-based and every number carries a
# bootstrap (or binomial) error drawn from a seeded numpy Generator.

@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap standard error and central confidence interval.

    Attributes
    ----------
    value : float or ndarray
        The statistic of the sample itself.
    error : float or ndarray
        Bootstrap standard error (standard deviation of the bootstrap replicates).
    low, high : float or ndarray
        Percentile bootstrap interval at the requested confidence level.
    """

    value: object
    error: object
    low: object
    high: object

    def __str__(self):
        return f"{np.squeeze(self.value):.3g} ± {np.squeeze(self.error):.2g}"


def _iqr(x, axis):
    q25, q75 = np.quantile(x, [0.25, 0.75], axis=axis)
    return q75 - q25


def _mad(x, axis):
    med = np.median(x, axis=axis, keepdims=True)
    return np.median(np.abs(x - med), axis=axis)


_SPREADS = {"iqr": _iqr, "mad": _mad}


def _sample(name, values, log):
    a = _v.as_float_array(name, values)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (N,) or (N, n_E), got {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 realizations, got {a.shape[0]}")
    if log:
        if np.any(a <= 0):
            raise ValueError(f"{name} must be > 0 to take log10 (log=True)")
        a = np.log10(a)
    return a


def _boot_args(n_boot, confidence, seed):
    n_boot = _v.positive_int("n_boot", n_boot)
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    confidence = _v.in_open_interval("confidence", confidence, 0.0, 1.0)
    return n_boot, confidence, np.random.default_rng(seed)


def bootstrap(statistic, sample, n_boot=1000, confidence=0.683, seed=0):
    """Non-parametric bootstrap of ``statistic(x, axis)`` over the first axis of ``sample``.

    Thin wrapper of :func:`scipy.stats.bootstrap` (percentile intervals, vectorised
    over the replicates) driven by ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    statistic : callable
        ``statistic(x, axis)`` reducing ``axis`` (the realizations).
    sample : array (N,) or (N, n_E)
    n_boot : int
        Number of bootstrap replicates, >= 10.
    confidence : float in (0, 1)
        Level of the percentile interval.
    seed : int, numpy.random.SeedSequence or Generator

    Returns
    -------
    Estimate
    """
    from scipy.stats import bootstrap as _scipy_bootstrap

    x = np.asarray(sample, float)
    n_boot, confidence, rng = _boot_args(n_boot, confidence, seed)
    value = statistic(x, 0)
    res = _scipy_bootstrap((x,), lambda s, axis: statistic(s, axis), n_resamples=n_boot,
                           confidence_level=confidence, method="percentile", axis=0,
                           vectorized=True, rng=rng)
    return Estimate(value=value, error=res.standard_error,
                    low=res.confidence_interval.low, high=res.confidence_interval.high)


def log_spread(amplitudes, stat="iqr", n_boot=1000, confidence=0.683, seed=0, log=True):
    """Spread of log10 of the amplitudes over realizations, in dex, with a bootstrap error.

    ``stat="iqr"``: interquartile range q75 − q25; ``stat="mad"``: median absolute
    deviation from the median (unscaled).  For a normal sample of standard deviation
    σ they tend to 1.349 σ and 0.6745 σ; both stay finite and stable under the
    power-law tail of the stochastic dipole (:ref:`model-ensembles`), unlike the
    standard deviation.

    Parameters
    ----------
    amplitudes : array (N,) or (N, n_E)
        Positive values, realization on the first axis.
    stat : {"iqr", "mad"}
    n_boot, confidence, seed
        As in :func:`bootstrap`.
    log : bool
        Take log10 first (default); False measures the spread of the values themselves.

    Returns
    -------
    Estimate
        Per energy if ``amplitudes`` is 2-d.
    """
    if stat not in _SPREADS:
        raise ValueError(f"stat must be one of {tuple(_SPREADS)}, got {stat!r}")
    x = _sample("amplitudes", amplitudes, log)
    return bootstrap(_SPREADS[stat], x, n_boot, confidence, seed)


def spread_ratio(a, b, stat="iqr", n_boot=1000, confidence=0.683, seed=0, log=True):
    """Ratio of the spreads of two independent ensembles, spread(a) / spread(b), with an error.

    Each ensemble is resampled independently (``n_boot`` replicates each, seeded by
    children of one SeedSequence); the error is the standard deviation of the
    replicate ratios and the interval their percentiles.

    Parameters
    ----------
    a, b : arrays (N_a,) / (N_b,) or (N_a, n_E) / (N_b, n_E)
        Positive amplitudes of the two ensembles (same trailing shape).
    stat, n_boot, confidence, log
        As in :func:`log_spread`.
    seed : int

    Returns
    -------
    Estimate
    """
    if stat not in _SPREADS:
        raise ValueError(f"stat must be one of {tuple(_SPREADS)}, got {stat!r}")
    xa, xb = _sample("a", a, log), _sample("b", b, log)
    if xa.shape[1:] != xb.shape[1:]:
        raise ValueError(f"a and b must have the same trailing shape, got {xa.shape} and {xb.shape}")
    n_boot, confidence, rng = _boot_args(n_boot, confidence, seed)
    f = _SPREADS[stat]
    reps = []
    for x in (xa, xb):
        idx = rng.integers(0, x.shape[0], size=(n_boot, x.shape[0]))
        reps.append(f(x[idx], 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = reps[0] / reps[1]
        value = f(xa, 0) / f(xb, 0)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(r, [alpha, 1.0 - alpha], axis=0)
    return Estimate(value=value, error=np.std(r, axis=0, ddof=1), low=lo, high=hi)


def band_quantiles(amplitudes, levels=(0.683, 0.95), n_boot=1000, seed=0, one_sided=False):
    """Band edges per energy with bootstrap errors.

    Two-sided (default): for each level p the (1−p)/2 and (1+p)/2 quantiles, as
    :func:`bands`.  One-sided: the band is [0, q_p], for a quantity bounded below
    by zero such as the angle to the mean direction, whose lower edge carries no
    information.

    Parameters
    ----------
    amplitudes : array (N, n_E)
    levels : sequence of float in (0, 1)
    n_boot : int
    seed : int
    one_sided : bool

    Returns
    -------
    dict level -> (lo, hi), each an :class:`Estimate` of shape (n_E,)
        (for one-sided bands ``lo`` is an exact zero with zero error).
    """
    a = _v.as_float_array("amplitudes", amplitudes)
    if a.ndim != 2:
        raise ValueError(f"amplitudes must have shape (N, n_E), got {a.shape}")
    ss = np.random.SeedSequence(seed if isinstance(seed, (int, np.integer)) else 0)
    out = {}
    for p, child in zip(levels, ss.spawn(len(levels))):
        p = _v.in_open_interval("levels", p, 0.0, 1.0)
        qs = [p] if one_sided else [(1 - p) / 2, (1 + p) / 2]
        est = [bootstrap(lambda x, axis, q=q: np.quantile(x, q, axis=axis), a, n_boot,
                         seed=np.random.default_rng(c)) for q, c in zip(qs, child.spawn(len(qs)))]
        if one_sided:
            z = np.zeros(a.shape[1])
            est = [Estimate(z, z, z, z), est[0]]
        out[p] = tuple(est)
    return out


def binomial_fraction(k, n, confidence=0.683):
    """Fraction k/n with its binomial standard error and Wilson score interval.

    Parameters
    ----------
    k : int
        Number of successes, 0 <= k <= n.
    n : int
        Number of trials, >= 1.
    confidence : float in (0, 1)

    Returns
    -------
    Estimate
        ``error`` = sqrt(p(1−p)/n); ``low``/``high`` from
        :meth:`scipy.stats.binomtest.proportion_ci` (method "wilson"), which stays
        inside [0, 1] and is not degenerate at k = 0 or k = n.
    """
    from scipy.stats import binomtest

    n = _v.positive_int("n", n)
    if isinstance(k, (bool, np.bool_)) or int(k) != k or not 0 <= int(k) <= n:
        raise ValueError(f"k must be an integer in [0, n={n}], got {k!r}")
    k = int(k)
    confidence = _v.in_open_interval("confidence", confidence, 0.0, 1.0)
    p = k / n
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Estimate(value=p, error=float(np.sqrt(p * (1 - p) / n)), low=ci.low, high=ci.high)


def prob_outside_err(values, band, confidence=0.683):
    """:func:`prob_outside` with its binomial error, as an :class:`Estimate`.

    The error counts only the binomial scatter of the realizations; the band
    itself is estimated from the same ensemble, which adds a smaller term.
    """
    a = _v.as_float_array("values", values)
    lo, hi = band
    k = int(np.sum(np.any((a < np.asarray(lo)) | (a > np.asarray(hi)), axis=1)))
    return binomial_fraction(k, a.shape[0], confidence)


def bootstrap_ensembles(statistic, *samples, n_boot=1000, confidence=0.683, seed=0, paired=False):
    """Bootstrap of any statistic of one or several ensembles, resampling whole realizations.

    Each sample is resampled with replacement along its first axis (the
    realizations), keeping every other axis (energies, vector components)
    together, so statistics that combine energies, such as the median over
    energy of a spread or the rms of a phase, get honest errors.  Independent
    ensembles are resampled independently; ``paired=True`` uses the same indices
    for all samples (ensembles that share their seeds realization by realization).

    Parameters
    ----------
    statistic : callable
        ``statistic(*samples)`` returning a float or an array.
    *samples : arrays with realizations on the first axis
    n_boot : int, >= 10
    confidence : float in (0, 1)
    seed : int
    paired : bool

    Returns
    -------
    Estimate
    """
    if not samples:
        raise ValueError("bootstrap_ensembles needs at least one sample")
    arrs = [np.asarray(s) for s in samples]
    for i, a in enumerate(arrs):
        if a.ndim == 0 or a.shape[0] < 2:
            raise ValueError(f"sample {i} needs at least 2 realizations on its first axis")
    if paired and len({a.shape[0] for a in arrs}) != 1:
        raise ValueError("paired=True needs samples with the same number of realizations")
    n_boot, confidence, rng = _boot_args(n_boot, confidence, seed)
    value = np.asarray(statistic(*arrs), float)
    reps = np.empty((n_boot,) + value.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        for b in range(n_boot):
            if paired:
                idx = rng.integers(0, arrs[0].shape[0], arrs[0].shape[0])
                reps[b] = statistic(*[a[idx] for a in arrs])
            else:
                reps[b] = statistic(*[a[rng.integers(0, a.shape[0], a.shape[0])] for a in arrs])
    reps[~np.isfinite(reps)] = np.nan          # e.g. a ratio whose resampled denominator is 0
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.nanquantile(reps, [alpha, 1.0 - alpha], axis=0)
    out = lambda v: float(v) if np.ndim(v) == 0 else v       # noqa: E731
    return Estimate(value=out(value), error=out(np.nanstd(reps, axis=0, ddof=1)),
                    low=out(lo), high=out(hi))
