r"""Many sources, many channels: :func:`observe` and the segment bounds of its kernel.

:func:`observe` reads as validate (``_validate_observe``) -> prepare
(``_prepare_state``: sort by age, per-source geometry once for every
channel, per-channel segment bounds from :func:`image_thresholds` and
:func:`mode_thresholds`) -> kernel (``_run_blocks``: the compiled sums of
``crlib.green.kernel``, with the skip rule of ``crlib.green.bounds``) ->
combine (block partial sums in block order).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import njit

from .. import _validate as V
from ..galaxy import OBSERVER
from . import aggregate as _agg
from .bounds import skip_cuts
from .kernel import _blocks, _combine, _prepare
from .series import MODE_AUTO, MODE_SH, U_SWITCH, _n_images, _n_modes, _scheme_code, check_u

__all__ = ["observe", "mode_thresholds", "image_thresholds", "block_size"]

#: below this many (source, channel) pairs observe() runs on one thread
_SERIAL_PAIRS = 200_000
#: the skip rule's lower bound n_low sums (at least) this many youngest sources exactly
_N_LOW = 2048

# Aggregation of old sources (crlib.green.aggregate).  The parameters were chosen by
# measurement on BA's catalogue (2.7e6 sources, 200 channels); accuracy never depends on
# them (every cell is accepted on its rigorous bound or summed source by source).
#: aggregation is used at tolerances from this one up (tighter ones need so many Taylor
#: terms that the cells cost more than the sources they replace)
AGG_TOL = 1e-5
#: observe(aggregate=None) aggregates catalogues of at least this many sources ...
AGG_MIN_SOURCES = 100_000
#: ... summed for at least this many channels in one call: building the cells costs about
#: as much as summing every source for ~100 channels (measured on BA's catalogue at
#: tol 1e-4, paired timings in one process: 0.7x at 55 channels, 0.85x at 110, 1.1-1.4x at
#: 200), so fewer channels are summed source by source
AGG_MIN_CHANNELS = 150
_AGG_KA = 3          # eigenmodes carried by the cells (aggregated where u >= u_KA)
_AGG_RATIO = 1.08    # ratio of consecutive age-bin edges
_AGG_W = 2.0         # rho^2 bin width in units of D_min tau (see _aggregated)
_AGG_NMAX = 1 << 20  # longest age bin (sources)


def _agg_orders(tol):
    """Taylor terms per direction for modes 1..KA: one more per decade of tol, one fewer
    per higher mode (whose terms are smaller by exp(-(k^2-1) pi^2 u / 4) at least)."""
    p1 = max(3, int(math.ceil(-math.log10(tol) - 1e-9)) + 1)
    return np.array([max(1, p1 - k) for k in range(_AGG_KA)], dtype=np.int64)


@njit(cache=True)
def _exact_bounds(t, delay, tauK, ibound):
    """Move each ``ibound[j, K-1]`` to the first source whose age *as the kernel computes it*,
    ``t[i] - delay[j]``, is ``>= tauK[j, K-1]`` (the guess from ``t >= tauK + delay`` can be
    off by rounding; a source with ``t == delay`` could otherwise enter the vectorised path
    with age 0).  Both sides are monotone in ``i``, so a few steps suffice."""
    N = t.size
    for j in range(ibound.shape[0]):
        dj = delay[j]
        for k in range(ibound.shape[1]):
            i = ibound[j, k]
            lim = tauK[j, k]
            while i < N and t[i] - dj < lim:
                i += 1
            while i > 0 and t[i - 1] - dj >= lim:
                i -= 1
            ibound[j, k] = i


@njit(cache=True)
def _exact_bounds_above(t, delay, tauI, jbound):
    """As ``_exact_bounds``, for the first source with ``t[i] - delay[j] > tauI[j, N-1]``."""
    N = t.size
    for j in range(jbound.shape[0]):
        dj = delay[j]
        for k in range(jbound.shape[1]):
            i = jbound[j, k]
            lim = tauI[j, k]
            while i < N and t[i] - dj <= lim:
                i += 1
            while i > 0 and t[i - 1] - dj > lim:
                i -= 1
            jbound[j, k] = i


def _bisect(keep_low, lo, hi, steps=80):
    """``steps`` halvings of [lo, hi] keeping ``keep_low(lo)`` true and ``keep_low(hi)``
    false (a monotone predicate); returns the final (lo, hi)."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if keep_low(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi


_UI_CACHE = {}


def image_thresholds(tol):
    """Largest ``u = D tau / H^2`` (below ``U_SWITCH``) at which N images meet the bound.

    Returns an array ``uI`` of length NI, ``uI[N-1]`` for ``N = 1..NI``, increasing,
    NI the number the bound asks for just below U_SWITCH.  The image bound of
    ``crlib.green.series`` increases with ``u`` on ``u < U_SWITCH`` (its logarithmic
    derivative is ``N^2/u^2 - (N+2)/(2 u^1.5 w) > 0`` there), so each ``uI`` is found by
    bisection, and the lower end is kept (it provably needs at most N images).
    """
    tol = V.tolerance("tol", tol)
    if tol in _UI_CACHE:
        return _UI_CACHE[tol]
    ni = int(_n_images(np.nextafter(U_SWITCH, 0.0), tol))
    out = np.empty(ni)
    out[ni - 1] = U_SWITCH
    for N in range(1, ni):
        assert _n_images(1e-6, tol) <= N
        out[N - 1] = _bisect(lambda u: _n_images(u, tol) <= N, 1e-6, U_SWITCH)[0]
    _UI_CACHE[tol] = out
    return out


_UK_CACHE = {}


def mode_thresholds(tol):
    """Smallest ``u = D tau / H^2`` at which K eigenmodes meet the a-priori bound (:ref:`model-green`).

    The many-source kernel uses these thresholds to give every (source, channel)
    pair the number of modes its ``u`` needs: with sources sorted by age, the
    pairs that need ``K`` modes form one contiguous run per channel.

    Parameters
    ----------
    tol : float
        Relative tolerance in (0, 1).

    Returns
    -------
    array of float, length KMAX
        ``u_K`` for ``K = 1..KMAX`` (dimensionless), decreasing; KMAX is the number
        of modes needed at the switch ``U_SWITCH``, and ``u_KMAX = U_SWITCH``.
        Found by bisection (the bound decreases with ``u``).
    """
    tol = V.tolerance("tol", tol)
    if tol in _UK_CACHE:
        return _UK_CACHE[tol]
    kmax = int(_n_modes(U_SWITCH, tol))
    out = np.empty(kmax)
    out[kmax - 1] = U_SWITCH
    for K in range(1, kmax):
        out[K - 1] = _bisect(lambda u: _n_modes(u, tol) > K, U_SWITCH, 100.0)[1]
    _UK_CACHE[tol] = out
    return out


def block_size(n_sources):
    """Fixed source-block size: a function of the number of sources only (never of threads).

    Blocks of up to 4096 sources amortise the per-(block, channel) bookkeeping of the
    kernel (segment bounds, slices) over many pairs while the block's scratch rows
    (``N_ROWS`` + 2 KMAX rows of doubles, under 1 MB) stay in a core's L2 cache;
    smaller catalogues get at least eight blocks so that threads have work to share.
    """
    return int(min(4096, max(512, n_sources // 8)))


class _State(NamedTuple):
    """Everything the kernel reads: sorted sources, their geometry, the channels."""

    t: np.ndarray          # ages, sorted
    geom: tuple            # invt, rho2, dx, dy, zo, zs
    D: np.ndarray          # per channel, flat
    gamma: np.ndarray
    delay: np.ndarray      # escape delay, 0 where infinite (those channels are capped at 0)
    cap: np.ndarray        # per channel: number of sources it may receive (0 or N)
    H: float
    tol: float
    mode: int
    ibound: np.ndarray     # (n_channels, KMAX) first source needing at most K modes
    jbound: np.ndarray     # (n_channels, NI) first source needing more than N images
    block: int

    def kernel_args(self):
        invt, rho2, dx, dy, zo, zs = self.geom
        return (self.block, self.t, invt, rho2, dx, dy, zo, zs,
                self.D, self.gamma, self.delay, self.H, self.tol, self.mode, self.ibound,
                self.jbound)


def _channel_array(name, value, shape):
    """A finite (or, for ``delay``, +inf-allowed) non-negative per-channel array, flat."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    if name == "delay":
        if np.any(np.isnan(arr)) or np.any(arr < 0):
            raise ValueError("delay must be >= 0 (inf allowed: no contribution), "
                             "got a negative or NaN value")
    else:
        arr = V.non_negative(name, V.as_float_array(name, arr))
        arr = np.asarray(arr, dtype=float)
    try:
        return np.ascontiguousarray(np.broadcast_to(arr, shape), dtype=float).reshape(-1)
    except ValueError:
        raise ValueError(f"{name} must broadcast to D's shape {shape}, got shape {arr.shape}")


def _validate_observe(x, y, z, t, D, H, gamma, delay, observer, tol, scheme):
    """All checks of :func:`observe`; returns the converted arguments."""
    mode = _scheme_code(scheme)
    if mode not in (MODE_AUTO, MODE_SH):
        raise ValueError(f"scheme must be 'auto' or 'sh' in observe, got {scheme!r}")
    tol = V.tolerance("tol", tol)
    H = V.positive("H", V.as_float("H", H))
    src = {k: V.as_float_array(k, v) for k, v in dict(x=x, y=y, z=z, t=t).items()}
    for name, arr in src.items():
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-d array, got shape {arr.shape}")
    V.same_length(**src)
    V.positive("t", src["t"])
    z = src["z"]
    if np.any(np.abs(z) >= H):
        bad = float(z[np.abs(z) >= H][0])
        raise ValueError(f"z must satisfy |z| < H = {H!r} (sources inside the halo), got {bad!r}")
    D = V.as_float_array("D", D)
    V.positive("D", D)
    gamma = _channel_array("gamma", gamma, D.shape)
    delay = _channel_array("delay", delay, D.shape)
    obs = V.as_float_array("observer", observer)
    if obs.shape != (3,):
        raise ValueError(f"observer must have 3 components, got shape {obs.shape}")
    if abs(obs[2]) > H:
        raise ValueError(f"observer must satisfy |z| <= H = {H!r}, got z = {obs[2]!r}")
    if src["t"].size:
        # the extreme ages bound every u the kernel meets (ages t - delay lie below t)
        tt = np.array([src["t"].min(), src["t"].max()])
        check_u(D.reshape(-1, 1), tt[None, :], H)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        per_channel = 0.25 / (np.pi * D * H)       # prefactor of the vectorised path
    if not np.all(np.isfinite(per_channel) & (per_channel > 0)):
        raise ValueError(f"D and H must give 1/(4 pi D H) within the double range, got "
                         f"D in [{D.min()!r}, {D.max()!r}] and H = {H!r}")
    return src["x"], src["y"], z, src["t"], D, H, gamma, delay, obs, tol, mode


def _prepare_state(x, y, z, t, Dflat, H, gamma, delay, obs, tol, mode):
    """Sort by age, compute the per-source geometry once, and the per-channel segments."""
    n_src = t.size
    if n_src > 1 and not np.all(t[1:] >= t[:-1]):
        order = np.argsort(t, kind="stable")
        x, y, z, t = x[order], y[order], z[order], t[order]
    t = np.ascontiguousarray(t)
    zs = np.ascontiguousarray(z)
    zo = float(obs[2])
    dx, dy, rho2, invt = _prepare(x, y, t, obs[0], obs[1])
    finite = np.isfinite(delay)
    cap = np.where(finite, n_src, 0).astype(np.int64)
    delay = np.where(finite, delay, 0.0)
    # ibound[j, K-1]: first source (sorted by age) with D (t - delay) / H^2 >= u_K(tol),
    # the smallest u at which K eigenmodes meet the bound
    uK = mode_thresholds(tol)
    if mode == MODE_AUTO:
        tauK = uK[None, :] * H * H / Dflat[:, None]
        guess = np.searchsorted(t, (tauK + delay[:, None]).ravel(), side="left")
        ibound = guess.astype(np.int64).reshape(tauK.shape)
        _exact_bounds(t, delay, tauK, ibound)
    else:
        ibound = np.full((Dflat.size, uK.size), n_src, dtype=np.int64)
    # jbound[j, N-1]: first source with D (t - delay) / H^2 > uI_N, the largest u (below
    # U_SWITCH) at which N images meet the bound
    uI = image_thresholds(tol)
    tauI = uI[None, :] * H * H / Dflat[:, None]
    guess = np.searchsorted(t, (tauI + delay[:, None]).ravel(), side="right")
    jbound = guess.astype(np.int64).reshape(tauI.shape)
    _exact_bounds_above(t, delay, tauI, jbound)
    geom = (invt, rho2, dx, dy, zo, zs)
    return _State(t, geom, Dflat, gamma, delay, cap, H, tol, mode, ibound, jbound,
                  block_size(n_src))


class _AggPlan(NamedTuple):
    """Where the cells take over: per channel the first aggregated age bin ``e0`` and
    its first source ``i_agg`` (``N`` where a channel is not aggregated)."""

    bstart: np.ndarray     # first source of each age bin
    e0: np.ndarray
    i_agg: np.ndarray


def _agg_plan(st, aggregate):
    """The age bins and per-channel starts of the aggregated part, or None."""
    n_src = st.t.size
    if aggregate is False or st.mode != MODE_AUTO or st.tol < AGG_TOL or n_src == 0:
        return None
    ok = (st.delay == 0.0) & (st.cap > 0)          # the channels cells can serve
    if not np.any(ok):
        return None
    if aggregate is None and (n_src < AGG_MIN_SOURCES or ok.sum() < AGG_MIN_CHANNELS):
        return None
    H2 = st.H * st.H
    u_agg = mode_thresholds(st.tol)[_AGG_KA - 1]
    t_lo = u_agg * H2 / st.D[ok].max()
    if not t_lo < st.t[-1]:
        return None
    bstart = _agg.age_bins(st.t, t_lo, _AGG_RATIO, _AGG_NMAX)
    nb = bstart.size - 1
    first_age = st.t[bstart[:-1]]
    e0 = np.searchsorted(first_age, u_agg * H2 / st.D, side="left").astype(np.int64)
    e0[~ok] = nb
    i_agg = np.where(e0 < nb, bstart[np.minimum(e0, nb)], n_src).astype(np.int64)
    return _AggPlan(bstart, e0, i_agg)


def _aggregated(st, plan, scut, nlow):
    """The cells' sums per channel over its age bins from ``e0`` to the bin holding its
    skip cut-off (whole bins), with the error budget ``tol * n_low / 2``.  Only the bins
    some channel uses are built."""
    nb = plan.bstart.size - 1
    used = plan.e0 < nb
    e1 = np.searchsorted(plan.bstart, scut, side="left").astype(np.int64)
    e1 = np.where(used, np.maximum(np.minimum(e1, nb), plan.e0), 0)
    e0 = np.where(used, plan.e0, 0)
    used &= e1 > e0
    nch = st.D.size
    out = np.zeros((nch, 4))
    bound = np.zeros((nch, 4))
    stats = np.zeros((nch, 4), dtype=np.int64)
    if np.any(used):
        lo, hi = int(e0[used].min()), int(e1[used].max())
        e0 = np.where(used, e0 - lo, 0)
        e1 = np.where(used, e1 - lo, 0)
        _, rho2, dx, dy, zo, zs = st.geom
        bstart = plan.bstart[lo:hi + 1]
        # rho^2 bins of width _AGG_W D_min tau: then x = alpha hA <= _AGG_W / 8 for every
        # channel using the bin (D tau >= D_min tau, D_min the smallest D with e0 <= bin)
        key = np.where(used, e0, nb)
        order = np.argsort(key, kind="stable")
        dmin = np.minimum.accumulate(st.D[order])
        first = np.searchsorted(key[order], np.arange(hi - lo), side="right") - 1
        w = _AGG_W * dmin[first] * st.t[bstart[:-1]]
        # cells and age bins differ a lot in size: hand them to the threads one at a time
        # (each is still summed by one thread, so results do not depend on the threads)
        with numba.parallel_chunksize(1):
            rec, cstart, bcell = _agg.cell_records(st.t, rho2, dx, dy, zs, bstart, w)
        Pk = _agg_orders(st.tol)
        with numba.parallel_chunksize(256):
            geo, M, S = _agg._moments(cstart, rec, st.H, _AGG_KA, Pk)
        with numba.parallel_chunksize(1):
            _agg._evaluate(st.D, st.gamma, st.H, zo, e0, e1, bcell, cstart, geo, M, S, rec,
                           Pk, mode_thresholds(st.tol), 0.5 * st.tol * nlow, out, bound,
                           stats)
        e1 = np.where(used, e1 + lo, 0)
    last = np.where(used, plan.bstart[e1], plan.i_agg)
    return out, {"bound": bound, "cells": stats, "first": plan.i_agg, "last": last}


def _run_blocks(st, skip, aggregate=None):
    """All source blocks of ``st`` into partial sums ``part``; returns ``(part, cut, agg)``.

    ``cut[j]``: the number of (age-sorted) sources channel j summed source by source.
    With ``skip``, the first blocks (at least ``_N_LOW`` sources) are summed exactly,
    their density is the lower bound ``n_low`` of the skip rule, and ``skip_cuts`` sets
    the cut-offs for the remaining blocks.  With aggregation (``_agg_plan``) the
    sources from ``i_agg[j]`` to the cut-off are summed in cells instead; the skip rule
    and the cells then share the error budget, ``tol * n_low / 2`` each.  ``agg`` is
    None or ``(sums, info)`` from ``_aggregated``.
    """
    n_src, nch = st.t.size, st.D.size
    nblk = -(-n_src // st.block) if n_src else 0
    part = np.zeros((nblk, nch, 4))
    plan = _agg_plan(st, aggregate) if skip else None
    cut = st.cap.copy() if plan is None else np.minimum(st.cap, plan.i_agg)
    if nblk == 0:
        return part, cut, None
    args = st.kernel_args()
    pre = min(nblk, -(-_N_LOW // st.block)) if skip else nblk
    _blocks(0, pre, *args, cut, part)
    agg = None
    if pre < nblk or plan is not None:
        nlow = np.zeros((nch, 4))
        _combine(part[:pre], nlow)
        nlow = nlow[:, 0].copy()
        scut = st.cap.copy()
        if pre < nblk:
            skip_cuts(st.t, st.D, st.gamma, st.delay, st.H,
                      st.tol if plan is None else 0.5 * st.tol, nlow,
                      min(n_src, pre * st.block), scut)
        cut = scut if plan is None else np.minimum(scut, plan.i_agg)
        if pre < nblk:
            _blocks(pre, nblk, *args, cut, part)
        if plan is not None:
            # the whole exact part is a better lower bound of n than the first blocks
            nexact = np.zeros((nch, 4))
            _combine(part, nexact)
            agg = _aggregated(st, plan, scut, np.maximum(nlow, nexact[:, 0]))
    return part, cut, agg


def observe(x, y, z, t, D, H, gamma=0.0, delay=0.0, observer=OBSERVER, tol=1e-10,
            scheme="auto", skip=True, aggregate=None, return_stats=False):
    r"""Density and gradient at the observer from many bursts, for many channels.

    Sums :func:`crlib.green.slab_green` and :func:`crlib.green.slab_green_gradient`
    over the sources (BA eq. 2.4 summed over remnants), for every channel at once.

    Parameters
    ----------
    x, y, z : 1-d arrays
        Source positions, kpc (``|z| < H``).
    t : 1-d array
        Source ages, Myr (> 0).  Sorted internally (stable) by age.
    D : array, any shape
        Diffusion coefficient per channel (one channel = one (species, energy)
        pair), kpc^2/Myr.
    H : float
        Halo half-height, kpc.
    gamma : float or array broadcastable to D
        Spallation rate per channel, 1/Myr.
    delay : float or array broadcastable to D
        Escape delay per channel (BA continuous escape, :func:`crlib.diffusion.escape_time`),
        Myr; a source contributes at age ``t - delay`` when positive (a source
        whose age equals the delay has just been released and adds nothing);
        ``inf`` means no contribution.
    observer : (3,) sequence
        Observer position, kpc (default the Sun, ``crlib.galaxy.OBSERVER``).
    tol : float
        Tolerance of the series truncation and of the skip rule.
    scheme : {"auto", "sh"}
        Series scheme, as in :func:`crlib.green.slab_green`.
    skip : bool
        Apply the skip rule below.
    aggregate : None, True or False
        Sum the old sources of each channel in cells (:mod:`crlib.green.aggregate`,
        below): None (default) for catalogues of at least ``AGG_MIN_SOURCES`` sources
        and at least ``AGG_MIN_CHANNELS`` channels without escape delay (where the cells
        pay for themselves),
        True for any catalogue, False never.  Used only with ``skip``, ``scheme="auto"``
        and ``tol >= AGG_TOL``, and only for channels without escape delay.
    return_stats : bool
        Also return a dict with the per-channel cut-offs ``cut``, the block size and,
        when cells were used, ``aggregated``: per channel the summed bounds of the
        accepted cells (``bound``, density and gradient), the cell counts (``cells``:
        in range, expanded, dropped, summed source by source) and the source range
        ``first``..``last`` the cells covered.

    Returns
    -------
    n : array with D's shape
        Density per injected particle per source (kpc^-3).
    grad : array with D's shape + (3,)
        Its gradient with respect to the observer position (kpc^-4).

    Notes
    -----
    Skip rule (derivation).  Every term is non-negative inside the slab, so the
    density from any subset of sources is a lower bound of the total.  The
    kernel first sums the youngest whole blocks (at least 2048 sources) exactly, which gives a
    lower bound ``n_low`` per channel.  For a source of age ``tau`` with
    ``u = D tau / H^2 >= 0.2`` (U_SWITCH), ``|sin| <= 1`` and
    ``q^(k^2) <= q (q^3)^(k-1)`` give::

        G <= B_n = exp(-gamma tau) q / (4 pi D tau H (1 - q^3)),  q = exp(-pi^2 D tau / 4H^2)
        |dG/dz| <= (pi / 2H) exp(-gamma tau) q / (4 pi D tau H (1 - 2 q^3))
        |grad_h G| <= B_n / sqrt(2 e D tau)    (max of rho/(2 D tau) exp(-rho^2/4 D tau))

    All three decrease with ``tau``.  With the sources sorted by age, the
    sources from index ``i`` on (``N - i`` of them, all at least as old as
    source ``i``) are skipped for channel ``j`` when::

        (N - i) max(B_n, (2H/pi) B_grad)(tau_i) <= tol * n_low_j.

    Hence the skipped sources change ``n`` by at most ``tol * n`` (relative,
    rigorous) and each gradient component by at most ``tol * n * pi / (2H)``,
    i.e. ``tol`` relative to the gradient scale ``n / H`` of a slab halo (the
    anisotropy then changes by at most about ``tol`` times its natural size
    ``lambda / H``).  The cut-off index is found by bisection (the predicate is
    monotone in ``i``).  Total error: series truncation plus skip, each at most
    ``tol`` in the senses above.  In short, the tolerance is *per source* for
    the truncation of the series (each source's term is exact to ``tol`` times
    its own natural size, which for a source and an observer near the
    mid-plane is its own contribution, so the summed error is about ``tol``
    relative to the total) and *relative to the total density* for the skip
    rule.

    Aggregation.  Where a channel needs at most three eigenmodes (``u >= u_3``) its
    sources are grouped in cells (age bins x bins of rho^2, the same cells for every
    channel) and each cell's sum is a Taylor expansion of the channel's exponentials in
    moments built once per cell (:mod:`crlib.green.aggregate`).  Every cell is accepted on
    a rigorous bound of its remainder, or dropped when its whole size is within its share
    of the budget, or else summed source by source; the accepted bounds add up to at
    most ``tol * n_low / 2`` (gradient: times pi/2H), and the skip rule then uses the
    other half, so the promise above holds for the total.

    Determinism: sources are processed in fixed-size blocks (size depends only
    on the number of sources), each block's partial sums are stored and
    combined in block order, so results are bitwise identical for any number
    of numba threads.
    """
    x, y, z, t, D, H, gamma, delay, obs, tol, mode = _validate_observe(
        x, y, z, t, D, H, gamma, delay, observer, tol, scheme)
    if not (aggregate is None or isinstance(aggregate, (bool, np.bool_))):
        raise ValueError(f"aggregate must be None, True or False, got {aggregate!r}")
    aggregate = None if aggregate is None else bool(aggregate)
    shape = D.shape
    st = _prepare_state(x, y, z, t, np.ascontiguousarray(D.reshape(-1)), H, gamma, delay, obs,
                        tol, mode)
    # Small jobs run on the calling thread only: waking the thread pool costs more than the
    # work, and on a busy machine a descheduled worker can stall a launch for milliseconds.
    # The partial sums do not depend on the number of threads, so neither does the result.
    nthreads = numba.get_num_threads()
    if t.size * st.D.size < _SERIAL_PAIRS:
        numba.set_num_threads(1)
    try:
        part, cut, agg = _run_blocks(st, skip, aggregate)
    finally:
        numba.set_num_threads(nthreads)
    res = np.zeros((st.D.size, 4))
    if part.shape[0] > 0:
        _combine(part, res)
    if agg is not None:
        res += agg[0]
    n = res[:, 0].reshape(shape)
    grad = res[:, 1:].reshape(shape + (3,))
    if return_stats:
        stats = {"cut": cut.reshape(shape), "block": st.block}
        if agg is not None:
            stats["aggregated"] = {k: v.reshape(shape + v.shape[1:]) for k, v in agg[1].items()}
        return n, grad, stats
    return n, grad
