r"""One source, one observer: the slab Green function, its gradient and its truncation rules.

A burst of one particle at ``(x_s, y_s, z_s)`` diffuses with a spatially
constant coefficient ``D`` inside the halo ``|z| < H``; the density vanishes at
``z = +-H`` (free escape), the radial extent is infinite and spallation removes
particles at the rate ``gamma`` (:ref:`model-green`, BA eq. 2.3-2.4)::

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
per (source, channel) pair.  At ``u = 0.2`` seven modes are needed
(tol = 1e-10); the many-source kernel evaluates them vectorised.

So in both regimes the error is ``tol`` times the natural size of the vertical
factor; for an observer and a source near the mid-plane this is ``tol`` relative
to ``G`` itself (near the absorbing boundaries ``G -> 0`` and the error is
relative to the scale, not pointwise).

*Underflow*: when ``-rho^2/(4 D tau) - gamma tau < -746`` the exponential is exactly
0.0 in double precision and every term of either series is multiplied by it, so
the pair is skipped without changing the result by a single bit.

*Computable range*: the term counts are bounded (at most ``MAX_TERMS``
images or modes); inputs whose ``u`` is not a normal double (``D tau`` or ``H^2``
overflowing or underflowing) or would need more terms are rejected with a
ValueError naming the parameters, never looped on.

``scheme="sh"`` reproduces the small-halo paper's fixed scheme (SH eq. 6):
images for ``tau < (f H)^2 / D`` with ``f = 0.2``, eigenmodes otherwise, always
``imax = 5`` (eigenmodes ``k = 1..5``; images ``|n| <= 5``, our reading of the
garbled source text).  Just above the switch (``u = 0.04``, ``q = 0.906``) five
modes are not converged: errors reach several per cent off the mid-plane
(tested).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .. import _validate as V
from .fastexp import cos_sin_poly

__all__ = ["slab_green", "slab_green_gradient", "green_images", "green_eigen", "terms_needed",
           "U_SWITCH", "MAX_TERMS", "single_mode_u"]

#: Dimensionless time ``D tau / H^2`` at which ``scheme="auto"`` switches from images to eigenmodes.
U_SWITCH = 0.2
#: Largest number of images (``N`` in ``|n| <= N``) or eigenmodes any truncation rule may ask for.
MAX_TERMS = 100_000
#: exp(x) is exactly 0.0 in IEEE double for x below this.
_EXP_ZERO = -746.0
_SH_F = 0.2
_SH_IMAX = 5

MODE_AUTO, MODE_IMAGES, MODE_EIGEN, MODE_SH = 0, 1, 2, 3
_SCHEMES = {"auto": MODE_AUTO, "images": MODE_IMAGES, "eigen": MODE_EIGEN, "sh": MODE_SH}


@njit(cache=True)
def single_mode_u_nb(tol):
    """Compiled form of :func:`single_mode_u` (no validation; the one place of the formula)."""
    return 4.0 * (math.log(2.0 / tol) + 1.0) / (3.0 * math.pi ** 2)


def single_mode_u(tol):
    """Dimensionless age above which one eigenmode of the slab series meets ``tol``.

    From the tail bound of the eigenmode form (:ref:`model-green`; module
    docstring): with ``q = exp(-pi^2 u / 4)`` the neglected modes are below
    ``2 q^3 / (1 - 2 q^5)`` relative to the fundamental, which is ``<= tol`` for
    ``u >= u1 = 4 (ln(2/tol) + 1) / (3 pi^2)`` (3.34 for tol = 1e-10).

    Parameters
    ----------
    tol : float
        Relative tolerance in (0, 1).

    Returns
    -------
    float
        ``u1`` (dimensionless, ``u = D tau / H^2``).
    """
    return float(single_mode_u_nb(V.tolerance("tol", tol)))


# ----------------------------------------------------------------------------
# term counts (a-priori bounds); -1 means "more than MAX_TERMS"
# ----------------------------------------------------------------------------
@njit(cache=True)
def _n_images(u, tol):
    if not u > 0.0:
        return 1      # u underflowed to 0: the nearest images are exp(-1/u) = 0 away
    N = 1
    while N <= MAX_TERMS:
        w = 1.0 + (N + 2.0) / math.sqrt(u)
        r = (4.0 / 3.0) * math.exp(-(2.0 * N + 1.0) / u)
        if r < 1.0 and 2.0 * w * math.exp(-N * N / u) <= tol * (1.0 - r):
            return N
        N += 1
    return -1


@njit(cache=True)
def _n_modes(u, tol):
    q = math.exp(-0.25 * math.pi ** 2 * u)
    K = 1
    while K <= MAX_TERMS:
        r = 2.0 * q ** (2 * K + 3)
        if r < 1.0 and (K + 1.0) * q ** ((K + 1) ** 2 - 1) <= tol * (1.0 - r):
            return K
        K += 1
    return -1


def _u_range_error(form, tol):
    return ValueError(f"u = D*tau/H**2 needs more than MAX_TERMS = {MAX_TERMS} {form} at "
                      f"tol = {tol!r}; use the other series form (images for u < {U_SWITCH}, "
                      "eigenmodes above) or scheme='auto'")


def terms_needed(u, tol=1e-10, form="auto"):
    """Number of terms the a-priori truncation bounds ask for (:ref:`model-green`).

    Parameters
    ----------
    u : float or array
        Dimensionless age ``D tau / H^2`` (> 0).
    tol : float
        Relative tolerance in (0, 1), in the sense of the module docstring.
    form : {"auto", "images", "eigen"}
        ``"images"``: number of images ``2N + 1`` of BA eq. 2.4; ``"eigen"``: number
        of eigenmodes ``K``; ``"auto"``: whichever the default scheme uses at ``u``
        (images below ``U_SWITCH``).

    Returns
    -------
    int or array of int

    Raises
    ------
    ValueError
        For ``u <= 0`` or non-finite, and where the chosen form would need more
        than ``MAX_TERMS`` terms (images at very large ``u``, modes at very small).
    """
    if form not in ("auto", "images", "eigen"):
        raise ValueError(f"form must be 'auto', 'images' or 'eigen', got {form!r}")
    tol = V.tolerance("tol", tol)
    u = np.asarray(V.positive("u", u), dtype=float)
    out = np.empty(u.shape, dtype=np.int64)
    for idx, val in np.ndenumerate(u):
        if form == "images" or (form == "auto" and val < U_SWITCH):
            n = _n_images(val, tol)
            if n < 0:
                raise _u_range_error("images", tol)
            out[idx] = 2 * n + 1
        else:
            n = _n_modes(val, tol)
            if n < 0:
                raise _u_range_error("eigenmodes", tol)
            out[idx] = n
    return int(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------
# per-pair geometry and the two series
# ----------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def mode_seeds(sa, ca, ph):
    """The six per-pair seeds of the eigenmode series, one way for every caller.

    ``sa, ca = sin a, cos a`` (observer), ``ph = pi z_s / 2H`` so that ``b = pi/2 + ph``:
    ``sin b = cos ph`` and ``cos b = -sin ph`` from ``cos_sin_poly``.  Returns
    ``sin a sin b``, ``cos a sin b`` and cos, sin of ``theta1 = a - b`` and
    ``theta2 = a + b`` (by angle addition), the seeds of the Chebyshev recurrences.
    """
    cs, sn = cos_sin_poly(ph)
    sb = cs
    cb = -sn
    return (sa * sb, ca * sb, ca * cb + sa * sb, sa * cb - ca * sb,
            ca * cb - sa * sb, sa * cb + ca * sb)


@njit(cache=True)
def _trig(z, zs, H):
    """Seeds of ``mode_seeds`` for an observer at height ``z`` and a source at ``zs``."""
    a = 0.5 * math.pi * (z + H) / H
    return mode_seeds(math.sin(a), math.cos(a), 0.5 * math.pi / H * zs)


@njit(cache=True)
def _images_sum(z, zs, h, inv4Dt, H, N):
    """Image series, |n| <= N: sum of +-exp(h - dz^2/4D tau) and of dz times it."""
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
    return g, gz


@njit(cache=True)
def _modes_sum(lam, tol, K, s1, ct1, st1, ct2, st2):
    """Eigenmode sums ``sum_k q^(k^2-1) sin ka sin kb`` and ``sum_k k q^(k^2-1) cos ka sin kb``.

    ``K > 0``: exactly K modes; ``K = 0``: adaptive, until the tail bound of the module
    docstring is below ``tol`` (at most ``MAX_TERMS`` modes).  Chebyshev recurrences
    advance cos/sin of ``k theta1`` and ``k theta2``.
    """
    q = math.exp(-lam)
    q2 = q * q
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
            if (r < 1.0 and (k + 1.0) * p <= tol * (1.0 - r)) or k >= MAX_TERMS:
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
    return sg, sz


@njit(cache=True)
def _uses_images(mode, u):
    if mode == MODE_AUTO:
        return u < U_SWITCH
    if mode == MODE_IMAGES:
        return True
    if mode == MODE_EIGEN:
        return False
    return u < _SH_F * _SH_F


@njit(cache=True)
def _pair(dx, dy, z, zs, tau, D, H, gamma, tol, mode, nterms,
          s1, d1, ct1, st1, ct2, st2, out):
    """Density and gradient of one (source, channel) pair; adds into out[0:4].

    dx, dy: observer minus source.  Returns nothing; ``out`` is accumulated.
    """
    Dt = D * tau          # normal by check_u; D * H alone may underflow
    inv4Dt = 0.25 / Dt
    h = -(dx * dx + dy * dy) * inv4Dt - gamma * tau
    if h < _EXP_ZERO:
        return
    u = D * tau / (H * H)
    gfac = -2.0 * inv4Dt  # d/dx of the horizontal Gaussian: -(x - xs)/(2 D tau)
    if _uses_images(mode, u):
        if mode == MODE_AUTO:
            N = _n_images(u, tol)
        elif mode == MODE_SH:
            N = _SH_IMAX
        else:
            N = nterms
        pref = (inv4Dt / math.pi) ** 1.5
        g, gz = _images_sum(z, zs, h, inv4Dt, H, N)
        g *= pref
        gz *= pref * gfac
    else:
        lam = 0.25 * math.pi ** 2 * u
        pref = inv4Dt / (math.pi * H)
        e = pref * math.exp(h - lam)
        if mode == MODE_AUTO and u >= single_mode_u_nb(tol):
            g = e * s1
            gz = e * (0.5 * math.pi / H) * d1
        else:
            K = _SH_IMAX if mode == MODE_SH else (nterms if mode == MODE_EIGEN else 0)
            sg, sz = _modes_sum(lam, tol, K, s1, ct1, st1, ct2, st2)
            g = e * sg
            gz = e * (0.5 * math.pi / H) * sz
    out[0] += g
    out[1] += gfac * dx * g
    out[2] += gfac * dy * g
    out[3] += gz


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
    if not isinstance(scheme, str) or scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(_SCHEMES)}, got {scheme!r}")
    return _SCHEMES[scheme]


def check_u(D, tau, H):
    """Check that ``D tau / H^2`` and the natural sizes of ``G`` and its gradient are computable.

    ``D``, ``tau``, ``H``: broadcast arrays, already positive and finite.  ``D tau``,
    ``H^2`` and ``u = D tau / H^2`` must be normal doubles (in [2.2e-308, 1.8e308]) and
    the prefactors of the two series, ``(4 pi D tau)^-3/2`` and ``1/(4 pi D tau H)``, times
    the gradient factors ``1 + 30 (D tau)^-1/2 + 1/(2 D tau) + pi/2H`` must not overflow; otherwise
    a ValueError names the parameters, the quantity and the computable range.
    (A scale that underflows is fine: the result is then exactly representable as 0
    to within ``tol`` of its scale.)  Returns ``u``.
    """
    fi = np.finfo(float)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        Dt = D * tau
        H2 = H * H
        u = Dt / H2
        four = 4.0 * np.pi * Dt
        # the prefactors of both series forms times the largest factors of the gradient
        # (dx / 2 D tau <= 30 / sqrt(D tau) wherever exp(-rho^2 / 4 D tau) > 0, and 1/(2 D tau))
        grad = (four ** -1.5 + 1.0 / (four * H)) * (1.0 + 30.0 * Dt ** -0.5 + 0.5 / Dt
                                                    + 0.5 * np.pi / H)
    checks = (("D*tau", (Dt >= fi.tiny) & (Dt <= fi.max)),
              ("H**2", (H2 >= fi.tiny) & (H2 <= fi.max)),
              ("u = D*tau/H**2", (u >= fi.tiny) & (u <= fi.max)),
              ("the gradient scale of G", np.isfinite(grad)))
    for name, ok in checks:
        if not np.all(ok):
            shape = np.broadcast(D, tau, H, ok).shape
            i = np.flatnonzero(~np.broadcast_to(ok, shape))[0]
            pick = lambda a: float(np.broadcast_to(a, shape).ravel()[i])  # noqa: E731
            raise ValueError(
                f"tau, D and H must give {name} within the double range "
                f"[{fi.tiny:.3g}, {fi.max:.3g}]; got D = {pick(D)!r}, tau = {pick(tau)!r}, "
                f"H = {pick(H)!r}")
    return u


def _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, tol, scheme, nterms):
    mode = _scheme_code(scheme)
    tol = V.tolerance("tol", tol)
    if mode in (MODE_IMAGES, MODE_EIGEN):
        nterms = V.positive_int("nterms", nterms)
        if nterms > MAX_TERMS:
            raise ValueError(f"nterms must be <= MAX_TERMS = {MAX_TERMS}, got {nterms}")
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
    check_u(b["D"], b["tau"], b["H"])
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
        Number of terms for ``scheme="images"`` or ``"eigen"`` (at most ``MAX_TERMS``).

    Returns
    -------
    array or float
        ``G`` in particles per kpc^3 per injected particle, with the broadcast
        shape of the arguments.

    Raises
    ------
    ValueError
        For arguments outside the ranges above, or when ``D tau``, ``H^2`` or
        ``u = D tau / H^2`` leave the normal double range (``check_u``).
    """
    return _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, tol, scheme, nterms)[..., 0]


def slab_green_gradient(x, y, z, xs, ys, zs, tau, D, H, gamma=0.0, tol=1e-10, scheme="auto",
                        nterms=None):
    """Gradient of :func:`slab_green` with respect to the observer position ``(x, y, z)``.

    Analytic (:ref:`model-green`): ``dG/dx = -(x - xs) / (2 D tau) G`` (likewise
    y); ``dG/dz`` from differentiating the vertical series of BA eq. 2.4 (or its
    eigenmode form) term by term, with the same truncation rule.

    Parameters
    ----------
    x, y, z, xs, ys, zs, tau, D, H, gamma, tol, scheme, nterms
        As in :func:`slab_green`.

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
    """Eigenmode-series Green function (:ref:`model-green`) with modes ``k = 1..n_modes``.

    No adaptivity.  Arguments and units as in :func:`slab_green`.  Returns the
    density (kpc^-3 per injected particle) or, with ``gradient=True``,
    ``(density, gradient)`` with the gradient's components on a last axis of
    length 3 (kpc^-4).
    """
    r = _slab(x, y, z, xs, ys, zs, tau, D, H, gamma, 0.5, "eigen", n_modes)
    return (r[..., 0], r[..., 1:]) if gradient else r[..., 0]
