r"""Old sources in cells: the aggregated part of :func:`crlib.green.observe`.

Where a channel needs at most ``Ka`` eigenmodes (``u = D tau / H^2 >= u_Ka``), the
term of source i in mode k is

    W_i exp(-alpha A_i - Lambda_k tau_i),   A_i = rho_i^2 / tau_i,
    alpha = 1 / (4 D),  Lambda_k = gamma + k^2 pi^2 D / (4 H^2),

times a factor of the channel and the observer (``sin(ka)`` for the density and the
horizontal gradient, ``k cos(ka)`` for dG/dz).  The weights W_i (``sin(k b_i)/tau_i``,
``sin(k b_i) dx_i/tau_i^2``, ``sin(k b_i) dy_i/tau_i^2``; b_i from the source height)
do not depend on the channel.  So the sum over the sources of a cell with
``|A_i - A_c| <= hA`` and ``|tau_i - tau_c| <= ht`` is, with ``xi, eta`` in [-1, 1],

    E_k sum_i W_i exp(-x xi_i) exp(-y_k eta_i),   E_k = exp(-alpha A_c - Lambda_k tau_c),
    x = alpha hA,  y_k = Lambda_k ht,

and the Taylor polynomials of both exponentials (degree < P) turn it into moments
``M_mn = sum_i W_i xi_i^m eta_i^n`` built once per cell for every channel.  With the
Lagrange remainder ``|e^(-x xi) - T_P(-x xi)| <= e^x x^P / P!`` and ``|T_P| <= e^x``,

    abs(exact - expansion) <= E_k (sum_i abs(W_i)) (e^x x^P/P! e^y + e^x e^y y^P/P!),

a rigorous bound per cell, channel and mode, computed with the sum.

Cells: ages in geometric bins (the sources are sorted by age, so a bin is a run of the
catalogue) times bins of rho^2 whose width grows with the bin's age as ``D_min tau``
(``crlib.green.engine``, D_min the smallest D of the channels that use the bin), so that
``x ~ w / (8 D tau)`` is small for every such channel; the age spread enters as
``(alpha A + Lambda tau) (ht / tau)``, small where the cell matters (its exponential is not
negligible).  Mode k carries ``Pk[k]`` terms per direction: the higher modes are smaller
by ``exp(-(k^2 - 1) pi^2 u / 4)`` and need fewer.

Per channel the cells are accepted on the bound: a cell is expanded when its remainder
bound is at most ``(budget / 2) (w_c / T + 1 / n_c)`` for each of the four outputs, w_c
the cell's absolute-weight sum (``E_k sum |W|``), T their total and n_c the number of
cells, so the accepted bounds add up to at most the budget.  A cell whose whole size
(``exp(-alpha A_min - Lambda tau_min) sum |W|``) is within that share is dropped instead,
and a cell that fails both tests is summed source by source.  The budget is set by
:func:`crlib.green.observe` (half of ``tol * n_low``).  Each channel is one sequential
loop over its cells, and each cell's moments are summed by one thread in a fixed order,
so the results do not depend on the number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .fastexp import cos_sin_poly, exp_full

__all__ = []


#: columns of the packed source records (``cell_records``): age, dx, dy, height (rho^2 and
#: the height factors are recomputed from them: memory traffic, not arithmetic, is the cost)
C_T, C_DX, C_DY, C_Z, N_COL = 0, 1, 2, 3, 4
#: most rho^2 bins per age bin (the bins widen beyond, e.g. for a very thin halo)
MAX_RHO_BINS = 4096


@njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def cell_records(t, rho2, dx, dy, zs, bstart, w):
    """The sources ``bstart[0] <= i < bstart[-1]`` in cells: the age bins (runs of the
    age-sorted catalogue) ``[bstart[e], bstart[e+1])`` times rho^2 bins of width ``w[e]``
    (wider where that would make more than ``MAX_RHO_BINS`` of them).

    Returns ``rec`` (one row per source, in cell order: ``t, dx, dy, z``), ``cstart``
    (first row of each cell) and ``bcell`` (first cell of each age bin, len(bstart)).  Each age
    bin is sorted by one thread (a counting sort that reads in age order and writes one
    run of rows per cell), so the order does not depend on the number of threads."""
    NE = bstart.size - 1
    i0 = bstart[0]
    n = bstart[NE] - i0
    rec = np.empty((n, N_COL))
    nrb = np.zeros(NE, dtype=np.int64)       # rho^2 bins per age bin
    iwb = np.empty(NE)                       # their inverse width
    ncb = np.zeros(NE + 1, dtype=np.int64)   # cells per age bin
    for e in prange(NE):
        rmax = 0.0
        for i in range(bstart[e], bstart[e + 1]):
            rmax = max(rmax, rho2[i])
        # at most MAX_RHO_BINS bins (wider cells only cost accuracy, which the bounds see)
        iw = 1.0 / w[e] if rmax < MAX_RHO_BINS * w[e] else MAX_RHO_BINS / rmax
        iwb[e] = iw
        nr = int(rmax * iw) + 1
        nrb[e] = nr
        cnt = np.zeros(nr, dtype=np.int64)
        for i in range(bstart[e], bstart[e + 1]):
            cnt[min(int(rho2[i] * iw), nr - 1)] += 1
        k = 0
        for r in range(nr):
            if cnt[r] > 0:
                k += 1
        ncb[e + 1] = k
    bcell = np.cumsum(ncb)
    ncell = bcell[NE]
    cstart = np.empty(ncell + 1, dtype=np.int64)
    cstart[ncell] = n
    for e in prange(NE):
        nr = nrb[e]
        iw = iwb[e]
        cnt = np.zeros(nr, dtype=np.int64)
        for i in range(bstart[e], bstart[e + 1]):
            cnt[min(int(rho2[i] * iw), nr - 1)] += 1
        off = bstart[e] - i0
        cc = bcell[e]
        for r in range(nr):
            k = cnt[r]
            cnt[r] = off
            if k > 0:
                cstart[cc] = off
                cc += 1
            off += k
        for i in range(bstart[e], bstart[e + 1]):
            r = min(int(rho2[i] * iw), nr - 1)
            m = cnt[r]
            cnt[r] = m + 1
            rec[m, C_T] = t[i]
            rec[m, C_DX] = dx[i]
            rec[m, C_DY] = dy[i]
            rec[m, C_Z] = zs[i]
    return rec, cstart, bcell


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _height_factors(ch, z, sk):
    """``sk[k-1] = sin(k b)`` for k = 1..len(sk), ``b = pi/2 + ch z`` (``ch = pi / 2H``), by
    the Chebyshev recurrence from ``sin b = cos(ch z)``, ``2 cos b = -2 sin(ch z)``."""
    cs, sn = cos_sin_poly(ch * z)
    sk[0] = cs
    if sk.size > 1:
        cb2 = -2.0 * sn
        sk[1] = cb2 * cs
        for k in range(2, sk.size):
            sk[k] = cb2 * sk[k - 1] - sk[k - 2]


@njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _moments(cstart, rec, H, Ka, Pk):
    """Per cell: centres and half-widths in A = rho^2/tau and tau (``geo`` rows 0-3), the
    powers ``hA^p``, ``ht^p`` (rows 4 + 2p, 5 + 2p, p = 0..max Pk), the moments
    ``M[c, k, o, m Pmax + n] = sum_i W_o xi^m eta^n`` (m, n < Pk[k]) and the absolute sums
    ``S[k, o, c] = sum |W_o|`` (o = 0: sin(kb)/tau, 1: sin(kb) dx/tau^2, 2: sin(kb)
    dy/tau^2), from the rows of ``cell_records``."""
    nc = cstart.size - 1
    ch = 0.5 * math.pi / H
    Pm = 0
    for k in range(Ka):
        Pm = max(Pm, Pk[k])
    geo = np.empty((6 + 2 * Pm, nc))
    M = np.zeros((nc, Ka, 3, Pm * Pm))
    S = np.empty((Ka, 3, nc))
    for c in prange(nc):
        a, b = cstart[c], cstart[c + 1]
        n = b - a
        xi = np.empty(n)
        eta = np.empty(n)
        w = np.empty((3 * Ka, n))
        px = np.empty(n)
        pq = np.empty(n)
        sk = np.empty(Ka)
        for m in range(n):
            i = a + m
            tau = rec[i, C_T]
            it = 1.0 / tau
            ddx = rec[i, C_DX]
            ddy = rec[i, C_DY]
            xi[m] = (ddx * ddx + ddy * ddy) * it
            eta[m] = tau
            gx = ddx * it
            gy = ddy * it
            _height_factors(ch, rec[i, C_Z], sk)
            for k in range(Ka):
                g = sk[k] * it
                w[3 * k, m] = g
                w[3 * k + 1, m] = g * gx
                w[3 * k + 2, m] = g * gy
        amin = xi.min()
        amax = xi.max()
        tmin = eta.min()
        tmax = eta.max()
        Ac = 0.5 * (amin + amax)
        hA = 0.5 * (amax - amin)
        tc = 0.5 * (tmin + tmax)
        ht = 0.5 * (tmax - tmin)
        geo[0, c] = Ac
        geo[1, c] = hA
        geo[2, c] = tc
        geo[3, c] = ht
        pa = 1.0
        pt = 1.0
        for p in range(Pm + 1):
            geo[4 + 2 * p, c] = pa
            geo[5 + 2 * p, c] = pt
            pa *= hA
            pt *= ht
        iA = 1.0 / hA if hA > 0.0 else 0.0
        iT = 1.0 / ht if ht > 0.0 else 0.0
        for m in range(n):
            xi[m] = (xi[m] - Ac) * iA
            eta[m] = (eta[m] - tc) * iT
        for q in range(3 * Ka):
            acc = 0.0
            for m in range(n):
                acc += abs(w[q, m])
            S[q // 3, q % 3, c] = acc
        for k in range(Ka):
            P = Pk[k]
            w0 = w[3 * k]
            w1 = w[3 * k + 1]
            w2 = w[3 * k + 2]
            for m in range(n):
                px[m] = 1.0
            for i in range(P):
                for m in range(n):
                    pq[m] = px[m]
                for j in range(P):
                    a0 = 0.0
                    a1 = 0.0
                    a2 = 0.0
                    for m in range(n):
                        p_ = pq[m]
                        a0 += w0[m] * p_
                        a1 += w1[m] * p_
                        a2 += w2[m] * p_
                        pq[m] = p_ * eta[m]
                    ij = i * Pm + j
                    M[c, k, 0, ij] = a0
                    M[c, k, 1, ij] = a1
                    M[c, k, 2, ij] = a2
                for m in range(n):
                    px[m] *= xi[m]
    return geo, M, S


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _cell_exact(a, b, rec, H, K, c4, lam1, lamv, sak, kcak, fa):
    """Source-by-source sum over the cell rows [a, b) with K modes into fa
    (unscaled, the conventions of ``crlib.green.kernel._segment``)."""
    ch = 0.5 * math.pi / H
    sk = np.empty(K)
    for m in range(a, b):
        tau = rec[m, C_T]
        ddx = rec[m, C_DX]
        ddy = rec[m, C_DY]
        it = 1.0 / tau
        e = exp_full(-(ddx * ddx + ddy * ddy) * c4 * it - lam1 * tau) * it
        q = exp_full(-lamv * tau)
        _height_factors(ch, rec[m, C_Z], sk)
        g0 = sak[0] * sk[0]
        g3 = kcak[0] * sk[0]
        qk = 1.0
        q2 = q * q
        qo = q2 * q                       # q^(2k+1), k = 1
        for k in range(1, K):
            qk *= qo                      # q^((k+1)^2 - 1)
            qo *= q2
            g0 += qk * sak[k] * sk[k]
            g3 += qk * kcak[k] * sk[k]
        g = e * g0
        fa[0] += g
        fa[1] += ddx * g * it
        fa[2] += ddy * g * it
        fa[3] += e * g3


@njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _evaluate(D, gamma, H, zo, e0, e1, bcell, cstart, geo, M, S, rec, Pk,
              uK, budget, out, bound, stats):
    """Aggregated sums of every channel j over the age bins [e0[j], e1[j]) into out[j]
    (density, gradient: scaled as ``crlib.green.kernel._channel_block``) and the sum of
    the bounds of the accepted cells into bound[j].  ``budget[j]``: allowed error of the
    density (of each gradient component: times pi/2H).  stats[j] = (cells, expanded,
    dropped, summed exactly).  Mode k is expanded to degree ``Pk[k] - 1`` per direction.

    A cell is dropped (bound: its whole size ``E e^(x+y) sum|W|``) or expanded (bound: the
    Taylor remainder) when that bound is within its share of the budget, else summed
    source by source."""
    nch = D.size
    Ka = M.shape[1]
    Pm = int(round(math.sqrt(M.shape[3])))
    ifP = np.empty(Ka)
    for k in range(Ka):
        f = 1.0
        for m in range(2, Pk[k] + 1):
            f /= m
        ifP[k] = f
    a_obs = 0.5 * math.pi * (zo + H) / H
    for j in prange(nch):
        out[j, :] = 0.0
        bound[j, :] = 0.0
        stats[j, :] = 0
        if e1[j] <= e0[j]:
            continue
        Dj = D[j]
        c4 = 0.25 / Dj
        lamv = 0.25 * math.pi ** 2 * Dj / (H * H)
        pref = 0.25 / (math.pi * Dj * H)
        sc = np.empty(4)              # output scales
        sc[0] = pref
        sc[1] = -2.0 * c4 * pref
        sc[2] = sc[1]
        sc[3] = 0.5 * math.pi / H * pref
        sak = np.empty(Ka)
        kcak = np.empty(Ka)
        lam = np.empty(Ka)
        for k in range(Ka):
            sak[k] = math.sin((k + 1) * a_obs)
            kcak[k] = (k + 1) * math.cos((k + 1) * a_obs)
            lam[k] = gamma[j] + (k + 1) ** 2 * lamv
        c0, c1 = bcell[e0[j]], bcell[e1[j]]
        nc = c1 - c0
        Ac = geo[0, c0:c1]
        hA = geo[1, c0:c1]
        tc = geo[2, c0:c1]
        ht = geo[3, c0:c1]
        Kc = np.ones(nc, dtype=np.int64)
        Kf = np.empty(nc)
        for cc in range(nc):
            u = Dj * (tc[cc] - ht[cc]) / (H * H)
            K = 1
            while K < Ka and uK[K - 1] > u:
                K += 1
            Kc[cc] = K
            Kf[cc] = K
        E = np.zeros((Ka, nc))
        wt = np.zeros((4, nc))        # E sum|W| (scaled)
        wb = np.zeros((4, nc))        # E e^(x+y) sum|W|: bounds the whole cell
        rb = np.zeros((4, nc))        # Taylor remainder bound
        T = np.zeros(4)
        # pass 1 (vectorised over cells): exponentials at the centres, the three sizes;
        # modes a cell does not use get E = 0
        for k in range(Ka):
            sa = abs(sak[k]) * abs(sc[0])
            sx = abs(sak[k]) * abs(sc[1])
            kc = abs(kcak[k]) * abs(sc[3])
            lk = lam[k]
            P = Pk[k]
            c4P = c4 ** P * ifP[k]
            lkP = lk ** P * ifP[k]
            hAP = geo[4 + 2 * P, c0:c1]
            htP = geo[5 + 2 * P, c0:c1]
            S0 = S[k, 0, c0:c1]
            S1 = S[k, 1, c0:c1]
            S2 = S[k, 2, c0:c1]
            Ek = E[k]
            kf = np.float64(k)
            for cc in range(nc):
                Ek[cc] = exp_full(-c4 * Ac[cc] - lk * tc[cc]) * (Kf[cc] > kf)
            w0, w1, w2, w3 = wt[0], wt[1], wt[2], wt[3]
            for cc in range(nc):
                ek = Ek[cc]
                w0[cc] += sa * ek * S0[cc]
                w1[cc] += sx * ek * S1[cc]
                w2[cc] += sx * ek * S2[cc]
                w3[cc] += kc * ek * S0[cc]
            b0, b1, b2, b3 = wb[0], wb[1], wb[2], wb[3]
            r0, r1, r2_, r3 = rb[0], rb[1], rb[2], rb[3]
            for cc in range(nc):
                eb = Ek[cc] / exp_full(-(c4 * hA[cc] + lk * ht[cc]))
                er = eb * (c4P * hAP[cc] + lkP * htP[cc])
                b0[cc] += sa * eb * S0[cc]
                b1[cc] += sx * eb * S1[cc]
                b2[cc] += sx * eb * S2[cc]
                b3[cc] += kc * eb * S0[cc]
                r0[cc] += sa * er * S0[cc]
                r1[cc] += sx * er * S1[cc]
                r2_[cc] += sx * er * S2[cc]
                r3[cc] += kc * er * S0[cc]
        for o in range(4):
            acc = 0.0
            for cc in range(nc):
                acc += wt[o, cc]
            T[o] = acc
        B = np.empty(4)
        B[0] = budget[j]
        B[1] = budget[j] * 0.5 * math.pi / H
        B[2] = B[1]
        B[3] = B[1]
        cA = np.empty(Pm)
        cT = np.empty(Pm)
        CC = np.empty(Pm * Pm)
        fa = np.zeros(4)
        fe = np.zeros(4)
        lim = np.empty(4)
        stats[j, 0] = nc
        for c in range(c0, c1):
            cc = c - c0
            K = Kc[cc]
            drop = True
            expand = True
            for o in range(4):
                share = 1.0 / nc
                if T[o] > 0.0:
                    share += wt[o, cc] / T[o]
                lim[o] = 0.5 * B[o] * share
                if wb[o, cc] > lim[o]:
                    drop = False
                if rb[o, cc] > lim[o]:
                    expand = False
            if drop:
                stats[j, 2] += 1
                for o in range(4):
                    bound[j, o] += wb[o, cc]
                continue
            if not expand:
                stats[j, 3] += 1
                fe[:] = 0.0
                _cell_exact(cstart[c], cstart[c + 1], rec, H, K, c4, lam[0], lamv, sak, kcak, fe)
                for o in range(4):
                    fa[o] += fe[o]
                continue
            stats[j, 1] += 1
            for o in range(4):
                bound[j, o] += rb[o, cc]
            x = c4 * hA[cc]
            for k in range(K):
                P = Pk[k]
                y = lam[k] * ht[cc]
                cA[0] = 1.0
                cT[0] = 1.0
                for m in range(1, P):
                    cA[m] = cA[m - 1] * (-x) / m
                    cT[m] = cT[m - 1] * (-y) / m
                for q in range(Pm * Pm):
                    CC[q] = 0.0
                for m in range(P):
                    for n in range(P):
                        CC[m * Pm + n] = cA[m] * cT[n]
                Mk = M[c, k]
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                for q in range(Pm * Pm):
                    a0 += CC[q] * Mk[0, q]
                    a1 += CC[q] * Mk[1, q]
                    a2 += CC[q] * Mk[2, q]
                ek = E[k, cc]
                fa[0] += sak[k] * ek * a0
                fa[3] += kcak[k] * ek * a0
                fa[1] += sak[k] * ek * a1
                fa[2] += sak[k] * ek * a2
        for o in range(4):
            out[j, o] = sc[o] * fa[o]


def age_bins(t, t_lo, ratio, nmax):
    """First source of each age bin: geometric edges from ``t_lo`` (ratio ``ratio``)
    over the age-sorted ``t``, bins longer than ``nmax`` sources split into equal runs
    (pieces of bounded size for the threads)."""
    nb = max(1, int(math.ceil(math.log(t[-1] / t_lo) / math.log(ratio))) + 1)
    edges = np.searchsorted(t, t_lo * ratio ** np.arange(nb + 1))
    out = [edges[0]]
    for a, b in zip(edges[:-1], edges[1:]):
        k = -(-(b - a) // nmax)
        for q in range(1, k + 1):
            out.append(a + (b - a) * q // k)
    return np.unique(np.array(out, dtype=np.int64))
