r"""Many sources, many channels: the vectorised kernel behind :func:`crlib.green.observe`.

The orchestration (validation, sorting, segment bounds, skip rule) is in
``crlib.green.engine``; this module holds the compiled sums.

Layout of the work (sources sorted by age, so ``u = D (t - delay) / H^2``
increases along the catalogue and every truncation rule becomes a contiguous
segment per channel):

* ``u < U_SWITCH``: image segments with ``N = 1, 2, ..., NI`` images, the bounds
  from :func:`crlib.green.image_thresholds` (the a-priori image rule of
  ``crlib.green.series``), evaluated image by image over all sources of the
  segment (vectorised);
* ``U_SWITCH <= u < u_1``: K-mode segments (:func:`crlib.green.mode_thresholds`); the mode
  factors ``sin(ka) sin(kb)`` and ``k cos(ka) sin(kb)`` depend on the heights
  only, so each block builds them once (``_mode_table``) for all channels;
* ``u >= u_1``: one mode, one exponential per pair.

Exponentials are ``exp_full`` (branch-free, a few ulp,
terms below ``e^-600`` of their prefactor dropped); sums over a slice are
reassociated so that they vectorise, in an order fixed by the slice alone.  So
the truncation rules and the skip rule are exactly those of the scalar code
(:func:`crlib.green.slab_green`), results agree with it to about 1e-14 relative,
and they are bitwise identical for any number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .fastexp import exp_full
from .series import MODE_AUTO, _pair, _trig, mode_seeds

__all__ = []

# Rows of the per-block scratch array of _blocks (one row of `block` doubles each).
R_E = 0        # exp(-rho^2/4D tau - (gamma + lamv) tau) / tau per source (images: exponent)
R_IT = 1       # 1/tau per source (images: 1/(4 D tau), then -2/(4 D tau))
R_Q = 2        # q = exp(-lamv tau) (images: the prefactor (4 pi D tau)^-3/2)
R_SG = 3       # eigenmode sum of the density (images: of the vertical factor)
R_SZ = 4       # eigenmode sum of dG/dz (images: of its z-derivative)
R_MODES = 5    # first of 8 scratch rows: _mode_table's recurrences, then _modes_pass's P, QO
N_ROWS = 13
#: strip length of the multi-pass segments: their scratch rows (about 16 of CHUNK doubles)
#: stay in a core's L1 data cache
CHUNK = 256


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _one_mode(t, invt, rho2, dx, dy, w0, w1, dj, c4, lam, acc):
    """acc += (sum e w0, sum dx e w0 / tau, sum dy e w0 / tau, sum e w1) over a slice of
    sources, ``e = exp(-rho^2 c4 / tau - lam tau) / tau``, ``tau = t - dj``: the one-mode
    sum in one fused, vectorised pass (branch-free ``exp_full``).

    The sums are reassociated (vectorised) in an order fixed by the slice alone, never
    by the number of threads, so results stay bitwise reproducible."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    for m in range(t.size):
        tau = t[m] - dj
        it = invt[m] if dj == 0.0 else 1.0 / tau      # a select: the loop still vectorises
        e = exp_full(-rho2[m] * c4 * it - lam * tau) * it
        g = e * w0[m]
        a0 += g
        h = g * it
        a1 += dx[m] * h
        a2 += dy[m] * h
        a3 += e * w1[m]
    acc[0] += a0
    acc[1] += a1
    acc[2] += a2
    acc[3] += a3


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _two_three_modes(t, invt, rho2, dx, dy, A0, B0, A1, B1, A2, B2, K, dj, c4, lam, lamv, acc):
    """As ``_one_mode`` with K = 2 or 3 eigenmodes, in one fused pass: the mode sums
    ``Sg = A0 + q^3 A1 (+ q^8 A2)`` and ``Sz = B0 + q^3 B1 (+ q^8 B2)`` (``q = exp(-lamv tau)``,
    rows of ``_mode_table``) weight ``e`` in place of w0, w1."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    if K == 2:
        for m in range(t.size):
            tau = t[m] - dj
            it = invt[m] if dj == 0.0 else 1.0 / tau
            e = exp_full(-rho2[m] * c4 * it - lam * tau) * it
            q = exp_full(-lamv * tau)
            q3 = q * q * q
            g = e * (A0[m] + q3 * A1[m])
            a0 += g
            h = g * it
            a1 += dx[m] * h
            a2 += dy[m] * h
            a3 += e * (B0[m] + q3 * B1[m])
    else:
        for m in range(t.size):
            tau = t[m] - dj
            it = invt[m] if dj == 0.0 else 1.0 / tau
            e = exp_full(-rho2[m] * c4 * it - lam * tau) * it
            q = exp_full(-lamv * tau)
            q3 = q * q * q
            q8 = q3 * q3 * q * q
            g = e * (A0[m] + q3 * A1[m] + q8 * A2[m])
            a0 += g
            h = g * it
            a1 += dx[m] * h
            a2 += dy[m] * h
            a3 += e * (B0[m] + q3 * B1[m] + q8 * B2[m])
    acc[0] += a0
    acc[1] += a1
    acc[2] += a2
    acc[3] += a3


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _exp_q_pass(t, invt, rho2, dj, c4, lam, lamv, ebuf, itbuf, qbuf):
    """For a slice of sources, ``tau = t - dj``: ``ebuf = exp(-rho^2 c4 / tau - lam tau) / tau``,
    ``itbuf = 1/tau`` and ``qbuf = exp(-lamv tau)`` (one vectorised pass)."""
    for m in range(t.size):
        tau = t[m] - dj
        it = invt[m] if dj == 0.0 else 1.0 / tau
        ebuf[m] = exp_full(-rho2[m] * c4 * it - lam * tau) * it
        itbuf[m] = it
        qbuf[m] = exp_full(-lamv * tau)


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
    ``mode_seeds`` (``sa, ca = sin a, cos a``, ``c = pi / 2H``); the
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
    """Vectorised sum over sources [sa, sb) with K eigenmodes into fa[0:4] (unscaled).

    One to three modes are one fused pass.  With K >= 4 the passes (exponentials, mode sums,
    reduction) run over strips of ``CHUNK`` sources so that their scratch rows stay in
    the L1 cache; the strips are fixed by ``sa`` alone, so the order of the sums is too."""
    fa[:] = 0.0
    if K == 1:
        _one_mode(t[sa:sb], invt[sa:sb], rho2[sa:sb], dx[sa:sb], dy[sa:sb],
                  AB[0, sa - i0:sb - i0], AB[1, sa - i0:sb - i0], dj, c4, lam, fa)
        return
    if K <= 3:
        o0, o1 = sa - i0, sb - i0
        _two_three_modes(t[sa:sb], invt[sa:sb], rho2[sa:sb], dx[sa:sb], dy[sa:sb],
                         AB[0, o0:o1], AB[1, o0:o1], AB[2, o0:o1], AB[3, o0:o1],
                         AB[2 * K - 2, o0:o1], AB[2 * K - 1, o0:o1], K, dj, c4, lam, lamv, fa)
        return
    for ca in range(sa, sb, CHUNK):
        cb = min(ca + CHUNK, sb)
        nf = cb - ca
        ebuf = bufs[R_E, :nf]
        itbuf = bufs[R_IT, :nf]
        qb = bufs[R_Q, :nf]
        _exp_q_pass(t[ca:cb], invt[ca:cb], rho2[ca:cb], dj, c4, lam, lamv, ebuf, itbuf, qb)
        Sg = bufs[R_SG, :nf]
        Sz = bufs[R_SZ, :nf]
        _modes_pass(qb, AB, ca - i0, K, Sg, Sz, bufs[R_MODES, :nf], bufs[R_MODES + 1, :nf])
        _reduce(ebuf, itbuf, dx[ca:cb], dy[ca:cb], Sg, Sz, fa)


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
    """Vectorised image series with |n| <= N over sources [sa, sb) into fa[0:4] (scaled),
    in strips of ``CHUNK`` sources (as in ``_segment``)."""
    fa[:] = 0.0
    for ca in range(sa, sb, CHUNK):
        cb = min(ca + CHUNK, sb)
        nf = cb - ca
        hbuf = bufs[R_E, :nf]
        cbuf = bufs[R_IT, :nf]
        G = bufs[R_SG, :nf]
        GZ = bufs[R_SZ, :nf]
        pbuf = bufs[R_Q, :nf]
        _images_prep(t[ca:cb], rho2[ca:cb], dj, Dj, gj, hbuf, cbuf, G, GZ)
        for n in range(-N, N + 1):
            _image_term(n, H, z, zs[ca:cb], hbuf, cbuf, G, GZ)
        _images_finish(cbuf, G, GZ, pbuf)
        _reduce(pbuf, cbuf, dx[ca:cb], dy[ca:cb], G, GZ, fa)


@njit(cache=True)
def _channel_block(i0, i1, j, t, invt, rho2, dx, dy, z, zs,
                   D, gamma, delay, H, tol, mode, ibound, jbound, cut, bufs, AB, acc, fa):
    """Sum of block [i0, i1) for channel j into acc[0:4]: image segments (or, for
    scheme "sh", scalar pairs), then K-mode segments (AB: the block's ``_mode_table``)."""
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


@njit(cache=True)
def _block_modes(i0, i1, ibound, cut):
    """Most eigenmodes any channel uses in block [i0, i1) (0 if none sums a mode there).

    A source i uses K modes for channel j when ``ibound[j, K-1] <= i < ibound[j, K-2]``
    (``ibound`` falls with K), so the block's first mode source of each channel needs the
    most; ``_mode_table`` then builds only that many rows."""
    KM = ibound.shape[1]
    kmax = 0
    for j in range(ibound.shape[0]):
        s = max(i0, ibound[j, KM - 1])
        if s >= min(i1, cut[j]):
            continue
        K = KM
        while K > 1 and s >= ibound[j, K - 2]:
            K -= 1
        kmax = max(kmax, K)
    return kmax


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
        KB = _block_modes(i0, i1, ibound, cut)
        AB = np.empty((2 * max(KB, 1), i1 - i0))
        r = R_MODES
        nb = i1 - i0
        if KB > 0:
            _mode_table(zs[i0:i1], sa, ca, c, KB, AB, bufs[0, :nb], bufs[1, :nb], bufs[2, :nb],
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
    factors of the heights are built per block, ``_mode_table``)."""
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


