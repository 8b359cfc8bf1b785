"""Compiled and closed-form pieces behind the source densities (numba, scipy).

* :func:`_spiral_kernel` -- surface density of BA's blurred spiral arms by
  Gauss-Legendre panels over the arcs of ln r~ (see its docstring);
* :func:`_moving_kernel` -- arm part of the moving-arm density in closed form (erf);
* :func:`conv_pdf`, :func:`conv_cdf` -- law of r' + s, r' ~ Gamma(2), s Gaussian;
* :data:`GH_X`, :data:`GH_W` -- 100-node Gauss-Hermite rule for the radial blur.
"""

import math

import numpy as np
from numba import njit
from scipy import stats

__all__ = ["GH_X", "GH_W", "GL8_X", "GL8_W", "conv_pdf", "conv_cdf", "gamma_pdf"]

TWO_PI = 2.0 * math.pi

GH_X, GH_W = np.polynomial.hermite_e.hermegauss(100)
GH_W = GH_W / math.sqrt(TWO_PI)         # E over a standard normal
GL8_X, GL8_W = np.polynomial.legendre.leggauss(8)


def gamma_pdf(r, shape, scale):
    """Gamma(shape, scale) pdf written out (cheaper than scipy for scalars and small arrays)."""
    return r ** (shape - 1.0) * np.exp(-r / scale) / (math.gamma(shape) * scale ** shape)


def conv_pdf(y, rd, sd):
    """Density of r' + s at y: r' ~ Gamma(2, rd), s ~ Normal(0, sd) (closed form)."""
    mu = sd * sd / rd
    m = y - mu
    pre = np.exp(-y / rd + 0.5 * mu / rd) / rd ** 2
    return pre * (m * stats.norm.cdf(m / sd) + sd * stats.norm.pdf(m / sd))


def conv_cdf(y, rd, sd):
    """P(r' + s <= y) for r' ~ Gamma(2, rd), s ~ Normal(0, sd) (closed form)."""
    mu = sd * sd / rd
    zm = (y - mu) / sd
    with np.errstate(over="ignore", invalid="ignore"):
        pre = np.exp(-y / rd + 0.5 * mu / rd)
        tail = pre * ((1.0 + (y - mu) / rd) * stats.norm.cdf(zm) + sd / rd * stats.norm.pdf(zm))
    return stats.norm.cdf(y / sd) - np.where(np.isfinite(tail), tail, 0.0)


@njit(cache=True)
def _arc_width(u_hi, K, w):
    """Width delta of one arc piece in u = ln r~: the root of K delta = L(u_hi - delta).

    L(u) = 2 pi exp(-e^u / w) is the arc length.  h(delta) = K delta - L(u_hi - delta)
    increases (h' = K - L e^u / w >= K - 2 pi / e > 0 since K > 4), h(L(u_hi)/K) <= 0
    and h(2 pi / K) >= 0, so a safeguarded Newton iteration from the lower end
    converges; delta is found with full *relative* precision even when it is far
    below the spacing of doubles near u_hi (thin arcs, r~ >> w).  Returns 0 when
    L(u_hi) underflows.
    """
    lo = TWO_PI * math.exp(-math.exp(u_hi) / w) / K
    if lo == 0.0:
        return 0.0
    hi = TWO_PI / K
    d = lo
    for _ in range(200):
        e = math.exp(u_hi - d)
        Ld = TWO_PI * math.exp(-e / w)
        f = K * d - Ld
        if f > 0.0:
            hi = d
        else:
            lo = d
        dn = d - f / (K - Ld * e / w)
        if not (lo <= dn <= hi):
            dn = 0.5 * (lo + hi)
        if abs(dn - d) <= 1e-15 * dn:
            return dn
        d = dn
    return d


@njit(cache=True)
def _arc_piece(r, u_hi, d_lo, d_hi, delta, K, scale, w, b, gl_x, gl_w):
    """Integral over u = u_hi - d, d in [d_lo, d_hi] of p4(r~) N(r; r~, b r~) r~ / L(r~).

    1 / L(u) is written as exp((e^u - e^(u_hi - delta)) / w) / (K delta), which stays
    finite for thin arcs; the factor (d_hi - d_lo) / delta multiplies a bounded mean.
    """
    norm4 = 1.0 / (6.0 * scale ** 4)
    inv_s2pi = 1.0 / math.sqrt(TWO_PI)
    eu = math.exp(u_hi)
    em_delta = math.expm1(-delta)
    npan = int(math.ceil((d_hi - d_lo) / (2.0 * b)))
    hp = (d_hi - d_lo) / npan
    acc = 0.0
    for p in range(npan):
        mid = d_lo + (p + 0.5) * hp
        for j in range(gl_x.size):
            d = mid + 0.5 * hp * gl_x[j]
            rt = eu * math.exp(-d)
            s = (r / rt - 1.0) / b
            grow = math.exp(eu * (math.expm1(-d) - em_delta) / w)
            val = norm4 * rt ** 3 * math.exp(-rt / scale) * inv_s2pi * math.exp(-0.5 * s * s) / b
            acc += 0.5 * gl_w[j] * val * grow
    return acc * (hp / (K * delta))


@njit(cache=True)
def _spiral_kernel(rho, phi, K, r0, th0, rot, scale, w, b, gl_x, gl_w):
    """Surface density (normalised to 1) of the SpiralArms model at polar points.

    For arm k the joint density of (r, phi) is an integral over u = ln r~ of
    p4(r~) N(r; r~, b r~) r~ / L(r~) / 4, L = 2 pi exp(-r~/w), over the u where
    phi lies on the arc [theta_k(r~), theta_k(r~) + L) (mod 2 pi).  With
    c = phi - theta0 - rot + K ln r0 that set is the union over integers m of
    (u_hi(m) - delta(m), u_hi(m)], u_hi = (c - 2 pi m)/K and delta from
    :func:`_arc_width`.  Each piece, clipped to the u where the radial Gaussian
    is above 8.5 sigma, is integrated with 8-point Gauss-Legendre panels of
    width <= 2b (:func:`_arc_piece`).  A piece too thin to resolve (L(u_hi)
    underflows) is a point mass at u_hi of weight p4 N r~ / K.
    """
    n = rho.size
    out = np.zeros(n)
    norm4 = 1.0 / (6.0 * scale ** 4)
    inv_s2pi = 1.0 / math.sqrt(TWO_PI)
    smax = 8.5
    for i in range(n):
        r = rho[i]
        if r <= 0.0:
            continue
        lr = math.log(r)
        U0 = lr - math.log(1.0 + b * smax)
        U1 = lr - math.log(1.0 - b * smax)
        acc = 0.0
        for k in range(K.size):
            Kk = K[k]
            c = phi[i] - th0[k] - rot + Kk * math.log(r0[k])
            m_hi = int(math.floor((c - Kk * U0) / TWO_PI))
            m_lo = int(math.floor((c - Kk * U1) / TWO_PI)) - 1
            for m in range(m_lo, m_hi + 1):
                u_hi = (c - TWO_PI * m) / Kk
                if u_hi <= U0:
                    continue
                delta = _arc_width(u_hi, Kk, w)
                if delta == 0.0:
                    if u_hi <= U1:
                        rt = math.exp(u_hi)
                        s = (r / rt - 1.0) / b
                        acc += 0.25 * (norm4 * rt ** 3 * math.exp(-rt / scale) * inv_s2pi
                                       * math.exp(-0.5 * s * s) / b) / Kk
                    continue
                d_lo = max(0.0, u_hi - U1)
                d_hi = min(delta, u_hi - U0)
                if d_hi <= d_lo:
                    continue
                acc += 0.25 * _arc_piece(r, u_hi, d_lo, d_hi, delta, Kk, scale, w, b, gl_x, gl_w)
        out[i] = acc / r
    return out


@njit(cache=True)
def _ndiff(za, zb):
    """Phi(zb) - Phi(za) for za <= zb without cancellation in the tails."""
    s = 1.0 / math.sqrt(2.0)
    if za > 0.0:
        return 0.5 * (math.erfc(za * s) - math.erfc(zb * s))
    return 0.5 * (math.erfc(-zb * s) - math.erfc(-za * s))


@njit(cache=True)
def _gamma2_gauss(a, b, y, rd, sd):
    """Integral over r' in [a, b] (0 <= a < b) of r' e^{-r'/rd}/rd^2 * N(r'; y, sd)."""
    mu = sd * sd / rd
    m = y - mu
    za = (a - m) / sd
    zb = (b - m) / sd
    g = 1.0 / math.sqrt(2.0 * math.pi)
    pre = math.exp(-y / rd + 0.5 * mu / rd) / (rd * rd)
    return pre * (m * _ndiff(za, zb) + sd * g * (math.exp(-0.5 * za * za) - math.exp(-0.5 * zb * zb)))


@njit(cache=True)
def _moving_kernel(rho, phi, K, r0, th0, rot, rd, sd, a_lo, a_hi):
    """Arm part of MovingSpiralArms (normalised to 1), pattern angle uniform in [a_lo, a_hi].

    A source on arm k with centroid radius r' sits at azimuth
    theta_k(r') + alpha and radius r' + s.  For a window of pattern angles
    the change of variable alpha -> r' (d alpha = K dr'/r') turns the average
    into integrals of p(r') N(r; r', sd) over the r'-intervals
    [r0 exp((phi - theta0 - rot - a_hi + 2 pi m)/K), same with a_lo], done in
    closed form (_gamma2_gauss).  For a_lo == a_hi (one age) the density is
    the sum over windings m of p(r'_m) (r'_m / K) N(r; r'_m, sd).
    Negative radii r' + s < 0 land at azimuth + pi (the ``mirror`` pass).
    """
    n = rho.size
    out = np.zeros(n)
    span = a_hi - a_lo
    g = 1.0 / math.sqrt(2.0 * math.pi)
    for i in range(n):
        acc = 0.0
        for mirror in range(2):
            y = rho[i] if mirror == 0 else -rho[i]
            ph = phi[i] if mirror == 0 else phi[i] + math.pi
            band_lo = max(y - sd * sd / rd - 10.0 * sd, 1e-7)
            band_hi = y - sd * sd / rd + 10.0 * sd
            if band_hi <= band_lo:
                continue
            for k in range(K.size):
                Kk = K[k]
                base = ph - th0[k] - rot
                if span <= 0.0:
                    e = base - a_lo
                    m0 = int(math.ceil((Kk * math.log(band_lo / r0[k]) - e) / (2.0 * math.pi)))
                    m1 = int(math.floor((Kk * math.log(band_hi / r0[k]) - e) / (2.0 * math.pi)))
                    for m in range(m0, m1 + 1):
                        rp = r0[k] * math.exp((e + 2.0 * math.pi * m) / Kk)
                        z = (y - rp) / sd
                        acc += (0.25 * rp * math.exp(-rp / rd) / (rd * rd) * rp / Kk
                                * g * math.exp(-0.5 * z * z) / sd)
                else:
                    e_hi = base - a_lo      # larger exponent -> upper end b_m
                    e_lo = base - a_hi
                    m0 = int(math.ceil((Kk * math.log(band_lo / r0[k]) - e_hi) / (2.0 * math.pi)))
                    m1 = int(math.floor((Kk * math.log(band_hi / r0[k]) - e_lo) / (2.0 * math.pi)))
                    for m in range(m0, m1 + 1):
                        a = r0[k] * math.exp((e_lo + 2.0 * math.pi * m) / Kk)
                        b = r0[k] * math.exp((e_hi + 2.0 * math.pi * m) / Kk)
                        a = max(a, band_lo)
                        b = min(b, band_hi)
                        if b > a:
                            acc += 0.25 * _gamma2_gauss(a, b, y, rd, sd) / span
        out[i] = acc / max(rho[i], 1e-300)
    return out
