r"""Many sources, many channels: the vectorised kernel behind :func:`observe`.

:func:`observe` reads as validate (:func:`_validate_observe`) -> prepare
(:func:`_prepare_state`: sort by age, per-source geometry once for every
channel, per-channel mode segments) -> kernel (:func:`_run_blocks`, with the
skip rule of :mod:`crlib.green.bounds`) -> combine (block partial sums in block
order).

Vectorised path: for ``u = D tau / H^2 >= 0.2`` the kernel evaluates the
eigenmode series with the branch-free exponential of :mod:`crlib.green.fastexp`
so that LLVM vectorises it; sources younger than that go through the scalar
per-pair code of :mod:`crlib.green.series`.  Results agree with
:func:`crlib.green.slab_green` to about 1e-14 relative.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from .. import _validate as V
from ..galaxy import OBSERVER
from .bounds import skip_cuts
from .fastexp import exp_full
from .series import (MODE_AUTO, MODE_SH, U_SWITCH, _n_images, _n_modes, _pair, _scheme_code,
                     _trig, check_u, mode_seeds)

__all__ = ["observe", "mode_thresholds", "block_size"]

#: below this many (source, channel) pairs observe() runs on one thread
_SERIAL_PAIRS = 200_000

# Rows of the per-block scratch array of _blocks (one row of `block` doubles each).
R_E = 0        # exp(-rho^2/4D tau - (gamma + lamv) tau) / tau per source (images: exponent)
R_IT = 1       # 1/tau per source (images: 1/(4 D tau), then -2/(4 D tau))
R_Q = 2        # q = exp(-lamv tau) (images: the prefactor (4 pi D tau)^-3/2)
R_SG = 3       # eigenmode sum of the density (images: of the vertical factor)
R_SZ = 4       # eigenmode sum of dG/dz (images: of its z-derivative)
R_MODES = 5    # first of 8 scratch rows: _mode_table's recurrences, then _modes_pass's P, QO
N_ROWS = 13


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _exp_pass(t, invt, rho2, dj, c4, lam, ebuf, itbuf):
    """``ebuf = exp(-rho^2 c4 / tau - lam tau) / tau`` and ``itbuf = 1/tau`` for a slice of
    sources, ``tau = t - dj`` (branch-free :func:`exp_full`, vectorised)."""
    for m in range(t.size):
        if dj == 0.0:
            it = invt[m]
            tau = t[m]
        else:
            tau = t[m] - dj
            it = 1.0 / tau
        ebuf[m] = exp_full(-rho2[m] * c4 * it - lam * tau) * it
        itbuf[m] = it


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _qpass(t, dj, lamv, qbuf):
    """q = exp(-lamv * (t - dj)) for a slice of sources."""
    for m in range(t.size):
        qbuf[m] = exp_full(-lamv * (t[m] - dj))


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _reduce(ebuf, itbuf, dx, dy, w0, w1, acc):
    """acc += (sum e w0, sum dx e w0 / tau, sum dy e w0 / tau, sum e w1).

    Reassociated (vectorised) sums: the order depends only on the slice, never on the
    number of threads, so results stay bitwise reproducible."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    for m in range(dx.size):
        e = ebuf[m]
        g = e * w0[m]
        a0 += g
        h = g * itbuf[m]
        a1 += dx[m] * h
        a2 += dy[m] * h
        a3 += e * w1[m]
    acc[0] += a0
    acc[1] += a1
    acc[2] += a2
    acc[3] += a3


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _mode_table(zs, sa, ca, c, KM, AB, ct1, st1, ct2, st2, C1p, C1, S1p, S1, C2p, C2, S2p, S2):
    """Per-source mode factors of one block, shared by every channel.

    ``AB[2(k-1)] = sin(ka) sin(kb) = (cos k th1 - cos k th2)/2`` and
    ``AB[2(k-1)+1] = k cos(ka) sin(kb) = k (sin k th2 - sin k th1)/2`` for k = 1..KM,
    advanced by Chebyshev recurrences (th1 = a - b, th2 = a + b) from the seeds of
    :func:`crlib.green.series.mode_seeds` (``sa, ca = sin a, cos a``, ``c = pi / 2H``); the
    rows ct1..S2 are scratch.  The eigenmode sums are then ``sum_k q^(k^2-1) AB[2(k-1)]`` and
    ``sum_k q^(k^2-1) AB[2(k-1)+1]``."""
    n = zs.size
    for m in range(n):
        AB[0, m], AB[1, m], ct1[m], st1[m], ct2[m], st2[m] = mode_seeds(sa, ca, c * zs[m])
    for m in range(n):
        C1p[m] = 1.0
        C1[m] = ct1[m]
        S1p[m] = 0.0
        S1[m] = st1[m]
        C2p[m] = 1.0
        C2[m] = ct2[m]
        S2p[m] = 0.0
        S2[m] = st2[m]
    for k in range(2, KM + 1):
        for m in range(n):
            c1 = 2.0 * ct1[m] * C1[m] - C1p[m]
            C1p[m] = C1[m]
            C1[m] = c1
            s1_ = 2.0 * ct1[m] * S1[m] - S1p[m]
            S1p[m] = S1[m]
            S1[m] = s1_
            c2 = 2.0 * ct2[m] * C2[m] - C2p[m]
            C2p[m] = C2[m]
            C2[m] = c2
            s2 = 2.0 * ct2[m] * S2[m] - S2p[m]
            S2p[m] = S2[m]
            S2[m] = s2
            AB[2 * k - 2, m] = 0.5 * (c1 - c2)
            AB[2 * k - 1, m] = (0.5 * k) * (s2 - s1_)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _modes_pass(q, AB, off, K, Sg, Sz, P, QO):
    """Sums of the first K eigenmodes for the sources AB[:, off:off + q.size] (k outer,
    sources inner, vectorised): Sg = sum_k q^(k^2-1) sin(ka) sin(kb),
    Sz = sum_k k q^(k^2-1) cos(ka) sin(kb)."""
    n = q.size
    for m in range(n):
        Sg[m] = AB[0, off + m]
        Sz[m] = AB[1, off + m]
        P[m] = 1.0
        QO[m] = q[m] * q[m] * q[m]
    for k in range(2, K + 1):
        A = AB[2 * k - 2, off:off + n]
        B = AB[2 * k - 1, off:off + n]
        for m in range(n):
            pk = P[m] * QO[m]
            P[m] = pk
            QO[m] = QO[m] * (q[m] * q[m])
            Sg[m] += pk * A[m]
            Sz[m] += pk * B[m]


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _segment(sa, sb, i0, K, t, invt, rho2, dx, dy, AB, dj, c4, lamv, lam, bufs, fa):
    """Vectorised sum over sources [sa, sb) with K eigenmodes into fa[0:4] (unscaled)."""
    nf = sb - sa
    ebuf = bufs[R_E, :nf]
    itbuf = bufs[R_IT, :nf]
    _exp_pass(t[sa:sb], invt[sa:sb], rho2[sa:sb], dj, c4, lam, ebuf, itbuf)
    fa[:] = 0.0
    if K == 1:
        _reduce(ebuf, itbuf, dx[sa:sb], dy[sa:sb], AB[0, sa - i0:sb - i0], AB[1, sa - i0:sb - i0],
                fa)
        return
    qb = bufs[R_Q, :nf]
    _qpass(t[sa:sb], dj, lamv, qb)
    Sg = bufs[R_SG, :nf]
    Sz = bufs[R_SZ, :nf]
    _modes_pass(qb, AB, sa - i0, K, Sg, Sz, bufs[R_MODES, :nf], bufs[R_MODES + 1, :nf])
    _reduce(ebuf, itbuf, dx[sa:sb], dy[sa:sb], Sg, Sz, fa)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _images_prep(t, rho2, dj, Dj, gj, hbuf, cbuf, G, GZ):
    """Per source of an image segment: exponent of the horizontal Gaussian and of the
    spallation (``-inf`` for ages ``t - dj <= 0``, which then add exactly 0) and 1/(4 D tau)."""
    for m in range(t.size):
        tau = t[m] - dj
        ok = tau > 0.0
        tau = tau if ok else 1.0
        c = 0.25 / (Dj * tau)
        h = -rho2[m] * c - gj * tau
        hbuf[m] = h if ok else -np.inf
        cbuf[m] = c
        G[m] = 0.0
        GZ[m] = 0.0


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _image_term(n, H, z, zs, hbuf, cbuf, G, GZ):
    """Adds image n (z_n = (-1)^n zs + 2 n H, sign (-1)^n) of every source of the segment."""
    sgn = 1.0 if n % 2 == 0 else -1.0
    off = 2.0 * n * H
    for m in range(zs.size):
        dz = z - (sgn * zs[m] + off)
        e = sgn * exp_full(hbuf[m] - dz * dz * cbuf[m])
        G[m] += e
        GZ[m] += dz * e


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _images_finish(cbuf, G, GZ, pbuf):
    """Prefactor (4 pi D tau)^-3/2 into pbuf, -2c into cbuf and -2c GZ into GZ (see _reduce)."""
    for m in range(cbuf.size):
        c = cbuf[m]
        cp = c / math.pi
        pbuf[m] = cp * math.sqrt(cp)
        cbuf[m] = -2.0 * c
        GZ[m] = -2.0 * c * GZ[m]


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _image_segment(sa, sb, N, t, rho2, dx, dy, z, zs, dj, Dj, gj, H, bufs, fa):
    """Vectorised image series with |n| <= N over sources [sa, sb) into fa[0:4] (scaled)."""
    nf = sb - sa
    hbuf = bufs[R_E, :nf]
    cbuf = bufs[R_IT, :nf]
    G = bufs[R_SG, :nf]
    GZ = bufs[R_SZ, :nf]
    pbuf = bufs[R_Q, :nf]
    _images_prep(t[sa:sb], rho2[sa:sb], dj, Dj, gj, hbuf, cbuf, G, GZ)
    for n in range(-N, N + 1):
        _image_term(n, H, z, zs[sa:sb], hbuf, cbuf, G, GZ)
    _images_finish(cbuf, G, GZ, pbuf)
    fa[:] = 0.0
    _reduce(pbuf, cbuf, dx[sa:sb], dy[sa:sb], G, GZ, fa)


@njit(cache=True)
def _channel_block(i0, i1, j, t, invt, rho2, dx, dy, z, zs,
                   D, gamma, delay, H, tol, mode, ibound, jbound, cut, bufs, AB, acc, fa):
    """Sum of block [i0, i1) for channel j into acc[0:4]: image segments (or, for
    scheme "sh", scalar pairs), then K-mode segments (AB: the block's :func:`_mode_table`)."""
    acc[:] = 0.0
    KM = ibound.shape[1]
    iend = min(i1, cut[j])
    Dj = D[j]
    gj = gamma[j]
    dj = delay[j]
    islow = min(iend, max(i0, ibound[j, KM - 1]))
    if mode == MODE_AUTO:
        # image segments with N = 1, 2, ..., NI images (u increasing with the index)
        NI = jbound.shape[1]
        sa = i0
        for N in range(1, NI + 1):
            sb = islow if N == NI else min(islow, max(sa, jbound[j, N - 1]))
            if sb > sa:
                _image_segment(sa, sb, N, t, rho2, dx, dy, z, zs, dj, Dj, gj, H, bufs, fa)
                for c in range(4):
                    acc[c] += fa[c]
            sa = sb
    else:
        for i in range(i0, islow):
            tau = t[i] - dj
            if tau <= 0.0:
                continue
            s1, d1, ct1, st1, ct2, st2 = _trig(z, zs[i], H)
            _pair(dx[i], dy[i], z, zs[i], tau, Dj, H, gj, tol, mode, 0,
                  s1, d1, ct1, st1, ct2, st2, acc)
    c4 = 0.25 / Dj
    lamv = 0.25 * math.pi ** 2 * Dj / (H * H)
    lam = gj + lamv
    pref = 0.25 / (math.pi * Dj * H)
    # segments with K = KM, KM-1, ..., 1 modes
    for K in range(KM, 0, -1):
        sa = min(iend, max(i0, ibound[j, K - 1]))
        sb = iend if K == 1 else min(iend, max(i0, ibound[j, K - 2]))
        if sb - sa <= 0:
            continue
        _segment(sa, sb, i0, K, t, invt, rho2, dx, dy, AB, dj, c4, lamv, lam, bufs, fa)
        acc[0] += pref * fa[0]
        acc[1] += -2.0 * c4 * pref * fa[1]
        acc[2] += -2.0 * c4 * pref * fa[2]
        acc[3] += (0.5 * math.pi / H) * pref * fa[3]


@njit(cache=True, parallel=True)
def _blocks(b0, b1, block, t, invt, rho2, dx, dy, z, zs,
            D, gamma, delay, H, tol, mode, ibound, jbound, cut, part):
    """Partial sums per (block, channel).  ibound[j, K-1] (K = 1..KMAX) is the first source
    index from which K eigenmodes meet tol (sources sorted by age); sources before
    ibound[j, KMAX-1] go through the scalar path (_pair), the rest through the
    vectorised eigenmode path with the K of their segment."""
    N = t.size
    a = 0.5 * math.pi * (z + H) / H          # observer: as in _trig
    sa = math.sin(a)
    ca = math.cos(a)
    c = 0.5 * math.pi / H
    for ib in prange(b0, b1):
        i0 = ib * block
        i1 = min(i0 + block, N)
        acc = np.zeros(4)
        fa = np.zeros(4)
        bufs = np.empty((N_ROWS, block))
        KM = ibound.shape[1]
        AB = np.empty((2 * KM, i1 - i0))
        r = R_MODES
        nb = i1 - i0
        _mode_table(zs[i0:i1], sa, ca, c, KM, AB, bufs[0, :nb], bufs[1, :nb], bufs[2, :nb],
                    bufs[3, :nb], bufs[r, :nb], bufs[r + 1, :nb], bufs[r + 2, :nb],
                    bufs[r + 3, :nb], bufs[r + 4, :nb], bufs[r + 5, :nb], bufs[r + 6, :nb],
                    bufs[r + 7, :nb])
        for j in range(D.size):
            _channel_block(i0, i1, j, t, invt, rho2, dx, dy, z, zs,
                           D, gamma, delay, H, tol, mode, ibound, jbound, cut, bufs, AB, acc, fa)
            part[ib, j, 0] = acc[0]
            part[ib, j, 1] = acc[1]
            part[ib, j, 2] = acc[2]
            part[ib, j, 3] = acc[3]


@njit(cache=True)
def _combine(part, out):
    nb = part.shape[0]
    for j in range(part.shape[1]):
        for c in range(4):
            s = 0.0
            for ib in range(nb):
                s += part[ib, j, c]
            out[j, c] = s


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _prepare(x, y, t, xo, yo):
    """Per-source quantities that do not depend on the channel or on heights (the mode
    factors of the heights are built per block, :func:`_mode_table`)."""
    n = t.size
    dx = np.empty(n)
    dy = np.empty(n)
    rho2 = np.empty(n)
    invt = np.empty(n)
    for i in range(n):
        ddx = xo - x[i]
        ddy = yo - y[i]
        dx[i] = ddx
        dy[i] = ddy
        rho2[i] = ddx * ddx + ddy * ddy
        invt[i] = 1.0 / t[i]
    return dx, dy, rho2, invt


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
    """As :func:`_exact_bounds`, for the first source with ``t[i] - delay[j] > tauI[j, N-1]``."""
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


_UI_CACHE = {}


def image_thresholds(tol):
    """Largest ``u = D tau / H^2`` (below :data:`U_SWITCH`) at which N images meet the bound.

    Returns an array ``uI`` of length NI, ``uI[N-1]`` for ``N = 1..NI``, increasing,
    NI the number the bound asks for just below U_SWITCH.  The image bound of
    :mod:`crlib.green.series` increases with ``u`` on ``u < U_SWITCH`` (its logarithmic
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
        lo, hi = 1e-6, U_SWITCH
        assert _n_images(lo, tol) <= N
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if _n_images(mid, tol) <= N:
                lo = mid
            else:
                hi = mid
        out[N - 1] = lo
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
        of modes needed at the switch :data:`U_SWITCH`, and ``u_KMAX = U_SWITCH``.
        Found by bisection (the bound decreases with ``u``).
    """
    tol = V.tolerance("tol", tol)
    if tol in _UK_CACHE:
        return _UK_CACHE[tol]
    kmax = int(_n_modes(U_SWITCH, tol))
    out = np.empty(kmax)
    out[kmax - 1] = U_SWITCH
    for K in range(1, kmax):
        lo, hi = U_SWITCH, 100.0
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if _n_modes(mid, tol) <= K:
                hi = mid
            else:
                lo = mid
        out[K - 1] = hi
    _UK_CACHE[tol] = out
    return out


def block_size(n_sources):
    """Fixed source-block size: a function of the number of sources only (never of threads)."""
    return max(256, -(-n_sources // 4096))


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


def _run_blocks(st, skip):
    """All source blocks of ``st`` into partial sums ``part``; returns ``(part, cut)``.

    ``cut[j]``: the number of (age-sorted) sources channel j summed.  With ``skip``,
    the first (up to) four blocks are summed exactly, their density is the lower
    bound ``n_low`` of the skip rule, and :func:`crlib.green.bounds.skip_cuts` sets
    the cut-offs for the remaining blocks.
    """
    n_src, nch = st.t.size, st.D.size
    nblk = -(-n_src // st.block) if n_src else 0
    part = np.zeros((nblk, nch, 4))
    cut = st.cap.copy()
    if nblk == 0:
        return part, cut
    args = st.kernel_args()
    pre = min(nblk, 4) if skip else nblk
    _blocks(0, pre, *args, cut, part)
    if pre < nblk:
        nlow = np.zeros((nch, 4))
        _combine(part[:pre], nlow)
        skip_cuts(st.t, st.D, st.gamma, st.delay, st.H, st.tol, nlow[:, 0].copy(),
                  min(n_src, pre * st.block), cut)
        _blocks(pre, nblk, *args, cut, part)
    return part, cut


def observe(x, y, z, t, D, H, gamma=0.0, delay=0.0, observer=OBSERVER, tol=1e-10,
            scheme="auto", skip=True, return_stats=False):
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
    return_stats : bool
        Also return a dict with the per-channel cut-offs ``cut`` and the block size.

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
    kernel first sums the youngest ``4 x block`` sources exactly, which gives a
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

    Determinism: sources are processed in fixed-size blocks (size depends only
    on the number of sources), each block's partial sums are stored and
    combined in block order, so results are bitwise identical for any number
    of numba threads.
    """
    x, y, z, t, D, H, gamma, delay, obs, tol, mode = _validate_observe(
        x, y, z, t, D, H, gamma, delay, observer, tol, scheme)
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
        part, cut = _run_blocks(st, skip)
    finally:
        numba.set_num_threads(nthreads)
    res = np.zeros((st.D.size, 4))
    if part.shape[0] > 0:
        _combine(part, res)
    n = res[:, 0].reshape(shape)
    grad = res[:, 1:].reshape(shape + (3,))
    if return_stats:
        return n, grad, {"cut": cut.reshape(shape), "block": st.block}
    return n, grad
