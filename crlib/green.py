r"""Green function of a cosmic-ray burst in a slab halo, and the many-source kernel.

A burst of one particle at ``(x_s, y_s, z_s)`` diffuses with a spatially
constant coefficient ``D`` inside the halo ``|z| < H``; the density vanishes at
``z = +-H`` (free escape), the radial extent is infinite and spallation removes
particles at the rate ``gamma`` (MODEL.md section 3, BA eq. 2.3-2.4)::

    G = exp(-gamma tau) exp(-rho^2 / 4 D tau) / (4 pi D tau) * G_z(z, z_s, tau)

in particles per kpc^3 per injected particle, ``tau`` the age in Myr, ``D`` in
kpc^2/Myr.  The vertical factor has two exact forms (Carslaw & Jaeger 1959):

* images, ``G_z = (4 pi D tau)^(-1/2) sum_n (-1)^n exp(-(z - z_n)^2 / 4 D tau)``,
  ``z_n = (-1)^n z_s + 2 n H``;
* eigenmodes, ``G_z = (1/H) sum_{k>=1} sin(k a) sin(k b) q^(k^2)``,
  ``a = pi (z + H) / 2H``, ``b = pi (z_s + H) / 2H``, ``q = exp(-pi^2 D tau / 4 H^2)``.

Truncation rules (``scheme="auto"``), with ``u = D tau / H^2``
------------------------------------------------------------------
*Images* are used for ``u < 0.2``.  For ``|n| = m + 1`` (``m >= 0``) the image
distance obeys ``|z - z_n| >= 2 m H`` because ``|z|, |z_s| < H``, so the
images beyond ``|n| = N`` contribute at most
``2 sum_{m>=N} exp(-m^2 / u)`` in units of ``(4 pi D tau)^(-1/2)``.  The
derivative terms carry ``|z - z_n| / (2 D tau) <= (m + 2) / sqrt(u D tau)``,
so with the weight ``w_m = 1 + (m + 2)/sqrt(u)`` (successive weights grow by at
most 4/3) the kernel keeps the smallest ``N >= 1`` with::

    2 w_N exp(-N^2/u) / (1 - (4/3) exp(-(2N+1)/u)) <= tol.

The absolute error of ``G_z`` is then below ``tol (4 pi D tau)^(-1/2)`` (the
free-space peak, an upper bound of ``G_z``) and that of ``dG_z/dz`` below
``tol (4 pi D tau)^(-1/2) / sqrt(D tau)``.

*Eigenmodes* are used for ``u >= 0.2``.  With ``|sin| <= 1`` the modes beyond
``K`` contribute at most ``(1/H) sum_{k>K} q^(k^2)`` to ``G_z`` and
``(pi / 2H^2) sum_{k>K} k q^(k^2)`` to ``dG_z/dz``.  Relative to the size of
the fundamental mode (``q/H`` and ``pi q / 2H^2``) both are bounded by
``sum_{k>K} k q^(k^2 - 1) <= (K+1) q^((K+1)^2 - 1) / (1 - 2 q^(2K+3))``; the
kernel adds modes until this bound is ``<= tol``.  In particular a single mode
suffices once ``u >= u1 = 4 (ln(2/tol) + 1) / (3 pi^2)`` (3.3 for tol = 1e-10),
which is the common case; then the kernel evaluates exactly one exponential
per (source, channel) pair.  At ``u = 0.2`` seven modes are needed (tol = 1e-10); the many-source kernel evaluates them vectorised.

So in both regimes the error is ``tol`` times the natural size of the vertical
factor; for an observer and a source near the mid-plane this is ``tol`` relative
to ``G`` itself (near the absorbing boundaries ``G -> 0`` and the error is
relative to the scale, not pointwise).

*Underflow*: when ``-rho^2/(4 D tau) - gamma tau < -746`` the exponential is exactly
0.0 in double precision and every term of either series is multiplied by it, so
the pair is skipped without changing the result by a single bit.

*Vectorised path of* :func:`observe`: for ``u >= 0.2`` the kernel evaluates the
eigenmode series with a branch-free exponential (Cody-Waite reduction and a
degree-13 Taylor polynomial, a few ulp) so that LLVM vectorises it; exponents
below -600 are set to zero there (each such term is below
``e^-600 / (4 pi D tau H) < 1e-260`` per kpc^3, which keeps every product away
from slow subnormal arithmetic).  Results agree with :func:`slab_green` to
about 1e-14 relative.

``scheme="sh"`` reproduces the small-halo paper's fixed scheme (SH eq. 6):
images for ``tau < (f H)^2 / D`` with ``f = 0.2``, eigenmodes otherwise, always
``imax = 5`` (eigenmodes ``k = 1..5``; images ``|n| <= 5``, our reading of the
garbled source text).  Just above the switch (``u = 0.04``, ``q = 0.906``) five
modes are not converged: errors reach several per cent off the mid-plane
(tested).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from . import _validate as V
from .galaxy import OBSERVER

__all__ = [
    "slab_green", "slab_green_gradient", "green_images", "green_eigen",
    "observe", "far_bound", "terms_needed", "U_SWITCH", "single_mode_u", "mode_thresholds",
]

#: Dimensionless time ``D tau / H^2`` at which ``scheme="auto"`` switches from images to eigenmodes.
U_SWITCH = 0.2
#: exp(x) is exactly 0.0 in IEEE double for x below this.
_EXP_ZERO = -746.0
_SH_F = 0.2
_SH_IMAX = 5

MODE_AUTO, MODE_IMAGES, MODE_EIGEN, MODE_SH = 0, 1, 2, 3
_SCHEMES = {"auto": MODE_AUTO, "images": MODE_IMAGES, "eigen": MODE_EIGEN, "sh": MODE_SH}


def single_mode_u(tol):
    """Dimensionless age above which one eigenmode of the slab series meets ``tol``.

    From the tail bound of the eigenmode form (MODEL.md section 3; module
    docstring): with ``q = exp(-pi^2 u / 4)`` the neglected modes are below
    ``2 q^3 / (1 - 2 q^5)`` relative to the fundamental, which is ``<= tol`` for

        u >= u1 = 4 (ln(2/tol) + 1) / (3 pi^2)      (3.34 for tol = 1e-10).

    Parameters
    ----------
    tol : float
        Relative tolerance in (0, 1).

    Returns
    -------
    float
        ``u1`` (dimensionless, ``u = D tau / H^2``).
    """
    return 4.0 * (math.log(2.0 / tol) + 1.0) / (3.0 * math.pi ** 2)


# ----------------------------------------------------------------------------
# term counts (a-priori bounds)
# ----------------------------------------------------------------------------
@njit(cache=True)
def _n_images(u, tol):
    N = 1
    while True:
        w = 1.0 + (N + 2.0) / math.sqrt(u)
        r = (4.0 / 3.0) * math.exp(-(2.0 * N + 1.0) / u)
        if r < 1.0 and 2.0 * w * math.exp(-N * N / u) <= tol * (1.0 - r):
            return N
        N += 1
        if N > 100000:
            return N


@njit(cache=True)
def _n_modes(u, tol):
    q = math.exp(-0.25 * math.pi ** 2 * u)
    K = 1
    while True:
        r = 2.0 * q ** (2 * K + 3)
        if r < 1.0 and (K + 1.0) * q ** ((K + 1) ** 2 - 1) <= tol * (1.0 - r):
            return K
        K += 1
        if K > 100000:
            return K


def terms_needed(u, tol=1e-10, form="auto"):
    """Number of terms the a-priori truncation bounds ask for (MODEL.md section 3).

    Parameters
    ----------
    u : float or array
        Dimensionless age ``D tau / H^2`` (> 0).
    tol : float
        Relative tolerance in (0, 1), in the sense of the module docstring.
    form : {"auto", "images", "eigen"}
        ``"images"``: number of images ``2N + 1`` of BA eq. 2.4; ``"eigen"``: number
        of eigenmodes ``K``; ``"auto"``: whichever the default scheme uses at ``u``
        (images below :data:`U_SWITCH`).

    Returns
    -------
    int or array of int
    """
    tol = V.tolerance("tol", tol)
    u = np.asarray(V.positive("u", u), dtype=float)
    out = np.empty(u.shape, dtype=np.int64)
    for idx, val in np.ndenumerate(u):
        if form == "images" or (form == "auto" and val < U_SWITCH):
            out[idx] = 2 * _n_images(val, tol) + 1
        elif form in ("eigen", "auto"):
            out[idx] = _n_modes(val, tol)
        else:
            raise ValueError(f"form must be 'auto', 'images' or 'eigen', got {form!r}")
    return int(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------
# per-source geometry, independent of D
# ----------------------------------------------------------------------------
@njit(cache=True)
def _trig(z, zs, H):
    """sin a sin b, cos a sin b and the Chebyshev seeds for theta1 = a-b, theta2 = a+b."""
    a = 0.5 * math.pi * (z + H) / H
    b = 0.5 * math.pi * (zs + H) / H
    t1 = a - b
    t2 = a + b
    return (math.sin(a) * math.sin(b), math.cos(a) * math.sin(b),
            math.cos(t1), math.sin(t1), math.cos(t2), math.sin(t2))


@njit(cache=True)
def _pair(dx, dy, z, zs, tau, D, H, gamma, tol, mode, nterms,
          s1, d1, ct1, st1, ct2, st2, out):
    """Density and gradient of one (source, channel) pair; adds into out[0:4].

    dx, dy: observer minus source.  Returns nothing; ``out`` is accumulated.
    """
    invtau = 1.0 / tau
    inv4Dt = 0.25 / D * invtau
    h = -(dx * dx + dy * dy) * inv4Dt - gamma * tau
    if h < _EXP_ZERO:
        return
    u = D * tau / (H * H)
    if mode == MODE_AUTO:
        use_images = u < U_SWITCH
    elif mode == MODE_IMAGES:
        use_images = True
    elif mode == MODE_EIGEN:
        use_images = False
    else:
        use_images = u < _SH_F * _SH_F
    gfac = -2.0 * inv4Dt  # d/dx of the horizontal Gaussian: -(x - xs)/(2 D tau)
    if use_images:
        if mode == MODE_AUTO:
            N = _n_images(u, tol)
        elif mode == MODE_SH:
            N = _SH_IMAX
        else:
            N = nterms
        pref = (0.25 / (math.pi * D) * invtau) ** 1.5
        g = 0.0
        gz = 0.0
        for n in range(-N, N + 1):
            if n % 2 == 0:
                zn = zs + 2.0 * n * H
                sgn = 1.0
            else:
                zn = -zs + 2.0 * n * H
                sgn = -1.0
            dz = z - zn
            e = sgn * math.exp(h - dz * dz * inv4Dt)
            g += e
            gz += dz * e
        g *= pref
        gz *= pref * gfac
    else:
        lam = 0.25 * math.pi ** 2 * u
        pref = 0.25 / (math.pi * D * H) * invtau
        if mode == MODE_AUTO and u >= single_mode_u_nb(tol):
            e = pref * math.exp(h - lam)
            g = e * s1
            gz = e * (0.5 * math.pi / H) * d1
        else:
            if mode == MODE_SH:
                K = _SH_IMAX
            elif mode == MODE_EIGEN:
                K = nterms
            else:
                K = 0  # adaptive
            q = math.exp(-lam)
            q2 = q * q
            e = pref * math.exp(h - lam)
            # Chebyshev recurrences for cos/sin of k*theta1 and k*theta2
            c1p, c1 = 1.0, ct1
            s1p, s1c = 0.0, st1
            c2p, c2 = 1.0, ct2
            s2p, s2c = 0.0, st2
            p = 1.0          # q^(k^2 - 1)
            qodd = q * q2    # q^(2k + 1)
            sg = 0.0
            sz = 0.0
            k = 1
            while True:
                sg += p * 0.5 * (c1 - c2)
                sz += p * k * 0.5 * (s2c - s1c)
                p *= qodd
                if K > 0:
                    if k >= K:
                        break
                else:
                    r = 2.0 * qodd * q2
                    if r < 1.0 and (k + 1.0) * p <= tol * (1.0 - r):
                        break
                qodd *= q2
                tc = 2.0 * ct1 * c1 - c1p
                c1p, c1 = c1, tc
                ts = 2.0 * ct1 * s1c - s1p
                s1p, s1c = s1c, ts
                tc = 2.0 * ct2 * c2 - c2p
                c2p, c2 = c2, tc
                ts = 2.0 * ct2 * s2c - s2p
                s2p, s2c = s2c, ts
                k += 1
                if p == 0.0:
                    break
            g = e * sg
            gz = e * (0.5 * math.pi / H) * sz
    out[0] += g
    out[1] += gfac * dx * g
    out[2] += gfac * dy * g
    out[3] += gz


@njit(cache=True)
def single_mode_u_nb(tol):
    return 4.0 * (math.log(2.0 / tol) + 1.0) / (3.0 * math.pi ** 2)


@njit(cache=True)
def _green_flat(x, y, z, xs, ys, zs, tau, D, H, gamma, tol, mode, nterms, out):
    acc = np.zeros(4)
    for i in range(x.size):
        s1, d1, ct1, st1, ct2, st2 = _trig(z[i], zs[i], H[i])
        acc[:] = 0.0
        _pair(x[i] - xs[i], y[i] - ys[i], z[i], zs[i], tau[i], D[i], H[i], gamma[i],
              tol, mode, nterms, s1, d1, ct1, st1, ct2, st2, acc)
        out[i, 0] = acc[0]
        out[i, 1] = acc[1]
        out[i, 2] = acc[2]
        out[i, 3] = acc[3]


def _scheme_code(scheme):
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(_SCHEMES)}, got {scheme!r}")
    return _SCHEMES[scheme]


def _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, tol, scheme, nterms):
    mode = _scheme_code(scheme)
    tol = V.tolerance("tol", tol)
    if mode in (MODE_IMAGES, MODE_EIGEN):
        nterms = V.positive_int("nterms", nterms)
    else:
        nterms = 0
    arrs = {k: V.as_float_array(k, v) for k, v in
            dict(x=x, y=y, z=z, xs=xs, ys=ys, zs=zs, tau=tau, D=D, H=H, gamma=gamma).items()}
    V.positive("tau", arrs["tau"])
    V.positive("D", arrs["D"])
    V.positive("H", arrs["H"])
    V.non_negative("gamma", arrs["gamma"])
    try:
        b = np.broadcast_arrays(*arrs.values())
    except ValueError as exc:
        raise ValueError(f"arguments do not broadcast: {exc}") from exc
    b = dict(zip(arrs.keys(), b))
    if np.any(np.abs(b["zs"]) >= b["H"]):
        raise ValueError("zs must satisfy |zs| < H (source inside the halo)")
    if np.any(np.abs(b["z"]) > b["H"]):
        raise ValueError("z must satisfy |z| <= H (observer inside the halo)")
    shape = b["x"].shape
    flat = [np.ascontiguousarray(v, dtype=np.float64).reshape(-1) for v in b.values()]
    out = np.empty((flat[0].size, 4))
    _green_flat(*flat, tol, mode, nterms, out)
    return out.reshape(shape + (4,))


def slab_green(x, y, z, xs, ys, zs, tau, D, H, gamma=0.0, tol=1e-10, scheme="auto", nterms=None):
    """Density at ``(x, y, z)`` from a burst at ``(xs, ys, zs)`` a time ``tau`` ago (BA eq. 2.4).

    All arguments broadcast.  Positions in kpc, ``tau`` in Myr, ``D`` in
    kpc^2/Myr, ``H`` (halo half-height) in kpc, ``gamma`` (spallation rate) in
    1/Myr.  Returns particles per kpc^3 per injected particle.

    Parameters
    ----------
    x, y, z : float or array
        Observer position, kpc (``|z| <= H``).
    xs, ys, zs : float or array
        Source position, kpc (``|zs| < H``).
    tau : float or array
        Time since the burst, Myr (> 0).
    D : float or array
        Diffusion coefficient, kpc^2/Myr (> 0).
    H : float or array
        Halo half-height, kpc (> 0).
    gamma : float or array
        Spallation rate, 1/Myr (>= 0); the result carries ``exp(-gamma tau)``.
    tol : float
        Relative tolerance of the series truncation (see the module docstring
        for exactly what it is relative to).
    scheme : {"auto", "sh", "images", "eigen"}
        ``"auto"``: form and number of terms from ``tol``; ``"sh"``: the small-halo
        paper's fixed scheme (SH eq. 6); ``"images"`` / ``"eigen"``: that form with
        ``nterms`` terms (images ``|n| <= nterms``; modes ``k = 1..nterms``).
    nterms : int, optional
        Number of terms for ``scheme="images"`` or ``"eigen"``.

    Returns
    -------
    array or float
        ``G`` in particles per kpc^3 per injected particle, with the broadcast
        shape of the arguments.
    """
    return _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, tol, scheme, nterms)[..., 0]


def slab_green_gradient(x, y, z, xs, ys, zs, tau, D, H, gamma=0.0, tol=1e-10, scheme="auto",
                        nterms=None):
    """Gradient of :func:`slab_green` with respect to the observer position ``(x, y, z)``.

    Analytic (MODEL.md section 3): ``dG/dx = -(x - xs) / (2 D tau) G`` (likewise
    y); ``dG/dz`` from differentiating the vertical series of BA eq. 2.4 (or its
    eigenmode form) term by term, with the same truncation rule.

    Parameters
    ----------
    Same as :func:`slab_green`.

    Returns
    -------
    array
        Shape ``broadcast shape + (3,)``: the components ``(dG/dx, dG/dy, dG/dz)``
        along the last axis, in particles per kpc^4 per injected particle.
    """
    return _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, tol, scheme, nterms)[..., 1:]


def green_images(x, y, z, xs, ys, zs, tau, D, H, gamma=0.0, n_images=5, gradient=False):
    """Image-series Green function (BA eq. 2.4) with images ``|n| <= n_images``, no adaptivity.

    Arguments and units as in :func:`slab_green`.  Returns the density
    (kpc^-3 per injected particle) or, with ``gradient=True``, ``(density,
    gradient)`` with the gradient's components on a last axis of length 3 (kpc^-4).
    """
    r = _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, 0.5, "images", n_images)
    return (r[..., 0], r[..., 1:]) if gradient else r[..., 0]


def green_eigen(x, y, z, xs, ys, zs, tau, D, H, gamma=0.0, n_modes=10, gradient=False):
    """Eigenmode-series Green function (MODEL.md section 3) with modes ``k = 1..n_modes``.

    No adaptivity.  Arguments and units as in :func:`slab_green`.  Returns the
    density (kpc^-3 per injected particle) or, with ``gradient=True``,
    ``(density, gradient)`` with the gradient's components on a last axis of
    length 3 (kpc^-4).
    """
    r = _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, 0.5, "eigen", n_modes)
    return (r[..., 0], r[..., 1:]) if gradient else r[..., 0]


# ----------------------------------------------------------------------------
# the many-source kernel
# ----------------------------------------------------------------------------
@njit(cache=True)
def _skip_bound(tau, D, H, gamma):
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


# --- a vectorisable exp for the single-mode fast path --------------------------
_MAGIC = 6755399441055744.0          # 1.5 * 2^52: adding it rounds to an integer
_MAGIC_BITS = 0x4338000000000000      # its bit pattern
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238          # ln 2 split in two (Cody-Waite)
_LN2_LO = 1.9082149292705877e-10
_EXP_MIN = -600.0                     # below: term set to 0 (keeps products clear of slow subnormals)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _fast_pass(t, invt, rho2, dj, c4, lam, pbuf, kbuf, itbuf):
    """Exponent, range reduction and Taylor polynomial (degree 13, |r| <= ln2/2,
    truncation error < 5e-18 relative) for a slice of sources, branch-free so
    that LLVM vectorises it.  The power of two is assembled from kbuf afterwards
    (:func:`_scale_pass`).  Arguments are slices, indexed from 0 (no wraparound)."""
    n = t.size
    for m in range(n):
        if dj == 0.0:
            it = invt[m]
            tau = t[m]
        else:
            tau = t[m] - dj
            it = 1.0 / tau
        x = -rho2[m] * c4 * it - lam * tau
        keep = 1.0 if x > _EXP_MIN else 0.0
        x = x if x > _EXP_MIN else _EXP_MIN
        kf = x * _LOG2E + _MAGIC
        kd = kf - _MAGIC
        r = x - kd * _LN2_HI - kd * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        pbuf[m] = p * it * keep
        kbuf[m] = kf
        itbuf[m] = it


@njit(cache=True, error_model="numpy")
def _scale_pass(n, kbuf):
    kb = kbuf.view(np.int64)
    for m in range(n):
        kb[m] = (kb[m] - _MAGIC_BITS + 1023) << 52


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _fast_sum(pbuf, sc, itbuf, dx, dy, s1, d1, acc):
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    for m in range(dx.size):
        e = pbuf[m] * sc[m]
        g = e * s1[m]
        a0 += g
        h = g * itbuf[m]
        a1 += dx[m] * h
        a2 += dy[m] * h
        a3 += e * d1[m]
    acc[0] += a0
    acc[1] += a1
    acc[2] += a2
    acc[3] += a3


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _modes_pass(q, ct1, st1, ct2, st2, s1, d1, K, Sg, Sz, P, QO, C1p, C1, S1p, S1,
                C2p, C2, S2p, S2):
    """Sums of the first K eigenmodes, vectorised over sources (k outer, sources inner).

    Sg = sum_k q^(k^2-1) sin(ka) sin(kb),  Sz = sum_k k q^(k^2-1) cos(ka) sin(kb), with
    sin(ka) sin(kb) = (cos k th1 - cos k th2)/2, cos(ka) sin(kb) = (sin k th2 - sin k th1)/2
    advanced by Chebyshev recurrences (th1 = a - b, th2 = a + b)."""
    n = q.size
    for m in range(n):
        Sg[m] = s1[m]
        Sz[m] = d1[m]
        P[m] = 1.0
        QO[m] = q[m] * q[m] * q[m]
        C1p[m] = 1.0
        C1[m] = ct1[m]
        S1p[m] = 0.0
        S1[m] = st1[m]
        C2p[m] = 1.0
        C2[m] = ct2[m]
        S2p[m] = 0.0
        S2[m] = st2[m]
    for k in range(2, K + 1):
        for m in range(n):
            q2 = q[m] * q[m]
            pk = P[m] * QO[m]
            P[m] = pk
            QO[m] = QO[m] * q2
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
            Sg[m] += pk * 0.5 * (c1 - c2)
            Sz[m] += pk * (0.5 * k) * (s2 - s1_)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _qpass(t, dj, lamv, qbuf, kbuf):
    """q = exp(-lamv * tau) with the same vectorisable exp as _fast_pass."""
    for m in range(t.size):
        x = -lamv * (t[m] - dj)
        keep = 1.0 if x > _EXP_MIN else 0.0
        x = x if x > _EXP_MIN else _EXP_MIN
        kf = x * _LOG2E + _MAGIC
        kd = kf - _MAGIC
        r = x - kd * _LN2_HI - kd * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        qbuf[m] = p * keep
        kbuf[m] = kf


@njit(cache=True, error_model="numpy")
def _mul_pass(n, a, b):
    for m in range(n):
        a[m] *= b[m]


@njit(cache=True, parallel=True)
def _blocks(b0, b1, block, t, invt, rho2, dx, dy, z, zs, s1, d1, ct1, st1, ct2, st2,
            D, gamma, delay, H, tol, mode, ibound, cut, part):
    """Partial sums per (block, channel).  ibound[j, K-1] (K = 1..KMAX) is the first source
    index from which K eigenmodes meet tol (sources sorted by age); sources before
    ibound[j, KMAX-1] go through the scalar path (_pair), the rest through the
    vectorised eigenmode path with the K of their segment."""
    N = t.size
    nch = D.size
    KM = ibound.shape[1]
    for ib in prange(b0, b1):
        i0 = ib * block
        i1 = min(i0 + block, N)
        acc = np.zeros(4)
        fa = np.zeros(4)
        bufs = np.empty((16, block))
        for j in range(nch):
            acc[:] = 0.0
            iend = min(i1, cut[j])
            Dj = D[j]
            gj = gamma[j]
            dj = delay[j]
            islow = min(iend, max(i0, ibound[j, KM - 1]))
            for i in range(i0, islow):
                tau = t[i] - dj
                if tau <= 0.0:
                    continue
                _pair(dx[i], dy[i], z, zs[i], tau, Dj, H, gj, tol, mode, 0,
                      s1[i], d1[i], ct1[i], st1[i], ct2[i], st2[i], acc)
            c4 = 0.25 / Dj
            lamv = 0.25 * math.pi ** 2 * Dj / (H * H)
            lam = gj + lamv
            pref = 0.25 / (math.pi * Dj * H)
            # segments with K = KM, KM-1, ..., 1 modes
            for K in range(KM, 0, -1):
                sa = min(iend, max(i0, ibound[j, K - 1]))
                sb = iend if K == 1 else min(iend, max(i0, ibound[j, K - 2]))
                nf = sb - sa
                if nf <= 0:
                    continue
                pbuf = bufs[0, :nf]
                kbuf = bufs[1, :nf]
                itbuf = bufs[2, :nf]
                _fast_pass(t[sa:sb], invt[sa:sb], rho2[sa:sb], dj, c4, lam, pbuf, kbuf, itbuf)
                _scale_pass(nf, kbuf)
                fa[:] = 0.0
                if K == 1:
                    _fast_sum(pbuf, kbuf.view(np.float64), itbuf, dx[sa:sb], dy[sa:sb],
                              s1[sa:sb], d1[sa:sb], fa)
                else:
                    _mul_pass(nf, pbuf, kbuf.view(np.float64))
                    qb = bufs[3, :nf]
                    qk = bufs[4, :nf]
                    _qpass(t[sa:sb], dj, lamv, qb, qk)
                    _scale_pass(nf, qk)
                    _mul_pass(nf, qb, qk.view(np.float64))
                    Sg = bufs[5, :nf]
                    Sz = bufs[6, :nf]
                    _modes_pass(qb, ct1[sa:sb], st1[sa:sb], ct2[sa:sb], st2[sa:sb], s1[sa:sb],
                                d1[sa:sb], K, Sg, Sz, bufs[7, :nf], bufs[8, :nf], bufs[9, :nf],
                                bufs[10, :nf], bufs[11, :nf], bufs[12, :nf], bufs[13, :nf],
                                bufs[14, :nf], bufs[15, :nf], bufs[4, :nf])
                    qk[:] = 1.0
                    _fast_sum(pbuf, qk, itbuf, dx[sa:sb], dy[sa:sb], Sg, Sz, fa)
                acc[0] += pref * fa[0]
                acc[1] += -2.0 * c4 * pref * fa[1]
                acc[2] += -2.0 * c4 * pref * fa[2]
                acc[3] += (0.5 * math.pi / H) * pref * fa[3]
            part[ib, j, 0] = acc[0]
            part[ib, j, 1] = acc[1]
            part[ib, j, 2] = acc[2]
            part[ib, j, 3] = acc[3]


@njit(cache=True)
def _cuts(t, D, gamma, delay, H, tol, nlow, start, cut):
    """Per channel: first source index from which all older sources may be skipped."""
    N = t.size
    for j in range(D.size):
        cut[j] = N
        if not nlow[j] > 0.0:
            continue
        # the predicate f(i) = [u_i >= U_SWITCH and (N - i) B(tau_i) <= tol nlow] is monotone in i
        lo = start
        hi = N  # f(N) is true (nothing left)
        while lo < hi:
            mid = (lo + hi) // 2
            tau = t[mid] - delay[j]
            ok = False
            if tau > 0.0 and D[j] * tau >= U_SWITCH * H * H:
                ok = (N - mid) * _skip_bound(tau, D[j], H, gamma[j]) <= tol * nlow[j]
            if ok:
                hi = mid
            else:
                lo = mid + 1
        cut[j] = lo


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
def _prepare(x, y, zs, t, xo, yo, zo, H):
    """Per-source quantities that do not depend on the channel (D, gamma, delay).

    With a = pi (zo + H)/2H (fixed) and b = pi (zs + H)/2H = pi/2 + phi,
    phi = pi zs / 2H in (-pi/2, pi/2): sin b = cos phi and cos b = -sin phi, evaluated
    by their Taylor polynomials (degree 22 and 21, truncation < 1e-18 on |phi| < pi/2)
    so that the loop vectorises; the products of a and b follow by angle addition.
    """
    n = t.size
    dx = np.empty(n)
    dy = np.empty(n)
    rho2 = np.empty(n)
    invt = np.empty(n)
    s1 = np.empty(n)
    d1 = np.empty(n)
    ct1 = np.empty(n)
    st1 = np.empty(n)
    ct2 = np.empty(n)
    st2 = np.empty(n)
    a = 0.5 * math.pi * (zo + H) / H
    sa = math.sin(a)
    ca = math.cos(a)
    c = 0.5 * math.pi / H
    for i in range(n):
        ddx = xo - x[i]
        ddy = yo - y[i]
        dx[i] = ddx
        dy[i] = ddy
        rho2[i] = ddx * ddx + ddy * ddy
        invt[i] = 1.0 / t[i]
        ph = c * zs[i]
        p2 = ph * ph
        cs = 1.0 / 1124000727777607680000.0       # cos: 1/22!
        cs = 1.0 / 2432902008176640000.0 - p2 * cs
        cs = 1.0 / 6402373705728000.0 - p2 * cs
        cs = 1.0 / 20922789888000.0 - p2 * cs
        cs = 1.0 / 87178291200.0 - p2 * cs
        cs = 1.0 / 479001600.0 - p2 * cs
        cs = 1.0 / 3628800.0 - p2 * cs
        cs = 1.0 / 40320.0 - p2 * cs
        cs = 1.0 / 720.0 - p2 * cs
        cs = 1.0 / 24.0 - p2 * cs
        cs = 0.5 - p2 * cs
        cs = 1.0 - p2 * cs
        sn = 1.0 / 51090942171709440000.0         # sin: 1/21!
        sn = 1.0 / 121645100408832000.0 - p2 * sn
        sn = 1.0 / 355687428096000.0 - p2 * sn
        sn = 1.0 / 1307674368000.0 - p2 * sn
        sn = 1.0 / 6227020800.0 - p2 * sn
        sn = 1.0 / 39916800.0 - p2 * sn
        sn = 1.0 / 362880.0 - p2 * sn
        sn = 1.0 / 5040.0 - p2 * sn
        sn = 1.0 / 120.0 - p2 * sn
        sn = 1.0 / 6.0 - p2 * sn
        sn = ph * (1.0 - p2 * sn)
        sb = cs
        cb = -sn
        s1[i] = sa * sb
        d1[i] = ca * sb
        ct1[i] = ca * cb + sa * sb
        st1[i] = sa * cb - ca * sb
        ct2[i] = ca * cb - sa * sb
        st2[i] = sa * cb + ca * sb
    return dx, dy, rho2, invt, s1, d1, ct1, st1, ct2, st2


_UK_CACHE = {}


def mode_thresholds(tol):
    """Smallest ``u = D tau / H^2`` at which K eigenmodes meet the a-priori bound (MODEL.md section 3).

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


#: below this many (source, channel) pairs observe() runs on one thread
_SERIAL_PAIRS = 200_000


def block_size(n_sources):
    """Fixed source-block size: a function of the number of sources only (never of threads)."""
    return max(256, -(-n_sources // 4096))


def observe(x, y, z, t, D, H, gamma=0.0, delay=0.0, observer=OBSERVER, tol=1e-10,
            scheme="auto", skip=True, return_stats=False):
    r"""Density and gradient at the observer from many bursts, for many channels.

    Sums :func:`slab_green` and :func:`slab_green_gradient` over the sources
    (BA eq. 2.4 summed over remnants), for every channel at once.

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
        Myr; a source contributes at age ``t - delay`` when positive; ``inf``
        means no contribution.
    observer : (3,) sequence
        Observer position, kpc (default the Sun, ``crlib.galaxy.OBSERVER``).
    tol : float
        Tolerance of the series truncation and of the skip rule.
    skip : bool
        Apply the skip rule below.

    Returns
    -------
    n : array with D's shape
        Density per injected particle per source (kpc^-3).
    grad : array with D's shape + (3,)
        Its gradient with respect to the observer position (kpc^-4).

    Skip rule (derivation)
    ----------------------
    Every term is non-negative inside the slab, so the density from any subset
    of sources is a lower bound of the total.  The kernel first sums the
    youngest ``4 x block`` sources exactly, which gives a lower bound ``n_low``
    per channel.  For a source of age ``tau`` with ``u = D tau / H^2 >= 0.2`` (U_SWITCH),
    ``|sin| <= 1`` and ``q^(k^2) <= q (q^3)^(k-1)`` give::

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
    mode = _scheme_code(scheme)
    if mode not in (MODE_AUTO, MODE_SH):
        raise ValueError(f"scheme must be 'auto' or 'sh' in observe, got {scheme!r}")
    tol = V.tolerance("tol", tol)
    H = V.positive("H", V.as_float("H", H))
    x = V.as_float_array("x", x)
    y = V.as_float_array("y", y)
    z = V.as_float_array("z", z)
    t = V.as_float_array("t", t)
    n_src = V.same_length(x=x, y=y, z=z, t=t)
    for name, arr in (("x", x), ("y", y), ("z", z), ("t", t)):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-d array, got shape {arr.shape}")
    V.positive("t", t)
    if np.any(np.abs(z) >= H):
        bad = float(z[np.abs(z) >= H][0])
        raise ValueError(f"z must satisfy |z| < H = {H!r} (sources inside the halo), got {bad!r}")
    D = V.as_float_array("D", D)
    V.positive("D", D)
    shape = D.shape
    gamma = np.asarray(gamma, dtype=float)
    if not np.all(np.isfinite(gamma)):
        raise ValueError("gamma must be finite")
    V.non_negative("gamma", gamma)
    try:
        delay = np.asarray(delay, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"delay must be numeric, got {delay!r}") from exc
    if np.any(np.isnan(delay)) or np.any(delay < 0):
        raise ValueError("delay must be >= 0 (inf allowed: no contribution), got a negative or NaN value")
    try:
        gamma = np.ascontiguousarray(np.broadcast_to(gamma, shape), dtype=float).reshape(-1)
    except ValueError:
        raise ValueError(f"gamma must broadcast to D's shape {shape}, got shape {gamma.shape}")
    try:
        delay = np.ascontiguousarray(np.broadcast_to(delay, shape), dtype=float).reshape(-1)
    except ValueError:
        raise ValueError(f"delay must broadcast to D's shape {shape}, got shape {delay.shape}")
    obs = V.as_float_array("observer", observer)
    if obs.shape != (3,):
        raise ValueError(f"observer must have 3 components, got shape {obs.shape}")
    if abs(obs[2]) > H:
        raise ValueError(f"observer must satisfy |z| <= H = {H!r}, got z = {obs[2]!r}")
    Dflat = np.ascontiguousarray(D.reshape(-1))
    nch = Dflat.size

    if n_src > 1 and not np.all(t[1:] >= t[:-1]):
        order = np.argsort(t, kind="stable")
        x, y, z, t = x[order], y[order], z[order], t[order]
    t = np.ascontiguousarray(t)
    zs = np.ascontiguousarray(z)
    zo = float(obs[2])
    dx, dy, rho2, invt, s1, d1, ct1, st1, ct2, st2 = _prepare(x, y, zs, t, obs[0], obs[1], zo, H)
    block = block_size(n_src)
    nblk = -(-n_src // block) if n_src else 0
    part = np.zeros((nblk, nch, 4))
    cut = np.full(nch, n_src, dtype=np.int64)
    cut[~np.isfinite(delay)] = 0
    delay_k = np.where(np.isfinite(delay), delay, 0.0)
    # ibound[j, K-1]: first source (sorted by age) with D (t - delay) / H^2 >= u_K(tol),
    # the smallest u at which K eigenmodes meet the bound
    uK = mode_thresholds(tol)
    if mode == MODE_AUTO:
        tauK = uK[None, :] * H * H / Dflat[:, None] + delay_k[:, None]
        ibound = np.searchsorted(t, tauK.ravel(), side="left").astype(np.int64).reshape(tauK.shape)
    else:
        ibound = np.full((nch, uK.size), n_src, dtype=np.int64)
    args = (t, invt, rho2, dx, dy, zo, zs, s1, d1, ct1, st1, ct2, st2, Dflat, gamma, delay_k,
            H, tol, mode, ibound)
    # Small jobs run on the calling thread only: waking the thread pool costs more than the
    # work, and on a busy machine a descheduled worker can stall a launch for milliseconds.
    # The partial sums do not depend on the number of threads, so neither does the result.
    nthreads = numba.get_num_threads()
    if n_src * nch < _SERIAL_PAIRS:
        numba.set_num_threads(1)
    try:
        _run_blocks(skip, nblk, block, args, cut, part, t, Dflat, gamma, delay_k, delay, H, tol,
                    n_src, nch)
    finally:
        numba.set_num_threads(nthreads)
    res = np.zeros((nch, 4))
    if nblk > 0:
        _combine(part, res)
    n = res[:, 0].reshape(shape)
    grad = res[:, 1:].reshape(shape + (3,))
    if return_stats:
        return n, grad, {"cut": cut.reshape(shape), "block": block}
    return n, grad


def _run_blocks(skip, nblk, block, args, cut, part, t, Dflat, gamma, delay_k, delay, H, tol,
                n_src, nch):
    """All source blocks into ``part``; with ``skip``, the skip rule's cut-offs go into ``cut``."""
    if skip and nblk > 0:
        pre = min(nblk, 4)
        _blocks(0, pre, block, *args, cut, part)
        nlow = np.zeros((nch, 4))
        _combine(part[:pre], nlow)
        cut2 = np.empty(nch, dtype=np.int64)
        _cuts(t, Dflat, gamma, delay_k, H, tol, nlow[:, 0].copy(), min(n_src, pre * block), cut2)
        cut2[~np.isfinite(delay)] = 0
        _blocks(pre, nblk, block, *args, cut2, part)
        cut[:] = cut2
    elif nblk > 0:
        _blocks(0, nblk, block, *args, cut, part)


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
