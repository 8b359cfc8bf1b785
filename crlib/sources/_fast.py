"""Fast samplers of the built-in source models: numba kernels fed with raw 64-bit words.

The generic path (``SourceModel.positions``) calls one NumPy distribution per
coordinate and several array passes for the trigonometry; this module draws the
same laws from the Generator's raw output (``rng.bit_generator.random_raw``)
in few passes over cache-sized blocks, with cheaper logarithms and trigonometry:

* a uniform in the open interval (0, 1) is the top 53 bits of a word plus one
  half, ``(w >> 11 + 0.5) 2^-53``, so its logarithm is always finite;
* Gamma(k) for integer k (4: Case & Bhattacharya, 2: exponential disk) is
  ``-log(u_1 ... u_k)``, the sum of k standard exponentials;
* cos and sin are evaluated together by :func:`_polar_to_xy` (a reduction modulo
  pi/2 in three parts and Taylor polynomials on [-pi/4, pi/4], accurate to a
  few units in the last place; ``math.cos``/``math.sin`` beyond
  ``|phi| = 1e6``), about ten times cheaper here than two libm calls;
* a Laplace height is a standard exponential (53 bits) with a random sign
  (the word's lowest bit, which the uniform does not use);
* ascending ages are the normalised partial sums of n + 1 standard
  exponentials (the order statistics of n uniforms, as before).

Logarithms and exponentials are left to NumPy, whose SIMD loops are several
times faster than a scalar ``math.log`` in a numba loop; the work is done in
blocks of ``BLOCK`` sources so that the temporaries stay in cache.
The laws are the ones of :ref:`model-sources`; only the random numbers a given
seed produces differ from the generic path.  The number of words a kernel
consumes is fixed (no rejection), so the stream and hence the catalogue are a
function of the seed alone.
"""

import math

import numpy as np
from numba import njit

__all__ = ["BLOCK", "sorted_ages", "disk_positions", "spiral_positions", "moving_positions"]

TWO_PI = 2.0 * math.pi
#: Sources per block (temporaries of a few hundred kB).
BLOCK = 8192
_U53 = 2.0 ** -53
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_THREE = np.uint64(3)


def _raw(rng, n):
    """``n`` raw 64-bit words of ``rng``'s bit generator (uint64 array)."""
    return rng.bit_generator.random_raw(int(n))


def _blocks(n):
    for i0 in range(0, n, BLOCK):
        yield i0, min(i0 + BLOCK, n)


@njit(cache=True)
def _open_uniform(w):
    """Uniform in (0, 1) from the top 53 bits of the word ``w`` (never 0 or 1)."""
    return (float(w >> _S11) + 0.5) * _U53


# pi/2 in three parts of 33 bits each (fdlibm's pio2_1, pio2_2, pio2_3): k * part is exact
# for |k| < 2^20, so the reduced argument is exact to ~1e-30 absolute for |phi| <= 1e6.
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
_TWO_OVER_PI = 2.0 / math.pi
_ROUND = 6755399441055744.0      # 1.5 * 2^52: (v + _ROUND) - _ROUND rounds v to an integer


@njit(cache=True, fastmath={"contract"})
def _polar_to_xy(r, phi, x, y, i0):
    """x[i0 + i], y[i0 + i] = r (cos phi, sin phi) for the block arrays ``r``, ``phi``.

    cos and sin after a reduction by k pi/2 (three-part pi/2, exact to ~1e-30
    for |phi| <= 1e6) from Taylor polynomials on [-pi/4, pi/4] (truncation
    errors below 1e-17: to r^17 for sin, r^16 for cos), so the error is that
    of rounding, a few ulp; k is rounded by adding and subtracting 1.5 * 2^52
    and the quadrant is picked without branches, so that the loop vectorizes
    (and may use fused multiply-adds).  Points with |phi| > 1e6 are redone with ``math.cos`` and
    ``math.sin``.
    """
    for i in range(r.size):
        p = phi[i]
        k = (p * _TWO_OVER_PI + _ROUND) - _ROUND
        q = np.int64(k) & 3
        u = ((p - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
        u2 = u * u
        sr = u * (1.0 + u2 * (-1.0 / 6.0 + u2 * (1.0 / 120.0 + u2 * (-1.0 / 5040.0 + u2 * (
            1.0 / 362880.0 + u2 * (-1.0 / 39916800.0 + u2 * (1.0 / 6227020800.0 + u2 * (
                -1.0 / 1307674368000.0 + u2 * (1.0 / 355687428096000.0)))))))))
        cr = 1.0 + u2 * (-0.5 + u2 * (1.0 / 24.0 + u2 * (-1.0 / 720.0 + u2 * (1.0 / 40320.0 + u2 * (
            -1.0 / 3628800.0 + u2 * (1.0 / 479001600.0 + u2 * (-1.0 / 87178291200.0 + u2 * (
                1.0 / 20922789888000.0))))))))
        odd = (q & 1) == 1
        c = sr if odd else cr
        s = cr if odd else sr
        c = -c if ((q + 1) & 2) != 0 else c         # cos < 0 in quadrants 1, 2
        s = -s if (q & 2) != 0 else s               # sin < 0 in quadrants 2, 3
        x[i0 + i] = r[i] * c
        y[i0 + i] = r[i] * s
    for i in range(r.size):
        if abs(phi[i]) > 1e6:
            x[i0 + i] = r[i] * math.cos(phi[i])
            y[i0 + i] = r[i] * math.sin(phi[i])


def sincos(phi):
    """(cos phi, sin phi) of an array by the kernel of :func:`_polar_to_xy` (for the tests)."""
    phi = np.ascontiguousarray(phi, dtype=np.float64)
    c, s = np.empty(phi.size), np.empty(phi.size)
    _polar_to_xy(np.ones(phi.size), phi, c, s, 0)
    return c, s


@njit(cache=True)
def _heights(raw, lg, z_g, z, i0):
    """z[i0 + i] = +-z_g lg[i] (lg = log u < 0) with the sign of the lowest bit of raw[i]."""
    for i in range(lg.size):
        h = z_g * lg[i]
        z[i0 + i] = h if raw[i] & _ONE else -h


@njit(cache=True)
def _fill(raw, k, nb, buf):
    """buf[:nb] = products of k open uniforms (words k i .. k i + k - 1); then one uniform each
    for the following (len(buf) // nb - 1) groups of nb words."""
    for i in range(nb):
        p = 1.0
        for j in range(k):
            p *= _open_uniform(raw[k * i + j])
        buf[i] = p
    for j in range(k * nb, k * nb + buf.size - nb):
        buf[j - k * nb + nb] = _open_uniform(raw[j])


def gamma_int(rng, k, scale, n):
    """``n`` draws of Gamma(k, scale), integer k >= 1: -scale log(u_1 ... u_k) (k words each).

    The radius step of the samplers below as a function of its own.  The product
    of k <= 10 uniforms of 53 bits is >= 2^-540, far above the smallest double.
    """
    g = np.empty(n)
    _fill(_raw(rng, k * n), k, n, g)
    np.log(g, out=g)
    g *= -scale
    return g


# ------------------------------------------------------------------ ages
@njit(cache=True)
def _cumulate(e, t, i0, c):
    """t[i0 + i] = c - (e_0 + ... + e_i) (e = log u < 0); returns the running sum."""
    for i in range(e.size):
        c -= e[i]
        t[i0 + i] = c
    return c


@njit(cache=True)
def _normalise(t, lo, hi, c):
    f = (hi - lo) / c
    for i in range(t.size):
        t[i] = lo + t[i] * f


def sorted_ages(rng, n, lo, hi):
    """``n`` ascending uniforms in (lo, hi] in O(n): normalised partial sums of n + 1 exponentials."""
    t = np.empty(n)
    c = 0.0
    for i0, i1 in _blocks(n):
        e = np.empty(i1 - i0)
        _fill(_raw(rng, i1 - i0), 0, 0, e)
        np.log(e, out=e)
        c = _cumulate(e, t, i0, c)
    e = np.empty(1)
    _fill(_raw(rng, 1), 0, 0, e)
    c -= math.log(e[0])
    _normalise(t, lo, hi, c)
    return t


# ------------------------------------------------------------------ axisymmetric disks
@njit(cache=True)
def _disk_polar(raw, lg, scale, r, phi):
    """r = -scale lg[i] (lg = log of a product of uniforms), phi = 2 pi u from raw[i]."""
    for i in range(r.size):
        r[i] = -scale * lg[i]
        phi[i] = TWO_PI * _open_uniform(raw[i])


def disk_positions(rng, n, k, scale, z_g):
    """x, y, z, arm of ``n`` sources: radius Gamma(k, scale) for integer k, uniform azimuth,
    Laplace(z_g) heights; k + 2 words a source."""
    x, y, z = np.empty(n), np.empty(n), np.empty(n)
    for i0, i1 in _blocks(n):
        nb = i1 - i0
        raw = _raw(rng, (k + 2) * nb)
        lg = np.empty(2 * nb)
        _fill(raw[:(k + 1) * nb], k, nb, lg)
        np.log(lg, out=lg)
        r, phi = np.empty(nb), np.empty(nb)
        _disk_polar(raw[(k + 1) * nb:], lg, scale, r, phi)
        _polar_to_xy(r, phi, x, y, i0)
        _heights(raw[k * nb:(k + 1) * nb], lg[nb:], z_g, z, i0)
    return x, y, z, np.full(n, -1, dtype=np.int64)


# ------------------------------------------------------------------ BA's blurred spiral arms
@njit(cache=True)
def _spiral_polar(raw, lg, lrt, ex, rn, K, lr0, th0, rot, scale, r_spread, r, phi, arm, i0):
    """lg = log p (r~ = -scale lg), lrt = log r~, ex = exp(-r~/w); raw: arm (two low bits)
    and blur fraction (top bits)."""
    for i in range(r.size):
        w = raw[i]
        k = int(w & _THREE)
        phi[i] = K[k] * (lrt[i] - lr0[k]) + th0[k] + rot + TWO_PI * _open_uniform(w) * ex[i]
        r[i] = -scale * lg[i] * (1.0 + r_spread * rn[i])
        arm[i0 + i] = k


def spiral_positions(rng, n, scale, w, r_spread, z_g, K, r0, th0, rot):
    """x, y, z, arm of ``n`` sources of :class:`~crlib.sources.SpiralArms`.

    r~ ~ Gamma(4, scale); arm uniform in 0..3 (two low bits of a word whose top
    53 bits give the blur fraction u); phi = K ln(r~/r0) + theta0 + rot +
    2 pi u exp(-r~/w); r = r~ (1 + r_spread g), g standard normal (NumPy's
    ``standard_normal``); Laplace heights.  Six words a source, plus the normal.
    """
    x, y, z = np.empty(n), np.empty(n), np.empty(n)
    arm = np.empty(n, dtype=np.int64)
    lr0 = np.log(r0)
    for i0, i1 in _blocks(n):
        nb = i1 - i0
        raw = _raw(rng, 6 * nb)
        lg = np.empty(2 * nb)
        _fill(raw[:4 * nb], 4, nb, lg[:nb])
        _fill(raw[5 * nb:], 0, 0, lg[nb:])
        np.log(lg, out=lg)
        rt = lg[:nb] * -scale
        lrt = np.log(rt)
        ex = np.exp(rt * (-1.0 / w))
        rn = rng.standard_normal(nb)
        r, phi = np.empty(nb), np.empty(nb)
        _spiral_polar(raw[4 * nb:5 * nb], lg, lrt, ex, rn, K, lr0, th0, rot, scale, r_spread,
                      r, phi, arm, i0)
        _polar_to_xy(r, phi, x, y, i0)
        _heights(raw[5 * nb:], lg[nb:], z_g, z, i0)
    return x, y, z, arm


# ------------------------------------------------------------------ SH's moving arms
@njit(cache=True)
def _moving_polar(raw, lg, lr1, t, rn, f_arm, inv_disk, K, lr0, th0, rot, omega, sigma, r_d,
                  r, phi, arm, i0):
    """lg = log p (r' = -r_d lg), lr1 = log r'.

    The top 53 bits of raw[i] give u: u < f_arm puts the source on the arm of
    the two low bits, at theta_k(r') - omega t and radius r' + sigma rn[i];
    otherwise (u - f_arm)/(1 - f_arm), uniform in [0, 1) given u >= f_arm, is
    its azimuth / 2 pi and r' its radius (``arm = -1``).  Branch-free.
    """
    for i in range(r.size):
        w = raw[i]
        u = _open_uniform(w)
        k = np.int64(w & _THREE)
        on = u < f_arm
        r1 = -r_d * lg[i]
        phi_arm = K[k] * (lr1[i] - lr0[k]) + th0[k] + rot - omega * t[i0 + i]
        phi[i] = phi_arm if on else TWO_PI * (u - f_arm) * inv_disk
        r[i] = r1 + sigma * rn[i] if on else r1
        arm[i0 + i] = k if on else -1


def moving_positions(rng, t, f_arm, sigma, omega, r_d, z_g, K, r0, th0, rot):
    """x, y, z, arm of :class:`~crlib.sources.MovingSpiralArms` sources of ages ``t``.

    r' ~ Gamma(2, r_d); with probability f_arm the source is on an arm
    (uniform of four) at theta_k(r') - omega t and radius r' + sigma g, g
    standard normal (NumPy's ``standard_normal``; drawn for every source, used
    by the arm sources); otherwise at r' with a uniform azimuth.  Laplace
    heights.  Four words a source, plus the normal.
    """
    n = t.size
    x, y, z = np.empty(n), np.empty(n), np.empty(n)
    arm = np.empty(n, dtype=np.int64)
    lr0 = np.log(r0)
    inv_disk = 1.0 / (1.0 - f_arm) if f_arm < 1.0 else 0.0
    for i0, i1 in _blocks(n):
        nb = i1 - i0
        raw = _raw(rng, 4 * nb)
        lg = np.empty(2 * nb)
        _fill(raw[:3 * nb], 2, nb, lg)
        np.log(lg, out=lg)
        lr1 = np.log(lg[:nb] * -r_d)
        rn = rng.standard_normal(nb)
        r, phi = np.empty(nb), np.empty(nb)
        _moving_polar(raw[3 * nb:], lg, lr1, t, rn, f_arm, inv_disk, K, lr0, th0, rot, omega,
                      sigma, r_d, r, phi, arm, i0)
        _polar_to_xy(r, phi, x, y, i0)
        _heights(raw[2 * nb:3 * nb], lg[nb:], z_g, z, i0)
    return x, y, z, arm


# ------------------------------------------------------------------ near-Sun region (sample_near)
@njit(cache=True)
def _near_propose(raw, cum, lo, hi, part, r, frac):
    """Piece (by the cumulative envelope fractions ``cum``), latent radius uniform on the
    piece's [lo, hi], and the piece-conditional fraction (uniform in [0, 1)) of each proposal.

    Words: raw[i] chooses the piece (binary search), raw[n + i] the radius.
    """
    n = r.size
    m = cum.size
    step0 = 1
    while step0 < m:
        step0 *= 2
    pad = np.full(step0, 2.0)           # cum padded with values > 1 (never <= u)
    pad[:m] = cum
    for i in range(n):
        u = _open_uniform(raw[i])
        p = 0                           # the number of cum[j] <= u, by branch-free bisection
        step = step0 // 2
        while step > 0:
            p += step * (pad[p + step - 1] <= u)
            step //= 2
        p += pad[p] <= u                # cum[m - 1] = 1 > u, so p <= m - 1
        c0 = cum[p - 1] if p > 0 else 0.0
        part[i] = p
        frac[i] = min((u - c0) / (cum[p] - c0), 1.0 - 1e-16)
        r[i] = lo[p] + (hi[p] - lo[p]) * _open_uniform(raw[n + i])


@njit(cache=True)
def _near_logratio(r, lr, part, lmode, mode, shape, scale, out):
    """log(pdf(r) / pdf(mode_p)) for the Gamma(shape, scale) pdf (<= 0 on the part)."""
    for i in range(r.size):
        p = part[i]
        out[i] = (shape - 1.0) * (lr[i] - lmode[p]) - (r[i] - mode[p]) / scale


_SQRT_HALF = math.sqrt(0.5)


@njit(cache=True)
def _land(r1, a, b, sigma):
    """P(a <= r1 + s <= b), s ~ Normal(0, sigma), from the tail on r1's side (no cancellation)."""
    za = (a - r1) / sigma
    zb = (b - r1) / sigma
    if r1 < a:
        return 0.5 * (math.erfc(za * _SQRT_HALF) - math.erfc(zb * _SQRT_HALF))
    return 0.5 * (math.erfc(-zb * _SQRT_HALF) - math.erfc(-za * _SQRT_HALF))


@njit(cache=True)
def _near_accept(raw, ratio, part, arm_of, kind, pl, r, lr, frac, t, rn, a, b, half, sigma,
                 fast_arms, K, lr0, th0, rot, omega, out_r, out_phi, out_t, out_arm, out_r1, out_s):
    """Thinning: keep proposal i if u_i < ratio_i and, for arm pieces of kind 0,
    a <= r + sigma g_i <= b; for kind 1, if u_i < ratio_i P(land | r) / pl (the offset
    is then left NaN, for the caller to draw from the truncated normal).

    Kept sources are written in order (so their ages stay ascending): radius and
    azimuth (disk: phi = half (2 frac - 1); arm with ``fast_arms``: the
    MovingSpiralArms centroid K ln(r'/r0) + theta0 + rot - omega t; without, a
    placeholder), age, arm, and the latent r' and offset s.  Returns the number
    kept.  Words: raw[i].
    """
    m = 0
    for i in range(r.size):                 # compaction: write at m, advance if kept
        p = part[i]
        k = arm_of[p]
        on = k >= 0
        kk = k if on else 0
        u = _open_uniform(raw[i])
        s = sigma * rn[i] if on else 0.0
        rr = r[i] + s
        keep = (u < ratio[i]) & (((a <= rr) & (rr <= b)) | (not on))
        if kind[p] != 0:                    # outer arm piece (rare)
            s = np.nan
            rr = np.nan
            keep = u < ratio[i] * (_land(r[i], a, b, sigma) / pl[p])
        phi_arm = K[kk] * (lr[i] - lr0[kk]) + th0[kk] + rot - omega * t[i]
        out_phi[m] = phi_arm if on else half * (2.0 * frac[i] - 1.0)
        out_r[m] = rr
        out_s[m] = s
        out_t[m] = t[i]
        out_arm[m] = k
        out_r1[m] = r[i]
        m += keep
    return m


def near_draw(rng, n_prop, T, cum, lo, hi, arm_of, mode, kind, pl, shape, scale, a, b, half,
              sigma, fast_arms, K, r0, th0, rot, omega):
    """Sources inside the near-Sun region S by thinning ``n_prop`` envelope proposals.

    The proposals are a Poisson process in (part, latent radius, age) with
    ascending ages (:func:`sorted_ages`); each is kept with probability
    pdf(r)/pdf(mode_part) and, for arm pieces of kind 0, if r + sigma g lands
    in [a, b] (g standard normal: the joint thinning of (r', s)); for kind 1
    with the extra probability P(land | r) / pl (s left NaN for the caller).  Returns radius,
    azimuth, age, arm, latent r' and offset s of the kept sources, ages
    ascending (azimuths of arm sources only with ``fast_arms``).
    """
    t = sorted_ages(rng, n_prop, 0.0, T)
    raw = _raw(rng, 3 * n_prop)
    part = np.empty(n_prop, dtype=np.int64)
    r, frac = np.empty(n_prop), np.empty(n_prop)
    _near_propose(raw[:2 * n_prop], cum, lo, hi, part, r, frac)
    lr = np.log(r)
    ratio = np.empty(n_prop)
    _near_logratio(r, lr, part, np.log(mode), mode, shape, scale, ratio)
    np.exp(ratio, out=ratio)
    rn = rng.standard_normal(n_prop) if sigma > 0 else np.zeros(n_prop)
    out = [np.empty(n_prop) for _ in range(3)] + [np.empty(n_prop, dtype=np.int64)] + \
        [np.empty(n_prop) for _ in range(2)]
    m = _near_accept(raw[2 * n_prop:], ratio, part, arm_of, kind, pl, r, lr, frac, t, rn, a, b,
                     half, sigma, fast_arms, K, np.log(r0), th0, rot, omega, *out)
    return tuple(q[:m] for q in out)       # views: the caller copies what it keeps


def xy_heights(rng, r, phi, z_g):
    """x, y = r (cos phi, sin phi) and Laplace(z_g) heights (one word each) for arrays r, phi."""
    n = r.size
    x, y = np.empty(n), np.empty(n)
    _polar_to_xy(r, phi, x, y, 0)
    return x, y, laplace(rng, z_g, n)


def laplace(rng, z_g, n):
    """``n`` Laplace(0, z_g) draws: a random sign (lowest bit) times z_g (-log u) (top 53 bits)."""
    raw = _raw(rng, n)
    z = np.empty(n)
    _fill(raw, 0, 0, z)
    np.log(z, out=z)
    _heights(raw, z, z_g, z, 0)
    return z


@njit(cache=True)
def split_near(x, y, z, t, arm, x0, radius):
    """Split sources into those with (x - x0)^2 + y^2 < radius^2 and the others, keeping order.

    Returns (x, y, z, t, arm) of the close sources, then of the others (fresh arrays).
    """
    n = x.size
    close = np.empty(n, dtype=np.bool_)
    nc = 0
    r2 = radius * radius
    for i in range(n):
        c = (x[i] - x0) ** 2 + y[i] ** 2 < r2
        close[i] = c
        nc += c
    xa, ya, za, ta, aa = np.empty(nc), np.empty(nc), np.empty(nc), np.empty(nc), np.empty(nc, np.int64)
    nf = n - nc
    xb, yb, zb, tb, ab = np.empty(nf), np.empty(nf), np.empty(nf), np.empty(nf), np.empty(nf, np.int64)
    j = 0
    k = 0
    for i in range(n):
        if close[i]:
            xa[j], ya[j], za[j], ta[j], aa[j] = x[i], y[i], z[i], t[i], arm[i]
            j += 1
        else:
            xb[k], yb[k], zb[k], tb[k], ab[k] = x[i], y[i], z[i], t[i], arm[i]
            k += 1
    return xa, ya, za, ta, aa, xb, yb, zb, tb, ab
