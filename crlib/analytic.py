"""Closed-form estimates of cosmic-ray anisotropy, age, source counts and the knee.

Order-of-magnitude relations that the numerical machinery of crlib should
reproduce in the appropriate limits. Two papers are the sources:

* **SH**: the small-halo paper (:ref:`model-diffusion`, :ref:`model-analytic`):
  the gradient estimate A ≈ λ/h (SH eq. 2), the escape time τ ≈ h²/3D
  (SH eq. 3) pinned by ¹⁰Be, the resulting A ≈ h/(cτ) (SH eq. 4) and the
  number of contributing supernovae (SH eq. 5).
* **BA**: Blasi & Amato 2012, JCAP 01, 011 (arXiv:1105.4529), §3: the
  fluctuation part of the anisotropy for a uniform thin disk of sources
  (BA eqs. 3.9-3.13).

Only estimates that exist nowhere else live here.  Their ingredients have one
home each: the power-law D, the knee break, the Larmor radius, the mean free
path of a model and the transition energy are in :mod:`crlib.diffusion`
(:class:`~crlib.diffusion.PowerLawDiffusion`, :func:`~crlib.diffusion.SHDiffusion`,
:class:`~crlib.diffusion.KneeBreak`, :func:`~crlib.diffusion.larmor_radius`,
:func:`~crlib.diffusion.mean_free_path`, :func:`~crlib.diffusion.transition_energy`),
the local cut-off T_min and the vertical factor in :mod:`crlib.largescale`
(:func:`~crlib.largescale.t_min`, :func:`~crlib.largescale.vertical_factor`)
and the local supernova rate in :mod:`crlib.sources`
(:func:`~crlib.sources.local_rate`, :func:`~crlib.sources.surface_density`).

All quantities are plain floats (or float arrays) in crlib's internal units
(kpc, Myr, GeV; D in kpc²/Myr, rates in 1/Myr, magnetic fields in the units
of :mod:`crlib.units`, where ``e_charge * B`` is in GeV/kpc). Energies are
total energies per nucleus; rigidity is E/Z in GV for ultra-relativistic
nuclei. Write inputs as multiples of unit constants, e.g.
``anisotropy_gradient(6e26 * cm2_per_s, 250 * pc)``.
"""

import math

import numpy as np
from scipy import integrate

from . import _validate as _v
from .units import GeV, c_light, kpc, yr

__all__ = [
    "mean_free_path_from_D",
    "anisotropy_gradient",
    "cr_age",
    "age_pinned",
    "D0_from_age",
    "anisotropy_pinned",
    "n_sources",
    "relative_fluctuation",
    "ba_mean_density",
    "ba_current_fluctuation",
    "ba_T_min",
    "ba_current_fluctuation_full",
    "ba_delta_A2_Tmin",
    "ba_delta_A2",
    "all_particle_amplitude",
    "compton_getting",
    "TAU_BE10",
]

#: Cosmic-ray age at 1 GeV inferred from ¹⁰Be, 1e7 yr (SH §3, after Strong et al. 2007).
TAU_BE10 = 1.0e7 * yr


def _out(x):
    """Return a Python float for 0-d input, the array otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


# --------------------------------------------------------------------------
# SH §3: gradient anisotropy, age, ¹⁰Be pinning
# --------------------------------------------------------------------------

def mean_free_path_from_D(D):
    """Effective mean free path of diffusion from D itself, λ = 3D/c (SH eq. 2).

    :func:`crlib.diffusion.mean_free_path` is the same relation for a diffusion
    model at an energy and charge.

    Parameters
    ----------
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).

    Returns
    -------
    float or array
        λ in kpc.
    """
    D = _v.positive("D", D)
    return _out(3.0 * D / c_light)


def anisotropy_gradient(D, h):
    """Dipole amplitude from a density gradient on the scale h: A ≈ λ/h = 3D/(c h) (SH eq. 2).

    The diffusive dipole is δ = (3D/c) |∇n|/n; taking |∇n|/n ≈ 1/h, the halo
    height, gives this estimate.

    Parameters
    ----------
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).
    h : float or array
        Halo half-height (gradient scale) in kpc (> 0).

    Returns
    -------
    float or array
        Dimensionless amplitude.
    """
    D = _v.positive("D", D)
    h = _v.positive("h", h)
    return _out(3.0 * D / (c_light * h))



def cr_age(D, h):
    """Diffusive escape time (age) from a halo of half-height h: τ ≈ h²/(3D) (SH eq. 3).

    Parameters
    ----------
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).
    h : float or array
        Halo half-height in kpc (> 0).

    Returns
    -------
    float or array
        τ in Myr.
    """
    D = _v.positive("D", D)
    h = _v.positive("h", h)
    return _out(h**2 / (3.0 * D))


def D0_from_age(h, tau=TAU_BE10):
    """Diffusion coefficient at 1 GV that gives age ``tau`` in a halo h: D0 = h²/(3τ) (SH eq. 3).

    With the default τ = 1e7 yr this is the ¹⁰Be pinning of SH §3
    (h = 250 pc gives 2.1e-3 kpc²/Myr ≈ 6.2e26 cm²/s, SH's nominal D0).

    Parameters
    ----------
    h : float or array
        Halo half-height in kpc (> 0).
    tau : float
        Age at 1 GeV (1 GV) in Myr (> 0).

    Returns
    -------
    float or array
        D0 in kpc²/Myr.
    """
    h = _v.positive("h", h)
    tau = _v.positive("tau", tau)
    return _out(h**2 / (3.0 * tau))


def age_pinned(E, tau=TAU_BE10, p=1.0 / 3.0, Z=1):
    """Age τ(E) = τ_GeV (E / Z GeV)^(−p), the ¹⁰Be-pinned age at other energies (SH eqs. 3-4).

    Parameters
    ----------
    E : float or array
        Total energy per nucleus in GeV (> 0).
    tau : float
        Age at rigidity 1 GV in Myr (> 0); default 1e7 yr (SH §3).
    p : float
        Index of D(E), in (0, 1).
    Z : float
        Charge number (> 0).

    Returns
    -------
    float or array
        τ(E) in Myr.
    """
    E = _v.positive("E", E)
    tau = _v.positive("tau", _v.as_float("tau", tau))
    p = _v.in_open_interval("p", _v.as_float("p", p), 0.0, 1.0)
    Z = _v.positive("Z", _v.as_float("Z", Z))
    return _out(tau * (np.asarray(E) / (Z * GeV)) ** (-p))


def anisotropy_pinned(E, h, tau=TAU_BE10, p=1.0 / 3.0, Z=1):
    """Anisotropy with the age pinned by ¹⁰Be: A ≈ h / (c τ(E)) (SH eq. 4).

    Combining A = 3D/(ch) (SH eq. 2) with τ = h²/(3D) (SH eq. 3) eliminates
    D: A = h/(cτ). With τ(1 GeV) = 1e7 yr and p = 1/3 this is
    A ≈ 1e-3 (h/300 pc)(E/TeV)^(1/3).

    Parameters
    ----------
    E : float or array
        Total energy per nucleus in GeV (> 0).
    h : float
        Halo half-height in kpc (> 0).
    tau, p, Z
        As in :func:`age_pinned`.

    Returns
    -------
    float or array
        Dimensionless amplitude.
    """
    h = _v.positive("h", h)
    return _out(h / (c_light * np.asarray(age_pinned(E, tau, p, Z))))


# --------------------------------------------------------------------------
# SH eq. 5: number of contributing sources
# --------------------------------------------------------------------------


def n_sources(h, tau, R_local=None):
    """Number of supernovae whose cosmic rays reach the observer: n ≈ π R_local h² τ (SH eq. 5).

    Sources within a disk of radius ~h around the observer that exploded within
    the last age τ. With τ(E) ∝ E^(−p) the count falls with energy,
    n ≈ 12 (h/300 pc)² (E/TeV)^(−1/3) (the minus sign is lost in the extracted
    text of SH eq. 5; :ref:`model-analytic`).

    Parameters
    ----------
    h : float or array
        Halo half-height in kpc (> 0).
    tau : float or array
        Age in Myr (> 0), e.g. from :func:`age_pinned`.
    R_local : float, optional
        Local surface rate in kpc⁻² Myr⁻¹ (> 0); default SH's: an exponential
        disk of scale 4 kpc with 1/(30 yr), at R⊙ = 8.5 kpc
        (:func:`crlib.sources.local_rate`, 3.96e-5 kpc⁻² yr⁻¹).

    Returns
    -------
    float or array
        Expected number of sources.
    """
    h = _v.positive("h", h)
    tau = _v.positive("tau", tau)
    if R_local is None:
        from .sources import ExponentialDisk, local_rate
        R_local = local_rate(ExponentialDisk(r_d=4.0 * kpc), 1.0 / (30.0 * yr))
    R_local = _v.positive("R_local", R_local)
    return _out(math.pi * R_local * np.asarray(h) ** 2 * np.asarray(tau))


def relative_fluctuation(n):
    """Poisson relative fluctuation 1/√n of a quantity fed by n sources (SH §3).

    Parameters
    ----------
    n : float or array
        Expected number of sources (> 0).

    Returns
    -------
    float or array
    """
    n = _v.positive("n", n)
    return _out(1.0 / np.sqrt(n))


# --------------------------------------------------------------------------
# BA §3: uniform thin disk, fluctuation anisotropy
# --------------------------------------------------------------------------

def ba_mean_density(N, rate, H, D, R_d):
    """Mean density at the disk centre for a uniform disk of sources, H ≪ R_d (BA eq. 3.10).

    ⟨n⟩ = N R H / (2π R_d² D): the steady slab solution H/(2D) times the
    surface rate R/(π R_d²) times the particles per source N.

    Parameters
    ----------
    N : float or array
        Particles per source (per unit energy) (> 0).
    rate : float
        Galactic supernova rate R in 1/Myr (> 0).
    H : float or array
        Halo half-height in kpc (> 0).
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).
    R_d : float
        Disk radius in kpc (> 0).

    Returns
    -------
    float or array
        Density in particles per kpc³.
    """
    N = _v.positive("N", N)
    rate = _v.positive("rate", rate)
    H = _v.positive("H", H)
    D = _v.positive("D", D)
    R_d = _v.positive("R_d", R_d)
    return _out(N * rate * H / (2.0 * math.pi * R_d**2 * D))


def ba_current_fluctuation(N0, rate, D, T_min, R_d):
    """Mean square fluctuation of the CR current, ⟨δJ·δJ⟩ ≈ R N0² / (128 π³ D T_min² R_d²) (BA eq. 3.9).

    Valid for a uniform, infinitely thin disk of radius R_d, protons without
    spallation and H²/(D T_min) ≫ 1 (only the l = m = 0 image term of BA
    eq. 3.8 survives).

    Parameters
    ----------
    N0 : float
        Particles per source (> 0).
    rate : float
        Galactic supernova rate R in 1/Myr (> 0).
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).
    T_min : float or array
        Lower cut-off of the age integral in Myr (> 0).
    R_d : float
        Disk radius in kpc (> 0).

    Returns
    -------
    float or array
        ⟨δJ·δJ⟩ in (particles kpc⁻² Myr⁻¹)².
    """
    N0 = _v.positive("N0", N0)
    rate = _v.positive("rate", rate)
    D = _v.positive("D", D)
    T_min = _v.positive("T_min", T_min)
    R_d = _v.positive("R_d", R_d)
    return _out(rate * N0**2 / (128.0 * math.pi**3 * D * T_min**2 * R_d**2))


def ba_T_min(rate, D, R_d):
    """Cut-off time T_min = (4 R D / R_d²)^(−1/2) (BA eq. 3.12).

    Defined by R T_min/(π R_d²) · 4π D T_min = 1: one supernova expected in
    the area 4π D T_min within the time T_min.

    Parameters
    ----------
    rate : float
        Galactic supernova rate R in 1/Myr (> 0).
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).
    R_d : float
        Disk radius in kpc (> 0).

    Returns
    -------
    float or array
        T_min in Myr.
    """
    rate = _v.positive("rate", rate)
    D = _v.positive("D", D)
    R_d = _v.positive("R_d", R_d)
    return _out((4.0 * rate * np.asarray(D) / R_d**2) ** -0.5)



def _vertical_S(tau, D, H):
    """S(τ) = Σ_m (−1)^m exp(−m²H²/Dτ) = (4πDτ)^(1/2) g_z(τ) for free escape at z = ±H.

    The image sum of :ref:`model-green` at z = z_s = 0 (a Jacobi theta function),
    from :func:`crlib.largescale.vertical_factor` (which takes it from
    :func:`crlib.green.slab_green`). Arguments are checked there.
    """
    from .largescale import vertical_factor
    g = vertical_factor(tau, D, H)
    return _out(np.sqrt(4.0 * math.pi * D * np.asarray(tau, float)) * g)


def ba_current_fluctuation_full(N0, rate, D, H, T_min, R_d):
    """⟨δJ·δJ⟩ of BA eq. 3.8 keeping every image term, for a disk much wider than (D T_min)^(1/2).

    With the radial integral of BA eq. 3.8 extended to infinity (it converges
    within a few (D τ)^(1/2) of the observer),

        ⟨δJ·δJ⟩ = (R N0² / (64 π³ R_d² D)) ∫_{T_min}^∞ dτ τ⁻³ S(τ)²,

    S(τ) = Σ_m (−1)^m exp(−m²H²/Dτ). Keeping only S = 1 (the l = m = 0 term,
    valid for H²/(D T_min) ≫ 1) gives BA eq. 3.9, :func:`ba_current_fluctuation`.
    The τ integral is done with adaptive quadrature (scipy.integrate.quad) in
    ln τ.

    Parameters
    ----------
    N0 : float
        Particles per source (> 0).
    rate : float
        Galactic supernova rate R in 1/Myr (> 0).
    D : float
        Diffusion coefficient in kpc²/Myr (> 0).
    H : float
        Halo half-height in kpc (> 0).
    T_min : float
        Lower cut-off of the age integral in Myr (> 0).
    R_d : float
        Disk radius in kpc (> 0).

    Returns
    -------
    float
        ⟨δJ·δJ⟩ in (particles kpc⁻² Myr⁻¹)².
    """
    N0 = _v.positive("N0", _v.as_float("N0", N0))
    rate = _v.positive("rate", _v.as_float("rate", rate))
    D = _v.positive("D", _v.as_float("D", D))
    H = _v.positive("H", _v.as_float("H", H))
    T = _v.positive("T_min", _v.as_float("T_min", T_min))
    R_d = _v.positive("R_d", _v.as_float("R_d", R_d))
    # τ = T e^s: ∫_T^∞ τ⁻³ S² dτ = T⁻² ∫_0^∞ e^(−2s) S(T e^s)² ds
    f = lambda s_: math.exp(-2.0 * s_) * _vertical_S(T * math.exp(s_), D, H) ** 2
    val = integrate.quad(f, 0.0, 40.0, limit=400, epsabs=0.0, epsrel=1e-11)[0] / T**2
    return rate * N0**2 / (64.0 * math.pi**3 * R_d**2 * D) * val


def ba_delta_A2_Tmin(D, rate, R_d, H, T_min):
    """Fluctuation anisotropy for a given cut-off T_min (BA eq. 3.11).

    δA2 = 3 / (2^(5/2) π^(1/2)) · D^(1/2) / (c R^(1/2)) · (R_d/H) / T_min,
    i.e. ⟨δJ·δJ⟩^(1/2) / (c⟨n⟩/3) with BA eqs. 3.9 and 3.10.

    Parameters
    ----------
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).
    rate : float
        Galactic supernova rate R in 1/Myr (> 0).
    R_d : float
        Disk radius in kpc (> 0).
    H : float or array
        Halo half-height in kpc (> 0).
    T_min : float or array
        Cut-off time in Myr (> 0).

    Returns
    -------
    float or array
        Dimensionless rms amplitude.
    """
    D = _v.positive("D", D)
    rate = _v.positive("rate", rate)
    R_d = _v.positive("R_d", R_d)
    H = _v.positive("H", H)
    T_min = _v.positive("T_min", T_min)
    pref = 3.0 / (2.0**2.5 * math.sqrt(math.pi))
    return _out(pref * np.sqrt(D) / (c_light * np.sqrt(rate)) * (R_d / np.asarray(H)) / T_min)


def ba_delta_A2(D, H):
    """Fluctuation anisotropy with T_min from BA eq. 3.12: δA2 = 3/(2^(3/2) π^(1/2)) · D/(H c) (BA eq. 3.13).

    Independent of the rate and the disk radius, and ∝ D/H like SH eq. 2.

    Parameters
    ----------
    D : float or array
        Diffusion coefficient in kpc²/Myr (> 0).
    H : float or array
        Halo half-height in kpc (> 0).

    Returns
    -------
    float or array
        Dimensionless rms amplitude.
    """
    D = _v.positive("D", D)
    H = _v.positive("H", H)
    return _out(3.0 / (2.0**1.5 * math.sqrt(math.pi)) * D / (np.asarray(H) * c_light))


def all_particle_amplitude(amplitudes, fluxes):
    """Amplitude of aligned species dipoles weighted by flux: Σ_k n_k A_k / Σ_k n_k (:ref:`model-anisotropy`).

    The all-particle dipole is (3/c) Σ_k D_k ∇n_k / Σ_k n_k. When every
    species has the same gradient direction and scale (∇n_k/n_k ≈ 1/h, the
    assumption behind SH eq. 2), this is the flux-weighted mean of the
    species amplitudes A_k = λ_k/h.

    Parameters
    ----------
    amplitudes : array, shape (K, ...)
        Amplitude of each species (>= 0).
    fluxes : array, shape (K, ...)
        Flux (or density) of each species at the same total energy (>= 0,
        not all zero).

    Returns
    -------
    array, shape (...)
    """
    A = _v.non_negative("amplitudes", amplitudes)
    F = _v.non_negative("fluxes", fluxes)
    A = np.asarray(A, dtype=float)
    F = np.asarray(F, dtype=float)
    if A.shape != F.shape or A.ndim == 0:
        raise ValueError(f"amplitudes and fluxes must have the same shape (K, ...), "
                         f"got {A.shape} and {F.shape}")
    tot = F.sum(axis=0)
    if np.any(tot <= 0):
        raise ValueError("fluxes must not all be zero at any energy")
    return _out((A * F).sum(axis=0) / tot)


# --------------------------------------------------------------------------
# Compton-Getting
# --------------------------------------------------------------------------

def compton_getting(gamma, v):
    """Compton-Getting dipole of an observer moving at speed v: δ_CG = (2 + γ) v/c (SH §3 Fig. 1).

    Parameters
    ----------
    gamma : float or array
        Spectral index of the differential intensity, I ∝ E^(−γ) (> 0).
    v : float or array
        Observer speed relative to the cosmic-ray rest frame in kpc/Myr
        (>= 0), e.g. ``20 * km_per_s``.

    Returns
    -------
    float or array
        Dimensionless amplitude (≈ 3e-4 for γ = 2.7, v = 20 km/s).
    """
    gamma = _v.positive("gamma", gamma)
    v = _v.non_negative("v", v)
    if np.any(np.asarray(v) >= c_light):
        raise ValueError(f"v must be < c = {c_light!r} kpc/Myr, got {np.max(v)!r}")
    return _out((2.0 + np.asarray(gamma)) * np.asarray(v) / c_light)
