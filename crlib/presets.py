"""Ready-made scenarios of Blasi & Amato (2012), BA §4–§5, and of the small-halo paper (SH §4).

:func:`ba_scenario` builds the :class:`crlib.ensemble.Scenario` of one panel of
BA's stochastic figures from the handful of parameters the paper varies
(source model, supernova rate, slope δ, halo height H, continuous escape,
spiral blurring scale w); everything else is BA's common setting: an 80 Myr
history, the five nuclear groups with spallation, γ + δ = 2.67, the B/C
normalisation of D(E) and energies from 1e3 to 1e8 GeV (:ref:`model-diffusion` to :ref:`model-anisotropy`).
:data:`BA_FIGURES` lists the parameters of each panel.  :func:`sh_scenario`
builds SH's nominal model (moving spiral arms, h = 250 pc, D0 = 6e26 cm²/s,
p = 1/3, protons) and its variations.
"""

import math


import numpy as np

from . import _validate as _v
from .diffusion import BADiffusion, SHDiffusion
from .ensemble import Scenario
from .galaxy import R_SUN
from .sources import ARM_REACH, Cylindrical, MovingSpiralArms, SpiralArms
from .species import BA_GROUPS, PROTONS
from .units import Myr, cm2_per_s, pc, yr

__all__ = ["ba_scenario", "BA_FIGURES", "GAMMA_PLUS_DELTA", "sh_scenario", "sh_span"]

#: γ + δ of BA (their eq. 2.2 and Paper I), the slope of the observed spectrum.
GAMMA_PLUS_DELTA = 2.67

_MODELS = ("cylindrical", "spiral")


def ba_scenario(model="cylindrical", rate=1.0 / (30.0 * yr), delta=1.0 / 3.0, H=4.0,
                tau_snr=None, w=5.0, n_energies=40, E_range=(1e3, 1e8), T=80.0 * Myr,
                species=BA_GROUPS, spallation=True, tol=1e-4):
    """Scenario of one of BA's stochastic-supernova panels.

    Parameters
    ----------
    model : {"cylindrical", "spiral"}
        Source model: :class:`crlib.sources.Cylindrical` or
        :class:`crlib.sources.SpiralArms` with blurring scale ``w``.
    rate : float
        Galactic supernova rate, 1/Myr (BA: ``1/(30*yr)`` or ``1/(100*yr)``).
    delta : float
        Slope of D(E); 1/3 or 0.6 (the two slopes with BA's B/C normalisation).
    H : float
        Halo half-height, kpc (> 0.15 kpc, the gas half-thickness of the spallation model).
    tau_snr : float or None
        None for burst injection, else the remnant lifetime (Myr) of continuous escape.
    w : float
        Spiral blurring scale, kpc (used only for ``model="spiral"``).
    n_energies : int
        Number of log-spaced energies in ``E_range`` (GeV), >= 1.
    E_range : (float, float)
        Lowest and highest total energy per particle, GeV.
    T : float
        Span of the supernova history, Myr.
    species : tuple of Species
        Nuclear groups (default BA's five).
    spallation : bool
    tol : float
        Tolerance of the sums (:class:`crlib.ensemble.Scenario`): the density is exact to
        ``tol`` relative and each gradient component to ``tol`` of its natural size
        ``n pi / 2H``.  The default 1e-4 keeps the dipole's error near 1e-4 of
        ``lambda / H``, far below the realization-to-realization scatter of any panel (tens
        of per cent); :class:`~crlib.ensemble.Scenario`'s own default is 1e-10.

    Returns
    -------
    crlib.ensemble.Scenario
    """
    if model not in _MODELS:
        raise ValueError(f"model must be one of {_MODELS}, got {model!r}")
    rate = _v.positive("rate", _v.as_float("rate", rate))
    delta = _v.as_float("delta", delta)
    if not (np.isclose(delta, 1.0 / 3.0) or np.isclose(delta, 0.6)):
        raise ValueError(f"delta must be 1/3 or 0.6 (BA's B/C normalisations), got {delta!r}")
    H = _v.positive("H", _v.as_float("H", H))
    n_energies = _v.positive_int("n_energies", n_energies)
    lo, hi = (_v.positive("E_range", _v.as_float("E_range", e)) for e in E_range)
    if not hi > lo:
        raise ValueError(f"E_range must be increasing, got {E_range!r}")
    if model == "cylindrical":
        sources = Cylindrical()
    else:
        sources = SpiralArms(w=_v.positive("w", _v.as_float("w", w)))
    energies = tuple(np.logspace(np.log10(lo), np.log10(hi), n_energies))
    return Scenario(sources=sources, rate=rate, T=T, H=H, diffusion=BADiffusion(delta, H),
                    energies=energies, injection_index=GAMMA_PLUS_DELTA - delta,
                    species=tuple(species), spallation=spallation, tau_snr=tau_snr, tol=tol)


#: Parameters of each stochastic panel of BA (keyword arguments of :func:`ba_scenario`).
BA_FIGURES = {
    "BA-2 left": dict(model="cylindrical", rate=1.0 / (100.0 * yr), delta=1.0 / 3.0, H=4.0),
    "BA-2 right": dict(model="cylindrical", rate=1.0 / (30.0 * yr), delta=1.0 / 3.0, H=4.0),
    "BA-3": dict(model="cylindrical", rate=1.0 / (30.0 * yr), delta=0.6, H=4.0),
    "BA-4 left": dict(model="cylindrical", rate=1.0 / (30.0 * yr), delta=1.0 / 3.0, H=4.0,
                      tau_snr=3e4 * yr),
    "BA-4 right": dict(model="cylindrical", rate=1.0 / (30.0 * yr), delta=1.0 / 3.0, H=4.0,
                       tau_snr=3e5 * yr),
    "BA-5 left": dict(model="spiral", w=5.0, rate=1.0 / (30.0 * yr), delta=1.0 / 3.0, H=4.0),
    "BA-5 right": dict(model="spiral", w=2.8, rate=1.0 / (30.0 * yr), delta=1.0 / 3.0, H=4.0),
    "BA-8 left": dict(model="cylindrical", rate=1.0 / (100.0 * yr), delta=1.0 / 3.0, H=1.0),
    "BA-8 right": dict(model="cylindrical", rate=1.0 / (100.0 * yr), delta=1.0 / 3.0, H=2.0),
}


def sh_span(tol, D_min, H):
    """History span (Myr) after which older bursts add at most ``tol`` of the mean density.

    For sources spread uniformly over the mid-plane the mean density at the Sun is
    sum over odd m of (4H/(m pi)^2 D) = H/2D; bursts older than T add the same
    sum with each term times exp(-(m pi/2H)^2 D T), at most (8/pi^2) exp(-pi^2 D T/4H^2)
    of the total.  Setting that to ``tol`` at the slowest channel D_min gives
    T = (4H^2 / pi^2 D_min) ln(8 / (pi^2 tol)).
    """
    tol = _v.tolerance("tol", tol)
    D_min = _v.positive("D_min", _v.as_float("D_min", D_min))
    H = _v.positive("H", _v.as_float("H", H))
    return 4.0 * H * H / (math.pi ** 2 * D_min) * math.log(8.0 / (math.pi ** 2 * tol))


def sh_scenario(h=250.0 * pc, D0=6e26 * cm2_per_s, p=1.0 / 3.0, rate=1.0 / (30.0 * yr),
                f_arm=0.8, sigma_arm=0.3, omega=None, scheme="auto", n_energies=40,
                E_range=(1e2, 1e7), tol=1e-4, T=None, near_radius=None, min_age=0.0,
                causal=False):
    """SH's nominal small-halo scenario (SH §4), or a variation of it.

    Protons only, no spallation (SH propagate one species), injection E^-(2.67 - p),
    sources in :class:`crlib.sources.MovingSpiralArms`.

    Parameters
    ----------
    h : float
        Halo half-height, kpc (SH: 250 pc).
    D0, p : float
        D(E) = D0 (E/GeV)^p, kpc²/Myr (SH: 6e26 cm²/s, 1/3).
    rate : float
        Galactic supernova rate, 1/Myr (SH: one per 30 yr).
    f_arm, sigma_arm, omega :
        Arm fraction, arm width (kpc) and Omega_sun - Omega_p (rad/Myr; None:
        the model's default 11.9 km/s/kpc), see :class:`~crlib.sources.MovingSpiralArms`.
    scheme : {"auto", "sh"}
        Exact Green function, or SH's fixed image/eigenmode switch (SH eq. 6).
    n_energies, E_range :
        Log-spaced energy grid, GeV.
    tol : float
        Accuracy of every realization (kernel, skip rule, near-Sun sampling).
    T : float or None
        History span, Myr; None: :func:`sh_span` (25 Myr at the nominal values).
    near_radius : float or None
        Radius of exact sampling, kpc; None: (2h/pi)(ln(1/tol) + 14), 3.7 kpc at
        tol = 1e-4 (full sampling when that comes close to R_SUN - 8 sigma_arm).
        Only speed depends on it: the far-source bound keeps every realization
        within ``tol`` (see :class:`crlib.ensemble.Scenario`).
    min_age, causal :
        The youngest-remnant cuts of :class:`crlib.ensemble.Scenario` (default: none).
    """
    h = _v.positive("h", _v.as_float("h", h))
    p = _v.as_float("p", p)
    lo, hi = (_v.positive("E_range", _v.as_float("E_range", e)) for e in E_range)
    if not hi > lo:
        raise ValueError(f"E_range must be increasing, got {E_range!r}")
    n_energies = _v.positive_int("n_energies", n_energies)
    diffusion = SHDiffusion(D0=D0, p=p)
    energies = tuple(np.logspace(np.log10(lo), np.log10(hi), n_energies))
    if T is None:
        D_min = float(np.min(diffusion.D(np.asarray(energies), 1.0)))
        T = sh_span(tol, D_min, h)
    kw = {} if omega is None else {"omega": omega}
    sources = MovingSpiralArms(f_arm=f_arm, sigma_arm=sigma_arm, **kw)
    if near_radius is None:
        near_radius = 2.0 * h / math.pi * (math.log(1.0 / _v.tolerance("tol", tol)) + 14.0)
        if near_radius >= 0.95 * (R_SUN - ARM_REACH * sources.sigma_arm):
            near_radius = None          # halo too thick for near-Sun sampling to pay off
    return Scenario(sources=sources, rate=rate, T=T, H=h, diffusion=diffusion, energies=energies,
                    injection_index=GAMMA_PLUS_DELTA - p, species=PROTONS, spallation=False,
                    tol=tol, scheme=scheme, near_radius=near_radius, min_age=min_age,
                    causal=causal)
