r"""Large-scale and fluctuation parts of the dipole anisotropy (BA §3, eqs. 3.3-3.6).

Blasi & Amato (2012, "BA") split the anisotropy of a stochastic population of
sources into the part carried by the *mean* current and the part carried by its
*fluctuations* (BA eqs. 3.3-3.4)::

    dA1 = |<J>| / (c <n> / 3),        dA2 = <dJ.dJ>^(1/2) / (c <n> / 3),

with ``J = -D grad n`` (BA eq. 3.2).  For sources in an infinitely thin disk
(``z_s = 0``) with mean surface rate density ``Sigma(x, y)`` (sources per kpc^2
per Myr), a slab halo of half-height ``H`` with free escape at ``|z| = H``, one
species with diffusion coefficient ``D`` (kpc^2/Myr) and loss rate ``Gamma``
(1/Myr), observer in the plane (the Sun by default) and ``N0 = 1`` particle per
source (BA eqs. 3.5-3.6)::

    <n>      =        int d^2r Sigma(r) int_0^inf     dtau G(rho, tau)
    <J>      = -D     int d^2r Sigma(r) int_0^inf     dtau grad G
    <dJ.dJ>  =  D^2   int d^2r Sigma(r) int_Tmin^inf  dtau |grad G|^2

``rho`` is the distance from the source to the observer, ``G`` the slab Green
function of :mod:`crlib.green` (:ref:`model-green`).

Closed forms used here (derived in book/fluctuations.md)
--------------------------------------------------------
With ``z = z_s = 0`` only the odd eigenmodes survive, ``sin^2(k pi/2) = 1``::

    G = exp(-rho^2/4 D tau) / (4 pi D tau) * (1/H) sum_{k odd} exp(-a_k tau),
    a_k = k^2 pi^2 D / 4H^2 + Gamma,

and ``int_0^inf dtau exp(-rho^2/4 D tau - a tau) / (4 pi D tau) = K0(rho sqrt(a/D)) / (2 pi D)``,
so the time-integrated Green function (a steady point source of unit rate) is::

    F(rho) = int_0^inf G dtau = (1 / 2 pi D H) sum_{k odd} K0(kappa_k rho),   kappa_k = sqrt(a_k / D)
    F'(rho) = -(1 / 2 pi D H) sum_{k odd} kappa_k K1(kappa_k rho).

This series converges like ``exp(-k pi rho / 2H)``: fast for ``rho >~ H``, slowly
near the source.  For ``rho < H/2`` the image form is used instead, again
integrated in closed form (``int dtau exp(-R^2/4 D tau - Gamma tau) (4 pi D tau)^(-3/2)
= exp(-kappa_0 R) / (4 pi D R)``)::

    F(rho) = (1 / 4 pi D) sum_n (-1)^n exp(-kappa_0 R_n) / R_n,   R_n = sqrt(rho^2 + 4 n^2 H^2),

whose alternating tail (``|n| >= 1``) is summed with the Cohen-Rodriguez Villegas-
Zagier acceleration (error ~ 5.8^-m for m terms; m = 30).  The two forms agree
to ~1e-13 at the switch (tests/test_largescale.py).

``<n>`` and ``<J>`` are then one spatial integral each.  The fluctuation
integral is a product of two Green functions at the same age; with the
horizontal gradient ``grad G = -(rho_vec / 2 D tau) G`` (the vertical one
vanishes in the plane)::

    <dJ.dJ> = D^2 int_Tmin^inf dtau  g_z(tau)^2 exp(-2 Gamma tau) / (64 pi^2 D^4 tau^4)
                  * M(tau),        M(tau) = int d^2rho Sigma rho^2 exp(-rho^2 / 2 D tau),

with ``g_z`` the vertical factor at ``z = z_s = 0`` taken from
:func:`crlib.green.slab_green` (images at small ``D tau / H^2``, eigenmodes at
large).  Without ``T_min`` the integrand behaves as ``tau^-3`` near 0 and the
integral diverges (BA §3).  ``T_min`` generalises BA eq. 3.12 to a non-uniform
disk through the local surface rate ``Sigma_sun``::

    Sigma_sun T_min 4 pi D T_min = 1   ->   T_min = (4 pi D Sigma_sun)^(-1/2),

which for ``Sigma = R / (pi R_d^2)`` is BA's ``(4 R D / R_d^2)^(-1/2)``.

Quadrature
----------
The spatial integrals use a polar grid centred on the observer: Gauss-Legendre
panels in ``ln rho`` from ``rho_min`` (default 1e-4 kpc) to ``rho_max`` (default
40 kpc; the cylindrical model has no sources beyond) and a uniform (spectrally
accurate for smooth Sigma) grid in azimuth.  ``Sigma`` is evaluated once per
grid (:class:`ObserverGrid`); every (E, H, D) then costs only one-dimensional
sums, so a BA-7 figure (25 energies, 3 halo sizes) takes well under a second.
The disk inside ``rho_min`` adds ``Sigma_sun rho_min / 2D`` to ``<n>``
(free-space limit), included; its share of ``<J>`` and ``<dJ.dJ>`` is
O(rho_min / H) and O(rho_min^4) and left out.

Units: kpc, Myr, GeV; ``Sigma`` in 1/(kpc^2 Myr); ``<n>`` in particles per kpc^3
per (particle per source); ``<J>`` in 1/(kpc^2 Myr); ``<dJ.dJ>`` in its square.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np
from scipy import special

from . import _validate as V
from .galaxy import OBSERVER
from .green import slab_green
from .units import c_light

__all__ = [
    "green_time_integral", "vertical_factor", "t_min", "rate_density",
    "ObserverGrid", "mean_density", "mean_current", "current_fluctuation",
    "Decomposition", "decomposition",
]

_RHO_SWITCH = 0.5     # images below rho = _RHO_SWITCH * H, eigenmodes above
_N_ACCEL = 30         # terms of the accelerated alternating image series
_K_ARG_MAX = 45.0     # modes with kappa_k rho above this are dropped (K0, K1 < 1e-20)


# ----------------------------------------------------------------------------
# time-integrated Green function in the plane
# ----------------------------------------------------------------------------
def _crvz_weights(m):
    """Weights w_k with sum_k (-1)^k a_k ~ sum_k w_k a_k (Cohen, Rodriguez Villegas, Zagier 2000)."""
    d = (3.0 + math.sqrt(8.0)) ** m
    d = 0.5 * (d + 1.0 / d)
    b, c = -1.0, -d
    w = np.empty(m)
    for k in range(m):
        c = b - c
        w[k] = c
        b = (k + m) * (k - m) * b / ((k + 0.5) * (k + 1.0))
    return w / d


_W = _crvz_weights(_N_ACCEL)


def _images(rho, D, H, gamma):
    k0 = math.sqrt(gamma / D)
    n = np.arange(1, _N_ACCEL + 1)
    R = np.sqrt(rho[:, None] ** 2 + (2.0 * n * H) ** 2)                  # (m, N)
    e = np.exp(-k0 * R)
    # sum_{n>=1} (-1)^n a_n = -sum_{k>=0} (-1)^k a_{k+1}
    tail_f = -(e / R) @ _W
    tail_d = -((1.0 + k0 * R) * e / R ** 3) @ _W                          # times -rho below
    e0 = np.exp(-k0 * rho)
    f = (e0 / rho + 2.0 * tail_f) / (4.0 * math.pi * D)
    df = (-(1.0 + k0 * rho) * e0 / rho ** 2 - 2.0 * rho * tail_d) / (4.0 * math.pi * D)
    return f, df


def _modes(rho, D, H, gamma):
    kmax = int(math.ceil(2.0 * H * _K_ARG_MAX / (math.pi * rho.min()))) | 1
    k = np.arange(1, kmax + 1, 2, dtype=float)
    kappa = np.sqrt((k * math.pi / (2.0 * H)) ** 2 + gamma / D)
    x = rho[:, None] * kappa
    # exponentially scaled Bessel functions: no overflow/underflow trouble at large x
    ex = np.exp(-x)
    f = (special.k0e(x) * ex).sum(axis=1)
    df = -(kappa * special.k1e(x) * ex).sum(axis=1)
    pref = 1.0 / (2.0 * math.pi * D * H)
    return pref * f, pref * df


def green_time_integral(rho, D, H, gamma=0.0):
    r"""Time integral of the in-plane slab Green function and its radial derivative.

    ``F(rho) = int_0^inf dtau G(rho, z=0; z_s=0, tau)``: the density at distance
    ``rho`` from a steady point source of unit rate in the mid-plane of a slab
    halo with free escape (:ref:`model-green`; the time integral of BA eq. 2.4 that
    enters BA eqs. 3.5 and 3.10).  Eigenmode form
    ``F = (1/2 pi D H) sum_{k odd} K0(kappa_k rho)``, ``kappa_k^2 = (k pi/2H)^2 + Gamma/D``,
    for ``rho >= H/2``; accelerated image form
    ``F = (1/4 pi D) sum_n (-1)^n exp(-sqrt(Gamma/D) R_n)/R_n`` below.

    Parameters
    ----------
    rho : float or array
        Distance source-observer in the plane, kpc (> 0).
    D : float
        Diffusion coefficient, kpc^2/Myr (> 0).
    H : float
        Halo half-height, kpc (> 0).
    gamma : float
        Loss (spallation) rate, 1/Myr (>= 0).

    Returns
    -------
    F : float or array
        kpc^-3 Myr (per unit source rate, 1/Myr).
    dF : float or array
        dF/drho, kpc^-4 Myr (negative).
    """
    rho = V.positive("rho", rho)
    D = V.positive("D", V.as_float("D", D))
    H = V.positive("H", V.as_float("H", H))
    gamma = V.non_negative("gamma", V.as_float("gamma", gamma))
    r = np.atleast_1d(np.asarray(rho, dtype=float))
    shape = np.shape(rho)
    flat = r.ravel()
    f = np.empty_like(flat)
    df = np.empty_like(flat)
    small = flat < _RHO_SWITCH * H
    if small.any():
        f[small], df[small] = _images(flat[small], D, H, gamma)
    if (~small).any():
        f[~small], df[~small] = _modes(flat[~small], D, H, gamma)
    if shape == ():
        return float(f[0]), float(df[0])
    return f.reshape(shape), df.reshape(shape)


def vertical_factor(tau, D, H):
    """Vertical factor g_z(tau) of the slab Green function at z = z_s = 0 (:ref:`model-green`).

    ``g_z = (4 pi D tau)^(-1/2) sum_n (-1)^n exp(-n^2 H^2 / D tau)`` (images)
    ``= (1/H) sum_{k odd} exp(-k^2 pi^2 D tau / 4H^2)`` (modes), taken from
    :func:`crlib.green.slab_green` (which picks the form and the number of terms
    from its tolerance): ``g_z = 4 pi D tau slab_green(0, 0, 0; 0, 0, 0; tau)``.

    Parameters
    ----------
    tau : float or array
        Age, Myr (> 0).
    D : float
        kpc^2/Myr (> 0).
    H : float
        kpc (> 0).

    Returns
    -------
    float or array
        g_z in 1/kpc.
    """
    tau = np.asarray(V.positive("tau", tau), dtype=float)
    D = V.positive("D", V.as_float("D", D))
    H = V.positive("H", V.as_float("H", H))
    zero = np.zeros_like(tau)
    return 4.0 * math.pi * D * tau * slab_green(zero, zero, zero, zero, zero, zero, tau, D, H)


def t_min(sigma_sun, D):
    """Cut-off age of the fluctuation integral, T_min = (4 pi D Sigma_sun)^(-1/2) (BA eq. 3.12).

    Defined by ``Sigma_sun T_min * 4 pi D T_min = 1``: one source expected within
    the age ``T_min`` inside the diffusion area ``4 pi D T_min`` around the
    observer.  For a uniform disk, ``Sigma_sun = R / (pi R_d^2)`` and this is
    BA's ``(4 R D / R_d^2)^(-1/2)``.

    Parameters
    ----------
    sigma_sun : float
        Local surface rate density, 1/(kpc^2 Myr) (> 0).
    D : float or array
        Diffusion coefficient, kpc^2/Myr (> 0).

    Returns
    -------
    float or array
        Myr.
    """
    sigma_sun = V.positive("sigma_sun", V.as_float("sigma_sun", sigma_sun))
    D = V.positive("D", D)
    out = (4.0 * math.pi * np.asarray(D) * sigma_sun) ** -0.5
    return float(out) if np.ndim(out) == 0 else out


def rate_density(sources, rate=None):
    """The mean surface rate density Sigma(x, y) in 1/(kpc^2 Myr) as a callable.

    Parameters
    ----------
    sources : callable or crlib.sources model
        ``Sigma(x, y)`` (Galactocentric kpc, vectorised, >= 0), used as is; or a
        model of :mod:`crlib.sources` (e.g. ``Cylindrical()``, BA eq. 4.1), in
        which case ``Sigma = rate * surface_density(model, x, y)``.
    rate : float
        Galactic rate in 1/Myr (> 0); required with a model, not allowed with a callable.

    Returns
    -------
    callable
    """
    from . import sources as S
    if S.is_source_model(sources):
        if rate is None:
            raise ValueError("rate must be given (> 0, 1/Myr) with a crlib.sources model")
        rate = V.positive("rate", V.as_float("rate", rate))
        return lambda x, y: rate * S.surface_density(sources, x, y)
    if callable(sources):
        if rate is not None:
            raise ValueError("rate must be None when sources is a callable Sigma(x, y) "
                             "(it already is a rate density)")
        return sources
    raise ValueError(f"sources must be a callable Sigma(x, y) or a crlib.sources model, "
                     f"got {sources!r}")


# ----------------------------------------------------------------------------
# the observer-centred polar grid
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ObserverGrid:
    """Sigma on a polar grid centred on the observer, reduced to radial moments.

    ``S0(rho) = int dphi Sigma``, ``Sx, Sy = int dphi Sigma (cos phi, sin phi)``
    with ``phi`` the direction from the observer to the source.  Build with
    :meth:`build`.

    Attributes
    ----------
    rho, w : ndarray
        Radial nodes (kpc) and weights of ``int rho drho f`` (i.e. including ``rho``).
    S0, Sx, Sy : ndarray
        Angular moments at the nodes, 1/(kpc^2 Myr).
    sigma_sun : float
        Sigma at the observer, 1/(kpc^2 Myr).
    rho_min : float
        Inner edge of the grid, kpc.
    """

    rho: np.ndarray
    w: np.ndarray
    S0: np.ndarray
    Sx: np.ndarray
    Sy: np.ndarray
    sigma_sun: float
    rho_min: float

    @classmethod
    def build(cls, sources, rate=None, observer=OBSERVER[:2], rho_min=1e-4, rho_max=40.0,
              n_panels=60, n_phi=128):
        """Evaluate Sigma once on the grid.

        Parameters
        ----------
        sources, rate
            As in :func:`rate_density`.
        observer : (2,) sequence
            Observer (x, y) in kpc, in the plane (default the Sun, (8.5, 0)).
        rho_min, rho_max : float
            Radial extent of the grid, kpc (0 < rho_min < rho_max).
        n_panels : int
            Gauss-Legendre panels (8 nodes each) in ln rho.
        n_phi : int
            Azimuthal nodes (uniform).
        """
        sig = rate_density(sources, rate)
        obs = V.as_float_array("observer", observer)
        if obs.shape != (2,):
            raise ValueError(f"observer must be (x, y) in kpc, got shape {obs.shape}")
        rho_min = V.positive("rho_min", V.as_float("rho_min", rho_min))
        rho_max = V.as_float("rho_max", rho_max)
        if not rho_max > rho_min:
            raise ValueError(f"rho_max must be > rho_min = {rho_min!r}, got {rho_max!r}")
        n_panels = V.positive_int("n_panels", n_panels)
        n_phi = V.positive_int("n_phi", n_phi)
        xg, wg = np.polynomial.legendre.leggauss(8)
        edges = np.linspace(math.log(rho_min), math.log(rho_max), n_panels + 1)
        half = 0.5 * np.diff(edges)
        u = (0.5 * (edges[:-1] + edges[1:])[:, None] + half[:, None] * xg).ravel()
        wu = (half[:, None] * wg).ravel()
        rho = np.exp(u)
        w = wu * rho ** 2                      # rho drho = rho^2 du
        phi = (np.arange(n_phi) + 0.5) * (2.0 * math.pi / n_phi)
        X = obs[0] + rho[:, None] * np.cos(phi)
        Y = obs[1] + rho[:, None] * np.sin(phi)
        s = np.asarray(sig(X, Y), dtype=float)
        if s.shape != X.shape:
            s = np.broadcast_to(s, X.shape)
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError("sources: Sigma(x, y) must be finite and >= 0 on the grid")
        dphi = 2.0 * math.pi / n_phi
        S0 = s.sum(axis=1) * dphi
        Sx = (s * np.cos(phi)).sum(axis=1) * dphi
        Sy = (s * np.sin(phi)).sum(axis=1) * dphi
        sun = float(np.asarray(sig(np.array([obs[0]]), np.array([obs[1]])), dtype=float).ravel()[0])
        if not sun > 0:
            raise ValueError(f"sources: Sigma at the observer must be > 0 (T_min), got {sun!r}")
        return cls(rho, w, S0, Sx, Sy, sun, rho_min)


_GRID_KEYS = ("observer", "rho_min", "rho_max", "n_panels", "n_phi")


def _grid(sources, rate, grid_kw):
    if isinstance(sources, ObserverGrid):
        if rate is not None:
            raise ValueError("rate must be None when sources is an ObserverGrid")
        return sources
    if grid_kw is not None and not isinstance(grid_kw, dict):
        raise ValueError(f"grid_kw must be a dict of ObserverGrid.build keywords or None, "
                         f"got {type(grid_kw).__name__}")
    bad = sorted(set(grid_kw or {}) - set(_GRID_KEYS))
    if bad:
        raise ValueError(f"grid_kw must have keys among {_GRID_KEYS}, got {bad[0]!r}")
    return ObserverGrid.build(sources, rate, **(grid_kw or {}))


def _n(g, D, H, gamma):
    F, _ = green_time_integral(g.rho, D, H, gamma)
    return float(g.w @ (g.S0 * F)) + g.sigma_sun * g.rho_min / (2.0 * D)


def _J(g, D, H, gamma):
    _, dF = green_time_integral(g.rho, D, H, gamma)
    # grad_obs F(|obs - src|) = -F'(rho) (cos phi, sin phi);  J = -D int Sigma grad F
    return D * np.array([g.w @ (g.Sx * dF), g.w @ (g.Sy * dF), 0.0])


def _dJ2(g, D, H, gamma, Tmin, n_tau=160):
    t_end = Tmin + 12.0 * H * H / D          # g_z^2 ~ exp(-pi^2 D tau / 2H^2) < 1e-25 beyond
    if gamma > 0:
        t_end = min(t_end, Tmin + 30.0 / gamma)
    xg, wg = np.polynomial.legendre.leggauss(8)
    edges = np.linspace(math.log(Tmin), math.log(t_end), n_tau // 8 + 1)
    half = 0.5 * np.diff(edges)
    u = (0.5 * (edges[:-1] + edges[1:])[:, None] + half[:, None] * xg).ravel()
    tau = np.exp(u)
    wt = (half[:, None] * wg).ravel() * tau
    gz = vertical_factor(tau, D, H)
    M = np.exp(-g.rho[None, :] ** 2 / (2.0 * D * tau[:, None])) @ (g.w * g.rho ** 2 * g.S0)
    integrand = gz ** 2 * np.exp(-2.0 * gamma * tau) / (64.0 * math.pi ** 2 * D ** 4 * tau ** 4) * M
    return D * D * float(wt @ integrand)


def _checked(D, H, gamma):
    D = np.atleast_1d(V.positive("D", D)).astype(float)
    H = V.positive("H", V.as_float("H", H))
    gamma = np.asarray(V.non_negative("gamma", gamma), dtype=float)
    try:
        gamma = np.broadcast_to(gamma, D.shape)
    except ValueError:
        raise ValueError(f"gamma must broadcast to the shape of D {D.shape}, got {gamma.shape}") from None
    return D, H, gamma


def mean_density(sources, D, H, rate=None, gamma=0.0, grid_kw=None):
    r"""Mean density at the observer, <n> = int d^2r Sigma int_0^inf dtau G (BA eqs. 3.5, 3.10).

    Computed as ``int d^2 rho Sigma F(rho)`` with the Bessel closed form
    :func:`green_time_integral`.  For a uniform disk of rate R and radius
    R_d >> H around the observer this is BA eq. 3.10, ``R H / (2 pi R_d^2 D)``.

    Parameters
    ----------
    sources : callable, crlib.sources model or ObserverGrid
        Sigma(x, y) in 1/(kpc^2 Myr), or a model (then ``rate`` is needed), or a
        prebuilt :class:`ObserverGrid` (fastest for many calls).
    D : float or array
        Diffusion coefficient(s), kpc^2/Myr (> 0).
    H : float
        Halo half-height, kpc (> 0).
    rate : float, optional
        Galactic rate, 1/Myr (> 0), with a model only.
    gamma : float or array
        Loss rate(s), 1/Myr (>= 0), broadcast to D.
    grid_kw : dict, optional
        Keywords of :meth:`ObserverGrid.build` (observer, rho_min, rho_max, ...).

    Returns
    -------
    float or array with D's shape
        Particles per kpc^3 per particle per source.
    """
    Dshape = np.shape(D)
    D, H, gamma = _checked(D, H, gamma)
    g = _grid(sources, rate, grid_kw)
    out = np.array([_n(g, d, H, gm) for d, gm in zip(D, gamma)])
    return float(out[0]) if Dshape == () else out.reshape(Dshape)


def mean_current(sources, D, H, rate=None, gamma=0.0, grid_kw=None):
    r"""Mean current at the observer, <J> = -D int d^2r Sigma int dtau grad G (BA eq. 3.5).

    ``<J> = D int rho drho F'(rho) int dphi Sigma (cos phi, sin phi)``, with the
    Bessel closed form ``F' = -(1/2 pi D H) sum_{k odd} kappa_k K1(kappa_k rho)``.
    It points from where the sources are denser to where they are sparser: for
    a Galaxy with more sources inside the solar circle, along +x (outwards).
    Without losses it does not depend on D.

    Parameters
    ----------
    sources, D, H, rate, gamma, grid_kw
        As in :func:`mean_density`.

    Returns
    -------
    array, shape D.shape + (3,)
        1/(kpc^2 Myr) per particle per source; the z component is 0 (thin disk).
    """
    Dshape = np.shape(D)
    D, H, gamma = _checked(D, H, gamma)
    g = _grid(sources, rate, grid_kw)
    out = np.array([_J(g, d, H, gm) for d, gm in zip(D, gamma)])
    return out[0] if Dshape == () else out.reshape(Dshape + (3,))


def current_fluctuation(sources, D, H, rate=None, gamma=0.0, T_min=None, grid_kw=None):
    r"""Mean square current fluctuation <dJ.dJ> = D^2 int d^2r Sigma int_Tmin^inf dtau ``|grad G|^2`` (BA eq. 3.6).

    One particle per source; Poisson sources (terms O(1/N) dropped, as in BA).
    The age integral is Gauss-Legendre in ln tau from T_min, with the vertical
    factor from :func:`vertical_factor`.  For a uniform disk and
    ``H^2 / (D T_min) >> 1`` this is BA eq. 3.9,
    ``R / (128 pi^3 D T_min^2 R_d^2)``.

    Parameters
    ----------
    sources, D, H, rate, gamma, grid_kw
        As in :func:`mean_density`.
    T_min : float or array, optional
        Lower age cut-off in Myr (> 0), broadcast to D; default
        :func:`t_min` with the local surface rate (BA eq. 3.12 generalised).

    Returns
    -------
    float or array with D's shape
        (1/(kpc^2 Myr))^2.
    """
    Dshape = np.shape(D)
    D, H, gamma = _checked(D, H, gamma)
    g = _grid(sources, rate, grid_kw)
    if T_min is None:
        T = t_min(g.sigma_sun, D)
    else:
        T = np.asarray(V.positive("T_min", T_min), dtype=float)
        try:
            T = np.broadcast_to(T, D.shape)
        except ValueError:
            raise ValueError(f"T_min must broadcast to the shape of D {D.shape}, got {T.shape}") from None
    T = np.atleast_1d(T)
    out = np.array([_dJ2(g, d, H, gm, t) for d, gm, t in zip(D, gamma, T)])
    return float(out[0]) if Dshape == () else out.reshape(Dshape)


@dataclass(frozen=True)
class Decomposition:
    """Result of :func:`decomposition`; arrays over energy.

    Attributes
    ----------
    E : ndarray
        Energies, GeV.
    D : ndarray
        Diffusion coefficients, kpc^2/Myr.
    T_min : ndarray
        Cut-off ages, Myr (BA eq. 3.12 with the local rate).
    n : ndarray
        <n>, kpc^-3 per particle per source.
    J : ndarray, shape (nE, 3)
        <J>, 1/(kpc^2 Myr) per particle per source.
    dJ2 : ndarray
        <dJ.dJ>.
    dA1, dA2 : ndarray
        Large-scale and fluctuation amplitudes (BA eqs. 3.3, 3.4).
    """

    E: np.ndarray
    D: np.ndarray
    T_min: np.ndarray
    n: np.ndarray
    J: np.ndarray
    dJ2: np.ndarray
    dA1: np.ndarray
    dA2: np.ndarray


def decomposition(E, diffusion, H, sources, rate=None, Z=1.0, gamma=0.0, grid_kw=None):
    r"""dA1 = ``|<J>|/(c<n>/3)`` and dA2 = <dJ.dJ>^(1/2)/(c<n>/3) versus energy (BA eqs. 3.3-3.6).

    Parameters
    ----------
    E : float or array
        Total energy per nucleus, GeV (> 0).
    diffusion : object with ``.D(E, Z)`` or callable
        Diffusion model, e.g. ``crlib.diffusion.BADiffusion(1/3, H)``, returning kpc^2/Myr.
    H : float
        Halo half-height, kpc (> 0).
    sources, rate, grid_kw
        As in :func:`mean_density` (e.g. ``Cylindrical()`` with a rate, BA eq. 4.1).
    Z : float
        Charge number (> 0).
    gamma : float or array
        Loss rate, 1/Myr (>= 0), broadcast to E.

    Returns
    -------
    Decomposition
    """
    E = np.atleast_1d(V.positive("E", E)).astype(float)
    Z = V.positive("Z", V.as_float("Z", Z))
    if callable(getattr(diffusion, "D", None)) and not isinstance(diffusion, type):
        D = diffusion.D(E, Z)
    elif callable(diffusion):
        D = diffusion(E, Z)
    else:
        raise ValueError(f"diffusion must have a .D(E, Z) method or be callable, "
                         f"got an object of type {type(diffusion).__name__}")
    D = V.positive("diffusion D(E, Z)", D)
    try:
        D = np.broadcast_to(D, E.shape)
        gamma = np.broadcast_to(V.non_negative("gamma", gamma), E.shape)
    except ValueError:
        raise ValueError(f"gamma and diffusion D(E, Z) must broadcast to the shape of E {E.shape}, "
                         f"got {np.shape(gamma)} and {np.shape(D)}") from None
    D, H, gamma = _checked(D, H, gamma)
    g = _grid(sources, rate, grid_kw)
    T = np.atleast_1d(t_min(g.sigma_sun, D))
    n = np.array([_n(g, d, H, gm) for d, gm in zip(D, gamma)])
    J = np.array([_J(g, d, H, gm) for d, gm in zip(D, gamma)])
    dJ2 = np.array([_dJ2(g, d, H, gm, t) for d, gm, t in zip(D, gamma, T)])
    norm = c_light * n / 3.0
    return Decomposition(E, D, T, n, J, dJ2, np.linalg.norm(J, axis=1) / norm, np.sqrt(dJ2) / norm)
