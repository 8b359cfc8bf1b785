r"""Rigorous upper bounds used to leave sources out: the skip rule and the far-source bound.

``skip_bound`` and ``skip_cuts`` implement the skip rule of
:func:`crlib.green.observe` (derivation in its docstring, :ref:`model-green`);
:func:`far_bound` bounds what sources beyond a horizontal radius can add
(used by :mod:`crlib.ensemble` for thin halos, :ref:`model-ensembles`).
"""

import math

import numpy as np
from numba import njit

from .. import _validate as V
from .series import U_SWITCH

__all__ = ["far_bound"]


@njit(cache=True)
def skip_bound(tau, D, H, gamma):
    """max of the density bound and (2H/pi) x the gradient bound of one source of age tau.

    Needs q^3 < 1/2 (guaranteed for D tau / H^2 >= U_SWITCH).
    """
    lam = 0.25 * math.pi ** 2 * D * tau / (H * H)
    q = math.exp(-lam)
    q3 = q * q * q
    base = math.exp(-gamma * tau - lam) * 0.25 / (math.pi * D * tau * H)
    bn = base / (1.0 - q3)
    bz = base / (1.0 - 2.0 * q3)
    bh = bn / math.sqrt(2.0 * math.e * D * tau) * (2.0 * H / math.pi)
    return max(bn, bz, bh)


@njit(cache=True)
def skip_cuts(t, D, gamma, delay, H, tol, nlow, start, cut):
    """Per channel: first source index from which all older sources may be skipped.

    ``cut`` holds on entry the channels' caps (0 for a channel that receives nothing,
    the number of sources otherwise) and on return the cut-offs, never above the cap.
    """
    N = t.size
    for j in range(D.size):
        if cut[j] == 0 or not nlow[j] > 0.0:
            continue
        # the predicate f(i) = [u_i >= U_SWITCH and (N - i) B(tau_i) <= tol nlow] is monotone in i
        lo = start
        hi = N  # f(N) is true (nothing left)
        while lo < hi:
            mid = (lo + hi) // 2
            tau = t[mid] - delay[j]
            ok = False
            if tau > 0.0 and D[j] * tau >= U_SWITCH * H * H:
                ok = (N - mid) * skip_bound(tau, D[j], H, gamma[j]) <= tol * nlow[j]
            if ok:
                hi = mid
            else:
                lo = mid + 1
        cut[j] = min(lo, cut[j])


def far_bound(age_edges, counts, D, H, radius, per_bin=False):
    r"""Upper bounds on what sources at horizontal distance >= ``radius`` add at the observer.

    ``counts[i]`` sources with ages in ``[age_edges[i], age_edges[i+1]]``, anywhere in
    the slab (any z_s), at horizontal distance rho >= ``radius`` from an observer
    anywhere in the slab.  Returns ``(bn, bg)`` with D's shape: bounds on their summed
    density and on every component of their summed gradient, per channel (no
    spallation or escape delay assumed; both only lower the true values).  With
    ``per_bin`` the bounds are not summed over bins: shape D.shape + (n_bins,).

    Derivation.  G = exp(-rho^2/4D tau)/(4 pi D tau) g(z, z_s, tau) with the slab's
    1-d kernel g <= min((4 pi D tau)^(-1/2), q/(H (1 - q))), q = exp(-lam),
    lam = pi^2 D tau/4H^2 (free-space image bound; eigen-series bound sum q^(m^2) <= q/(1-q)),
    and |dg/dz| <= (pi/2H^2) sum m q^(m^2) <= (pi/2H^2) q/(1-q)^2.  The horizontal
    gradient is (rho/2D tau) G, and max over rho >= radius of rho exp(-rho^2/4D tau)
    is M(tau) = radius exp(-a/tau) for tau <= 2a, sqrt(2 D tau/e) beyond
    (a = radius^2/4D).  Each bound is an increasing factor (exp(-a/tau), M)
    times a decreasing one, so on a bin [lo, hi] it is at most the increasing
    factor at hi times the decreasing one at lo.  For hi <= a/3 (needed for a
    first bin starting at 0) the whole envelopes
    exp(-a/tau)(4 pi D tau)^(-3/2), (radius/2D tau) exp(-a/tau)(4 pi D tau)^(-3/2)
    and exp(-a/tau)/(4 pi D tau) (pi/2H^2)(1 + 1/lam)^2 (using 1 - q >= lam/(1+lam))
    increase with tau, so their values at hi bound the bin too; the smaller of the
    two valid bounds is used.  A first bin [0, hi] with hi > a/3 gets an infinite
    bound.
    """
    edges = V.as_float_array("age_edges", age_edges)
    counts = np.asarray(counts, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or edges[0] < 0 or np.any(np.diff(edges) <= 0):
        raise ValueError("age_edges must be a strictly increasing 1-d array starting at >= 0")
    if counts.shape != (edges.size - 1,) or np.any(counts < 0):
        raise ValueError(f"counts must be {edges.size - 1} non-negative numbers, got shape {counts.shape}")
    D = V.as_float_array("D", D)
    V.positive("D", D)
    H = V.positive("H", V.as_float("H", H))
    radius = V.positive("radius", V.as_float("radius", radius))
    shape = D.shape
    d = D.reshape(-1, 1)
    lo, hi = edges[None, :-1], edges[None, 1:]
    a = radius ** 2 / (4.0 * d)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # product bounds (valid for lo > 0)
        inc = np.exp(-a / hi)
        fs = 1.0 / (4.0 * np.pi * d * lo)
        lam = 0.25 * np.pi ** 2 * d * lo / H ** 2
        one_q = -np.expm1(-lam)
        q = np.exp(-lam)
        g = np.minimum(1.0 / np.sqrt(4.0 * np.pi * d * lo), q / (H * one_q))
        Mh = np.where(hi <= 2 * a, radius * inc, np.sqrt(2.0 * d * hi / np.e))
        pn = inc * fs * g
        ph = Mh / (2.0 * d * lo) * fs * g
        pz = inc * fs * (0.5 * np.pi / H ** 2) * q / one_q ** 2
        # monotone envelopes at hi (valid for hi <= a/3)
        fs_h = 1.0 / (4.0 * np.pi * d * hi)
        en = inc * fs_h / np.sqrt(4.0 * np.pi * d * hi)
        eh = radius / (2.0 * d * hi) * en
        lam_h = 0.25 * np.pi ** 2 * d * hi / H ** 2
        ez = inc * fs_h * (0.5 * np.pi / H ** 2) * (1.0 + 1.0 / lam_h) ** 2
    mono = hi <= a / 3.0
    prod = lo > 0.0
    inf = np.inf
    bn_bin = np.minimum(np.where(prod, pn, inf), np.where(mono, en, inf))
    bg_bin = np.minimum(np.where(prod, np.maximum(ph, pz), inf),
                        np.where(mono, np.maximum(eh, ez), inf))
    keep = counts[None, :] > 0
    with np.errstate(invalid="ignore"):            # inf * 0 in empty bins, masked below
        bn = np.where(keep, bn_bin * counts, 0.0)
        bg = np.where(keep, bg_bin * counts, 0.0)
    if per_bin:
        return bn.reshape(shape + (-1,)), bg.reshape(shape + (-1,))
    return bn.sum(axis=1).reshape(shape), bg.sum(axis=1).reshape(shape)
