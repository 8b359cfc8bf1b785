r"""Reference implementation of BA's δA1/δA2 integrals, used only by the tests.

It was written independently of :mod:`crlib.largescale` (the library's implementation, which the
book uses) and is kept here so that the tests can check one against the other.

Large-scale and fluctuation parts (BA §3, §5)
---------------------------------------------
Over many realizations of a Poisson process of bursts with mean rate density
P(r⃗, t), the mean current and the variance of the current at the observer are
(BA eqs. 3.5-3.6)

    ⟨J⃗⟩ = −N0 D ∫ d³r' dt' ∇G P,      ⟨δJ⃗·δJ⃗⟩ = N0² D² ∫ d³r' dt' |∇G|² P,

and BA's two amplitudes are δA1 = |⟨J⃗⟩|/(c⟨n⟩/3), δA2 = ⟨δJ⃗·δJ⃗⟩^(1/2)/(c⟨n⟩/3)
(BA eqs. 3.3-3.4). :func:`ba_decomposition` evaluates them for sources in an
infinitely thin disk (z = 0) with a steady surface rate density Σ(x, y) in
kpc⁻² Myr⁻¹, in a slab halo |z| < H with free escape and without spallation
(protons, as in BA §3 and Fig. 7). The age integral of ⟨δJ⃗·δJ⃗⟩ diverges at
small ages and is cut at T_min (BA eq. 3.12), see :func:`crlib.largescale.t_min`.

How the integrals are done. With ρ the horizontal distance between source
and observer, the burst Green function at z = z_s = 0 is
G = exp(−ρ²/4Dτ)/(4πDτ) · G_z(τ), and ∇G = (r⃗_s − r⃗_obs)/(2Dτ) · G. The
three time integrals needed have closed forms (Γ = 0):

* g_n(ρ) = ∫₀^∞ G dτ
  = (1/4πD) Σ_{m∈ℤ} (−1)^m / (ρ² + 4m²H²)^(1/2)        (images)
  = (1/2πDH) Σ_{k odd} K₀(kπρ/2H)                       (eigenmodes);
* g_J(ρ) = ∫₀^∞ G/(2Dτ) dτ = −g_n'(ρ)/ρ
  = (1/4πD) Σ_m (−1)^m / (ρ² + 4m²H²)^(3/2)
  = (1/4DH²ρ) Σ_{k odd} k K₁(kπρ/2H);
* g_2(ρ) = ∫_{T_min}^∞ G²/(2Dτ)² dτ
  = (4πD)⁻³ (2D)⁻² Σ_{l,m∈ℤ} (−1)^(l+m) ∫_{T_min}^∞ τ⁻⁵ e^(−b_{lm}/τ) dτ,
  b_{lm} = ρ²/2D + (l² + m²)H²/D, and ∫_T^∞ τ⁻⁵ e^(−b/τ) dτ = γ(4, b/T)/b⁴
  (lower incomplete gamma function): BA eq. 3.8 done analytically. The
  truncated image sum is accurate near the observer but not for ρ ≫ H, so
  :func:`ba_decomposition` evaluates g_2 by Gauss-Legendre quadrature in ln τ
  instead (≈1 ms per energy) and the closed form serves as a check.

so that ⟨n⟩ = N0 ∫ d²r Σ g_n, ⟨∇n⟩ = N0 ∫ d²r Σ (r⃗_s − r⃗_obs) g_J and
⟨|δ∇n|²⟩ = N0² ∫ d²r Σ ρ² g_2. The remaining surface integral is done on a
polar grid centred on the observer (logarithmic in ρ, uniform in azimuth):
the azimuthal moments of Σ do not depend on energy and are computed once, so
every energy costs one radial quadrature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from crlib import _validate as _v
from crlib.analytic import _vertical_S
from crlib.analytic import (  # noqa: F401  (re-exported for the tests)
    ba_T_min,
    ba_current_fluctuation,
    ba_current_fluctuation_full,
    ba_delta_A2,
    ba_delta_A2_Tmin,
    ba_mean_density,
)
from crlib.largescale import t_min
from crlib.anisotropy import amplitude, phase_max_intensity, phase_streaming  # noqa: F401
from crlib.galaxy import OBSERVER
from crlib.units import c_light


# ============================================================================
# time-integrated kernels of the thin-disk, slab-halo problem (Γ = 0)
# ============================================================================

#: below this ρ/H the image series is used for g_n and g_J, above it the eigenmodes.
_RHO_SWITCH = 0.5
_N_IMAGES = 40
#: eigenmode argument kπρ/2H beyond which K_0, K_1 < 1e-17 relative
_X_MODES = 40.0


def _check_rho_D_H(rho, D, H):
    rho = np.asarray(_v.positive("rho", rho), dtype=float)
    D = _v.positive("D", _v.as_float("D", D))
    H = _v.positive("H", _v.as_float("H", H))
    return rho, D, H


def _gn_gJ(rho, D, H):
    """g_n(ρ) and g_J(ρ) (see module docstring) on a 1-d array of ρ; no checks."""
    rho = np.asarray(rho, dtype=float)
    gn = np.empty_like(rho)
    gJ = np.empty_like(rho)
    small = rho < _RHO_SWITCH * H
    if np.any(small):
        r = rho[small]
        m = np.arange(1, _N_IMAGES + 2, dtype=float)
        sgn = (-1.0) ** m
        two_mH = 2.0 * m * H
        R2 = r[:, None] ** 2 + two_mH[None, :] ** 2
        # Σ_{m≥1} (−1)^m / R_m = −ln2/(2H) + Σ (−1)^m (1/R_m − 1/(2mH)); the last term is
        # averaged with the previous partial sum (half weight) to cancel the alternating tail.
        w = np.ones_like(m)
        w[-1] = 0.5
        corr = np.sum(w * sgn * (1.0 / np.sqrt(R2) - 1.0 / two_mH), axis=1)
        gn[small] = (1.0 / r + 2.0 * (-math.log(2.0) / (2.0 * H) + corr)) / (4.0 * math.pi * D)
        tail = np.sum(w * sgn * R2 ** -1.5, axis=1)
        gJ[small] = (r ** -3 + 2.0 * tail) / (4.0 * math.pi * D)
    big = ~small
    if np.any(big):
        r = rho[big]
        kmax = int(math.ceil(_X_MODES * 2.0 * H / (math.pi * r.min())))
        k = np.arange(1, kmax + 2, 2, dtype=float)
        x = k[None, :] * math.pi * r[:, None] / (2.0 * H)
        gn[big] = special.k0(x).sum(axis=1) / (2.0 * math.pi * D * H)
        gJ[big] = (k * special.k1(x)).sum(axis=1) / (4.0 * D * H * H * r)
    return gn, gJ


def kernel_density(rho, D, H):
    """Time-integrated density of one burst per unit injected particle, g_n(ρ) = ∫₀^∞ G dτ.

    Source and observer in the mid-plane of a slab halo with free escape at
    z = ±H, no spallation (the steady solution of BA Paper I; :ref:`model-green`):
    g_n = (1/2πDH) Σ_{k odd} K₀(kπρ/2H) = (1/4πD) Σ_m (−1)^m (ρ² + 4m²H²)^(−1/2).

    Parameters
    ----------
    rho : float or array
        Horizontal source-observer distance, kpc (> 0).
    D : float
        Diffusion coefficient, kpc²/Myr (> 0).
    H : float
        Halo half-height, kpc (> 0).

    Returns
    -------
    float or array
        g_n in Myr kpc⁻³ (a steady rate density of sources Σ [kpc⁻² Myr⁻¹] gives
        n = ∫ d²r Σ g_n per injected particle).
    """
    rho, D, H = _check_rho_D_H(rho, D, H)
    gn, _ = _gn_gJ(np.atleast_1d(rho), D, H)
    return float(gn[0]) if rho.ndim == 0 else gn.reshape(rho.shape)


def kernel_gradient(rho, D, H):
    """Time integral g_J(ρ) = ∫₀^∞ G/(2Dτ) dτ = −g_n'(ρ)/ρ: ⟨∇n⟩ = ∫ d²r Σ (r⃗_s − r⃗_obs) g_J.

    g_J = (1/4DH²ρ) Σ_{k odd} k K₁(kπρ/2H) = (1/4πD) Σ_m (−1)^m (ρ² + 4m²H²)^(−3/2)
    (BA eq. 3.5 for a thin disk; same geometry as :func:`kernel_density`).

    Parameters
    ----------
    rho, D, H
        As in :func:`kernel_density`.

    Returns
    -------
    float or array
        g_J in Myr kpc⁻⁵.
    """
    rho, D, H = _check_rho_D_H(rho, D, H)
    _, gJ = _gn_gJ(np.atleast_1d(rho), D, H)
    return float(gJ[0]) if rho.ndim == 0 else gJ.reshape(rho.shape)


def _gamma4_over_b4(b, T):
    """∫_T^∞ τ⁻⁵ exp(−b/τ) dτ = γ(4, b/T)/b⁴ = T⁻⁴ h(b/T), h(x) = γ(4,x)/x⁴, stable at small x."""
    x = b / T
    h = np.empty_like(x)
    s = x < 1e-2
    xs = x[s]
    # γ(4,x)/x⁴ = Σ_j (−x)^j / (j! (4+j))
    h[s] = 1 / 4 - xs / 5 + xs**2 / 12 - xs**3 / 42 + xs**4 / 192 - xs**5 / 1080
    xl = x[~s]
    h[~s] = 6.0 * special.gammainc(4.0, xl) / xl**4
    return h / T**4


def _image_weights(u, tol):
    """Distinct s = l² + m² with weights (−1)^s r₂(s), truncated for relative tolerance ``tol``.

    The terms with s ≥ 1 are bounded by r₂(s)·6 (D T/sH²)⁴ T⁻⁴; their tail beyond S is below
    (π/3)·6 u⁴/S³ · T⁻⁴ ≤ tol × (the ρ → 0 value T⁻⁴/4 of the s = 0 term) for
    S ≥ (8π u⁴/tol)^(1/3), u = D T/H².
    """
    S = max(2, int(math.ceil((8.0 * math.pi * u**4 / tol) ** (1.0 / 3.0))))
    L = int(math.isqrt(S)) + 1
    l = np.arange(-L, L + 1)
    s = (l[:, None] ** 2 + l[None, :] ** 2).ravel()
    s = s[s <= S]
    counts = np.bincount(s)
    vals = np.nonzero(counts)[0]
    return vals.astype(float), ((-1.0) ** vals) * counts[vals]


def _g2_closed(rho, D, H, T, tol):
    s, w = _image_weights(D * T / H**2, tol)
    b = rho[:, None] ** 2 / (2.0 * D) + s[None, :] * H**2 / D
    vals = _gamma4_over_b4(b.ravel(), T).reshape(b.shape)
    return (vals @ w) / ((4.0 * math.pi * D) ** 3 * 4.0 * D**2)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def _g2_quadrature(rho, D, H, T):
    """g_2 by Gauss-Legendre quadrature in ln τ from T to the eigenmode decay (independent check)."""
    lam1 = math.pi**2 * D / (4.0 * H**2)  # slowest vertical decay rate
    smax = min(math.log1p(60.0 / (lam1 * T)), 14.0)  # S² ∝ exp(−2 λ₁ τ) and τ⁻⁴ decay
    edges = np.linspace(0.0, smax, 33)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    sn = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    wn = (half[:, None] * _GL_W[None, :]).ravel()
    tau = T * np.exp(sn)
    S2 = _vertical_S(tau, D, H) ** 2
    # ∫ dτ τ⁻⁵ e^(−ρ²/2Dτ) S² with dτ = τ ds
    integrand = tau[None, :] ** -4 * np.exp(-rho[:, None] ** 2 / (2.0 * D * tau[None, :])) * S2[None, :]
    return (integrand @ wn) / ((4.0 * math.pi * D) ** 3 * 4.0 * D**2)


def kernel_fluctuation(rho, D, H, T_min, method="quadrature", tol=1e-10):
    """g_2(ρ) = ∫_{T_min}^∞ G²/(2Dτ)² dτ: ⟨|δ∇n|²⟩ = ∫ d²r Σ ρ² g_2 (BA eqs. 3.6, 3.8).

    ``method="quadrature"`` (default): composite Gauss-Legendre quadrature in
    ln τ (32 panels × 8 nodes) from T_min until the slowest vertical eigenmode
    has decayed by e⁻⁶⁰ (at most 14 e-folds), with the vertical factor from
    images or eigenmodes (:func:`crlib.analytic._vertical_S`); accurate to
    ~1e-12 relative at every ρ.

    ``method="images"``: BA eq. 3.8 done analytically. Squaring the image series
    gives Σ_{l,m} (−1)^(l+m) γ(4, b_lm/T)/b_lm⁴ with b_lm = ρ²/2D + (l² + m²)H²/D
    (γ the lower incomplete gamma function); the l = m = 0 term alone is the
    approximation behind BA eq. 3.9 (H²/D T_min ≫ 1). The sum is truncated a
    priori at relative accuracy ``tol`` with respect to g_2(0). Exact term by
    term, but for ρ ≫ H the true kernel decays exponentially while each image
    term decays as a power, so the truncated sum loses *relative* accuracy
    there (harmless for the surface integral, whose weight sits at ρ ≲
    (D T_min)^(1/2)); and the number of terms grows as (D T_min/H²)^(4/3). Use
    it near the observer and as a check.

    Parameters
    ----------
    rho : float or array
        Horizontal distance, kpc (> 0).
    D : float
        Diffusion coefficient, kpc²/Myr (> 0).
    H : float
        Halo half-height, kpc (> 0).
    T_min : float
        Lower cut of the age integral, Myr (> 0).
    method : {"quadrature", "images"}
    tol : float
        Relative truncation tolerance of ``method="images"``, in (0, 1).

    Returns
    -------
    float or array
        g_2 in Myr kpc⁻¹⁰.
    """
    rho, D, H = _check_rho_D_H(rho, D, H)
    T = _v.positive("T_min", _v.as_float("T_min", T_min))
    tol = _v.tolerance("tol", tol)
    if method not in ("images", "quadrature"):
        raise ValueError(f"method must be 'quadrature' or 'images', got {method!r}")
    r = np.atleast_1d(rho).astype(float).ravel()
    out = _g2_closed(r, D, H, T, tol) if method == "images" else _g2_quadrature(r, D, H, T)
    return float(out[0]) if rho.ndim == 0 else out.reshape(rho.shape)


# ============================================================================
# BA's δA1 / δA2 for a thin disk with a given mean surface rate density
# ============================================================================

def uniform_disk(rate, R_d):
    """Surface rate density of a uniform disk, Σ = R/(πR_d²) for r < R_d, 0 outside (BA eq. 3.7).

    Parameters
    ----------
    rate : float
        Galactic supernova rate R, per Myr (> 0), e.g. ``1 / (30 * yr)``.
    R_d : float
        Disk radius, kpc (> 0).

    Returns
    -------
    callable
        ``sigma(x, y)`` in kpc⁻² Myr⁻¹, vectorised (Galactocentric x, y in kpc).
    """
    rate = _v.positive("rate", _v.as_float("rate", rate))
    R_d = _v.positive("R_d", _v.as_float("R_d", R_d))
    level = rate / (math.pi * R_d**2)

    def sigma(x, y):
        return np.where(np.hypot(x, y) < R_d, level, 0.0)

    return sigma


@dataclass(frozen=True)
class Decomposition:
    """Result of :func:`ba_decomposition`; arrays have the shape of the input ``D`` (n_E,).

    Attributes
    ----------
    D : array
        Diffusion coefficient, kpc²/Myr.
    H : float
        Halo half-height, kpc.
    T_min : array
        Cut-off of the age integral used for δA2, Myr.
    sigma_local : float
        Surface rate density at the observer, kpc⁻² Myr⁻¹.
    n : array
        Mean density ⟨n⟩ per injected particle per source, kpc⁻³.
    grad_n : array, shape (n_E, 3)
        Mean gradient ⟨∇n⟩, kpc⁻⁴ (z component 0 for a thin disk).
    dgrad2 : array
        ⟨|δ∇n|²⟩ = ⟨δJ⃗·δJ⃗⟩/D², kpc⁻⁸ (per injected particle squared).
    delta1 : array, shape (n_E, 3)
        Large-scale dipole vector (3D/c)⟨∇n⟩/⟨n⟩, towards the maximum intensity.
    delta_A1 : array
        δA1 = |⟨J⃗⟩|/(c⟨n⟩/3) (BA eq. 3.3).
    delta_A2 : array
        δA2 = ⟨δJ⃗·δJ⃗⟩^(1/2)/(c⟨n⟩/3) (BA eq. 3.4).
    """

    D: np.ndarray
    H: float
    T_min: np.ndarray
    sigma_local: float
    n: np.ndarray
    grad_n: np.ndarray
    dgrad2: np.ndarray
    delta1: np.ndarray
    delta_A1: np.ndarray
    delta_A2: np.ndarray


def _simpson_weights(n, h):
    if n < 3 or n % 2 == 0:
        raise ValueError(f"n_rho must be odd and >= 3, got {n!r}")
    w = np.ones(n)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w * h / 3.0


def _azimuthal_moments(surface_rate, observer, rho, n_phi):
    """Σ̄₀(ρ) = ∫dφ Σ and Σ̄₁(ρ) = ∫dφ Σ (cos φ, sin φ) on circles around the observer."""
    phi = np.arange(n_phi) * (2.0 * math.pi / n_phi)
    c, s = np.cos(phi), np.sin(phi)
    x = observer[0] + rho[:, None] * c[None, :]
    y = observer[1] + rho[:, None] * s[None, :]
    sig = np.asarray(surface_rate(x, y), dtype=float)
    if sig.shape != x.shape:
        sig = np.broadcast_to(sig, x.shape)
    if not np.all(np.isfinite(sig)) or np.any(sig < 0):
        raise ValueError("surface_rate must return finite values >= 0")
    dphi = 2.0 * math.pi / n_phi
    m0 = sig.sum(axis=1) * dphi
    m1 = np.stack([(sig * c).sum(axis=1), (sig * s).sum(axis=1)], axis=1) * dphi
    return m0, m1


def ba_decomposition(surface_rate, D, H, *, T_min=None, sigma_local=None, observer=OBSERVER,
                     rho_min=None, rho_max=60.0, n_rho=401, n_phi=256):
    r"""Large-scale δA1 and fluctuation δA2 parts of the anisotropy (BA eqs. 3.3-3.6, §5, Fig. 7).

    Sources form a steady Poisson process in an infinitely thin disk (z = 0)
    with mean surface rate density ``surface_rate(x, y)``; the halo is a slab of
    half-height H with free escape, no spallation. The mean density, the mean
    gradient and the variance of the gradient at the observer are (module
    docstring for the kernels)

        ⟨n⟩ = ∫ d²r Σ g_n(ρ),   ⟨∇n⟩ = ∫ d²r Σ (r⃗ − r⃗_obs) g_J(ρ),
        ⟨|δ∇n|²⟩ = ∫ d²r Σ ρ² g_2(ρ; T_min)

    per injected particle, and

        δA1 = (3D/c) |⟨∇n⟩| / ⟨n⟩,   δA2 = (3D/c) ⟨|δ∇n|²⟩^(1/2) / ⟨n⟩,

    which are BA's |⟨J⃗⟩|/(c n/3) and ⟨δJ⃗·δJ⃗⟩^(1/2)/(c n/3) with J⃗ = −D∇n. Both
    are independent of the number of particles per source; δA1 is also
    independent of the overall rate. The surface integral uses a polar grid
    around the observer: Simpson's rule in ln ρ on [rho_min, rho_max] and the
    periodic trapezoid rule in azimuth.

    Parameters
    ----------
    surface_rate : callable
        ``surface_rate(x, y)`` → Σ in kpc⁻² Myr⁻¹ (≥ 0), vectorised over
        Galactocentric x, y in kpc, e.g. :func:`uniform_disk` or a source model's
        mean surface density times the Galactic rate.
    D : float or 1-d array
        Diffusion coefficient(s), kpc²/Myr (> 0), one per energy.
    H : float
        Halo half-height, kpc (> 0).
    T_min : float or array, optional
        Age cut-off of the fluctuation integral, Myr (> 0). Default: BA eq. 3.12
        with the local surface rate, T_min = (4π D Σ_local)^(−1/2)
        (:func:`crlib.largescale.t_min`).
    sigma_local : float, optional
        Σ_local for the default T_min, kpc⁻² Myr⁻¹ (> 0); default
        ``surface_rate`` at the observer.
    observer : (3,) sequence
        Observer position (x, y, z) in kpc; z must be 0 (thin-disk geometry).
    rho_min, rho_max : float
        Radial extent of the grid around the observer, kpc. ``rho_min`` defaults
        to 1e-6 × min(H, (D T_min)^(1/2)); the disk ρ < rho_min contributes a
        relative ~rho_min/H to ⟨n⟩ and is neglected. ``rho_max`` must cover the
        sources (default 60 kpc).
    n_rho : int
        Odd number of radial nodes (default 401).
    n_phi : int
        Number of azimuthal nodes (default 256).

    Returns
    -------
    Decomposition
    """
    if not callable(surface_rate):
        raise ValueError(f"surface_rate must be a callable sigma(x, y), got {surface_rate!r}")
    D = np.atleast_1d(_v.positive("D", D)).astype(float)
    if D.ndim != 1:
        raise ValueError(f"D must be a scalar or 1-d array, got shape {D.shape}")
    H = _v.positive("H", _v.as_float("H", H))
    obs = _v.as_float_array("observer", observer)
    if obs.shape != (3,):
        raise ValueError(f"observer must be a sequence of 3 coordinates, got shape {obs.shape}")
    if obs[2] != 0.0:
        raise ValueError(f"observer must lie in the disk plane (z = 0) for this thin-disk model, got z = {obs[2]!r}")
    n_rho = _v.positive_int("n_rho", n_rho)
    n_phi = _v.positive_int("n_phi", n_phi)
    rho_max = _v.positive("rho_max", _v.as_float("rho_max", rho_max))

    if sigma_local is None:
        sigma_local = float(np.asarray(surface_rate(np.array([obs[0]]), np.array([obs[1]])), float).ravel()[0])
        if not sigma_local > 0:
            raise ValueError(f"surface_rate at the observer must be > 0 to define T_min, got {sigma_local!r}; "
                             "pass T_min or sigma_local")
    sigma_local = _v.positive("sigma_local", _v.as_float("sigma_local", sigma_local))
    if T_min is None:
        T = np.asarray(t_min(sigma_local, D), dtype=float)
    else:
        T = np.broadcast_to(np.asarray(_v.positive("T_min", T_min), float), D.shape).copy()
    if rho_min is None:
        rho_min = 1e-6 * min(H, float(np.sqrt(np.min(D * T))))
    rho_min = _v.positive("rho_min", _v.as_float("rho_min", rho_min))
    if not rho_min < rho_max:
        raise ValueError(f"rho_min must be < rho_max = {rho_max!r}, got {rho_min!r}")

    lnr = np.linspace(math.log(rho_min), math.log(rho_max), n_rho)
    rho = np.exp(lnr)
    wq = _simpson_weights(n_rho, lnr[1] - lnr[0]) * rho**2  # d²r = ρ² d(ln ρ) dφ
    m0, m1 = _azimuthal_moments(surface_rate, obs, rho, n_phi)

    # g_n, g_J scale as 1/D at fixed H (Γ = 0): evaluate once with D = 1
    gn1, gJ1 = _gn_gJ(rho, 1.0, H)
    n1 = np.sum(wq * m0 * gn1)
    grad1 = np.sum((wq * rho * gJ1)[:, None] * m1, axis=0)  # (r_s − r_obs) = ρ ê(φ)
    n = n1 / D
    grad = np.zeros((D.size, 3))
    grad[:, :2] = grad1[None, :] / D[:, None]
    dgrad2 = np.empty(D.size)
    for j in range(D.size):
        g2 = _g2_quadrature(rho, D[j], H, T[j])
        dgrad2[j] = np.sum(wq * m0 * rho**2 * g2)
    pref = 3.0 * D / c_light
    delta1 = pref[:, None] * grad / n[:, None]
    return Decomposition(D=D, H=H, T_min=T, sigma_local=sigma_local, n=n, grad_n=grad, dgrad2=dgrad2,
                         delta1=delta1, delta_A1=amplitude(delta1), delta_A2=pref * np.sqrt(dgrad2) / n)
