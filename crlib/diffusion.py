"""Diffusion coefficients D(E, Z) and the supernova-remnant escape time.

All models are small frozen dataclasses with one vectorised method
``D(E, Z)``: ``E`` is the total energy per nucleus in GeV, ``Z`` the charge
number, and the result is in kpc^2/Myr (the internal units of
:mod:`crlib.units`).  Rigidity is ``R = E / Z`` (GV for E in GeV; all particles
are taken ultra-relativistic).

Models (:ref:`model-diffusion`):

* :class:`PowerLawDiffusion` -- ``D0 (R / R0)^delta``;
* :class:`BADiffusion` -- Blasi & Amato 2012 (BA, section 2), normalised to the
  B/C ratio through ``D28 / H_kpc``;
* :func:`SHDiffusion` -- the small-halo paper's nominal ``D0 = 6e26 cm^2/s``,
  ``p = 1/3`` (a :class:`PowerLawDiffusion`);
* :class:`KneeBreak` -- wraps any model; above the energy at which the Larmor
  radius equals the mean free path (SH section 2) the coefficient grows as
  ``E^2`` (small-angle scattering), continuously.

:func:`transition_energy` gives that energy, :func:`escape_time` the energy-
dependent escape time from a remnant in BA's continuous-escape scenario,
:func:`escape_alpha` the exponent of its falling maximum energy, and
:func:`escape_spectrum` / :func:`adjusted_beta` BA's escaping spectrum with the
injection efficiency growing as ``t^beta`` and the β that keeps the observed slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.optimize import brentq

from . import _validate as V
from .units import GeV, PeV, c_light, cm2_per_s, e_charge, kpc, muG, yr

__all__ = [
    "PowerLawDiffusion", "BADiffusion", "SHDiffusion", "KneeBreak",
    "transition_energy", "larmor_radius", "mean_free_path", "escape_time",
    "escape_alpha", "escape_spectrum", "adjusted_beta",
]


#: Largest and smallest logarithms of a float64 kept away from overflow and denormals.
_LOG_MAX = math.log(np.finfo(float).max) - 1.0
_LOG_MIN = math.log(np.finfo(float).tiny) + 1.0


def _energy_charge(E, Z):
    E = V.positive("E", E)
    Z = V.positive("Z", Z)
    E, Z = V.broadcast(E=np.asarray(E, dtype=float), Z=np.asarray(Z, dtype=float))
    return E, Z


def _representable(D, E, Z, what):
    """``D`` after checking that it neither overflowed nor underflowed to 0 (ValueError naming E)."""
    D = np.asarray(D, dtype=float)
    bad = ~(np.isfinite(D) & (D > 0))
    if np.any(bad):
        Eb = float(np.broadcast_to(E, D.shape)[bad].ravel()[0])
        Zb = float(np.broadcast_to(Z, D.shape)[bad].ravel()[0])
        raise ValueError(f"E = {Eb!r} GeV (Z = {Zb!r}) is outside the range where {what} is "
                         "representable in float64 (it overflows or underflows)")
    return D


def _slope(name, value):
    return V.in_closed_interval(name, V.as_float(name, value), 0.0, 0.999)


def _out(arr):
    arr = np.asarray(arr, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True)
class PowerLawDiffusion:
    """Power law in rigidity, ``D = D0 (E / Z / R0)^delta``.

    Parameters
    ----------
    D0 : float
        Coefficient at rigidity ``R0``, kpc^2/Myr (write ``3e28 * cm2_per_s``).
    delta : float
        Slope, ``0 <= delta < 1`` (a slope of 1 or more has no Larmor-radius
        transition, see :func:`transition_energy`).
    R0 : float
        Reference rigidity in GV (energy per charge in GeV), default 1.
    """

    D0: float
    delta: float
    R0: float = 1.0 * GeV

    def __post_init__(self):
        object.__setattr__(self, "D0", V.positive("D0", V.as_float("D0", self.D0)))
        object.__setattr__(self, "delta", _slope("delta", self.delta))
        object.__setattr__(self, "R0", V.positive("R0", V.as_float("R0", self.R0)))

    def power_law(self):
        """Return ``(D0, delta, R0)`` (kpc^2/Myr, -, GV): every pure power-law model has this (:ref:`model-diffusion`)."""
        return self.D0, self.delta, self.R0

    def D(self, E, Z=1.0):
        """Diffusion coefficient at total energy ``E`` per nucleus for charge ``Z`` (:ref:`model-diffusion`, ``D0 (E / Z / R0)^delta``).

        Parameters
        ----------
        E : float or array
            Total energy per nucleus, GeV (> 0).
        Z : float or array
            Charge number (> 0); broadcasts with ``E``.

        Returns
        -------
        float or array
            ``D`` in kpc^2/Myr (divide by ``crlib.units.cm2_per_s`` for cm^2/s).
        """
        E, Z = _energy_charge(E, Z)
        with np.errstate(over="ignore", under="ignore"):
            D = self.D0 * (E / Z / self.R0) ** self.delta
        return _out(_representable(D, E, Z, "D"))


@dataclass(frozen=True)
class BADiffusion:
    """Blasi & Amato (2012) diffusion coefficient (BA section 2, :ref:`model-diffusion`).

    ``D(R) = 1e28 * D28 * (R / 3 GV)^delta`` cm^2/s.  Without ``D28`` the B/C
    normalisation of BA is used: ``D28 = 1.33 H_kpc`` for ``delta = 1/3`` and
    ``D28 = 0.55 H_kpc`` for ``delta = 0.6``; any other slope needs ``D28``.

    Parameters
    ----------
    delta : float
        Slope of the rigidity dependence.
    H : float
        Halo half-height in kpc.
    D28 : float, optional
        Normalisation in units of 1e28 cm^2/s at 3 GV.
    """

    delta: float
    H: float
    D28: Optional[float] = None

    def __post_init__(self):
        delta = _slope("delta", self.delta)
        H = V.positive("H", V.as_float("H", self.H))
        object.__setattr__(self, "delta", delta)
        object.__setattr__(self, "H", H)
        if self.D28 is None:
            if math.isclose(delta, 1.0 / 3.0, rel_tol=1e-6):
                d28 = 1.33 * H / kpc
            elif math.isclose(delta, 0.6, rel_tol=1e-6):
                d28 = 0.55 * H / kpc
            else:
                raise ValueError(
                    f"D28 must be given for delta = {delta!r}: BA's B/C normalisation "
                    "exists only for delta in {1/3, 0.6}")
        else:
            d28 = V.positive("D28", V.as_float("D28", self.D28))
        object.__setattr__(self, "D28", d28)

    def power_law(self):
        """Return ``(D0, delta, R0)`` = ``(1e28 D28 cm^2/s in kpc^2/Myr, delta, 3 GV)`` (BA eq. 2.3)."""
        return 1e28 * self.D28 * cm2_per_s, self.delta, 3.0 * GeV

    def D(self, E, Z=1.0):
        """Diffusion coefficient at total energy ``E`` per nucleus for charge ``Z`` (BA eq. 2.3).

        Parameters
        ----------
        E : float or array
            Total energy per nucleus, GeV (> 0).
        Z : float or array
            Charge number (> 0); broadcasts with ``E``.

        Returns
        -------
        float or array
            ``D`` in kpc^2/Myr (divide by ``crlib.units.cm2_per_s`` for cm^2/s).
        """
        D0, delta, R0 = self.power_law()
        E, Z = _energy_charge(E, Z)
        with np.errstate(over="ignore", under="ignore"):
            D = D0 * (E / Z / R0) ** delta
        return _out(_representable(D, E, Z, "D"))


def SHDiffusion(D0=6e26 * cm2_per_s, p=1.0 / 3.0):
    """The small-halo paper's coefficient ``D0 (E / Z GeV)^p`` (SH section 2).

    Defaults are SH's nominal values, ``D0 = 6e26 cm^2/s`` and ``p = 1/3``.
    Returns a :class:`PowerLawDiffusion` with ``R0 = 1 GeV``.

    Parameters
    ----------
    D0 : float
        Coefficient at 1 GV, kpc^2/Myr (> 0).
    p : float
        Slope, ``0 <= p <= 0.999``.
    """
    D0 = V.positive("D0", V.as_float("D0", D0))
    p = _slope("p", p)
    return PowerLawDiffusion(D0=D0, delta=p, R0=1.0 * GeV)


def larmor_radius(E, Z=1.0, B=1.0 * muG):
    """Larmor radius ``r_L = E / (Z e B)`` (SH section 2) of an ultra-relativistic nucleus.

    Parameters
    ----------
    E : float or array
        Total energy per nucleus, GeV.
    Z : float or array
        Charge number.
    B : float
        Magnetic field in crlib units (``3 * muG``).

    Returns
    -------
    float or array
        ``r_L`` in kpc.
    """
    E, Z = _energy_charge(E, Z)
    B = V.positive("B", B)
    return _out(E / (Z * e_charge * B))


def mean_free_path(model, E, Z=1.0):
    """Scattering mean free path ``lambda = 3 D / c`` (SH eq. 2), in kpc.

    Parameters
    ----------
    model : diffusion model with ``D(E, Z)`` (kpc^2/Myr)
    E : float or array
        Total energy per nucleus, GeV.
    Z : float or array
        Charge number.
    """
    V.model("model", model, "D")
    E, Z = _energy_charge(E, Z)
    return _out(3.0 * _model_D(model, E, Z) / c_light)


def _model_D(model, E, Z):
    """``model.D(E, Z)`` checked real, finite and > 0 (ValueError naming ``model``)."""
    D = np.asarray(model.D(E, Z))
    if D.dtype.kind not in "fiu":
        raise ValueError(f"model.D must return real numbers, got dtype {D.dtype}")
    D = D.astype(float)
    if not np.all(np.isfinite(D) & (D > 0)):
        raise ValueError(f"model.D must be finite and > 0, got {D[~(np.isfinite(D) & (D > 0))].ravel()[0]!r}")
    return D


def _transition_scalar(model, Z, B):
    if hasattr(model, "power_law"):
        D0, p, R0 = model.power_law()
        # r_L = R/(eB) = 3 D0 (R/R0)^p / c  ->  R^(1-p) = R0^(-p) 3 D0 e B / c, in logs
        # so that slopes near 1 (exponent 1/(1-p) up to 1000) cannot overflow midway
        a = math.log(3.0 * e_charge / c_light) + math.log(D0) + math.log(B)
        b = math.log(R0)
        logE = math.log(Z) + (a - p * b) / (1.0 - p)
        if not _LOG_MIN < logE < _LOG_MAX:
            # logZ + (a - p b)/(1 - p) = L  <=>  p = (L - logZ - a) / (L - logZ - b)
            lims = [(L - math.log(Z) - a) / (L - math.log(Z) - b) for L in (_LOG_MIN, _LOG_MAX)]
            ok = [q for q in lims if 0.0 <= q < 1.0]
            rng = (f"a slope in [0, {max(ok):.6g})" if ok and logE >= _LOG_MAX else
                   f"a slope above {min(ok):.6g}" if ok else "no slope in [0, 1)")
            raise ValueError(
                f"delta = {p!r} (the model's slope) puts the transition energy at "
                f"exp({logE:.4g}) GeV, outside float64; with D0 = {D0!r}, B = {B!r}, Z = {Z!r} "
                f"it is computable for {rng}")
        return math.exp(logE)

    def f(logE):
        E = math.exp(logE)
        return math.log(E / (Z * e_charge * B)) - math.log(3.0 * float(_model_D(model, E, Z)) / c_light)

    lo, hi = math.log(1e-3 * GeV), math.log(1e15 * GeV)
    if f(lo) * f(hi) > 0:
        raise ValueError("transition_energy: no crossing of r_L and 3D/c between 1e-3 and 1e15 GeV")
    return math.exp(brentq(f, lo, hi, xtol=1e-14, rtol=1e-14))


def transition_energy(model, Z=1.0, B=None):
    """Energy (GeV) at which the Larmor radius equals the mean free path (SH section 2).

    Solves ``E / (Z e B) = 3 D(E, Z) / c``.  For a power law
    ``D = D0 (E/Z/R0)^p`` the root is closed form (:ref:`model-diffusion`)::

        E_trans / Z = (R0^(-p) * 3 D0 e B / c)^(1 / (1 - p))

    e.g. 2.4 PeV for SH's ``D0 = 6e26 cm^2/s, p = 1/3, B = 1 muG``, growing as
    ``Z (D0 B)^(3/2)``.  It is evaluated in logarithms; a slope so close to 1
    that the energy leaves float64 is rejected with a ValueError giving the
    computable range of the slope.

    A :class:`KneeBreak` is built on this transition: its ``r_L`` touches its
    mean free path at the break without crossing it (``D`` grows as ``E^2``
    above), so its transition energy is the break itself,
    :meth:`KneeBreak.transition_energy`, for the model's own field.  Other
    models are solved numerically (Brent, in log E, between 1e-3 and 1e15 GeV).

    Parameters
    ----------
    model : diffusion model with ``D(E, Z)``
    Z : float or array
        Charge number(s).
    B : float or None
        Magnetic field in crlib units (``2 * muG``).  None: the model's own
        field for a :class:`KneeBreak`, else ``1 * muG``.

    Returns
    -------
    float or array
        ``E_trans`` in GeV (total energy per nucleus), with ``Z``'s shape.
    """
    V.model("model", model, "D")
    Z = V.positive("Z", Z)
    if isinstance(model, KneeBreak):
        if B is not None and V.as_float("B", B) != model.B:
            raise ValueError(f"B must be None or the KneeBreak's own field B = {model.B!r} "
                             f"(its break is the transition for that field), got {B!r}")
        return model.transition_energy(Z)
    B = 1.0 * muG if B is None else B
    B = V.positive("B", V.as_float("B", B))
    Zs = np.asarray(Z, dtype=float)
    out = np.empty_like(Zs)
    flat = out.reshape(-1)
    for i, z in enumerate(Zs.reshape(-1)):
        flat[i] = _transition_scalar(model, float(z), B)
    return _out(out)


@dataclass(frozen=True)
class KneeBreak:
    """Any diffusion model with the small-angle-scattering break of SH section 2.

    Below ``E_trans(Z)`` (:func:`transition_energy`) ``D`` is the base model's;
    above it ``D(E) = D(E_trans) (E / E_trans)^2``, continuous at the break.

    Parameters
    ----------
    base : diffusion model
    B : float
        Magnetic field (crlib units), default ``1 * muG``.
    """

    base: object
    B: float = 1.0 * muG

    def __post_init__(self):
        V.model("base", self.base, "D")
        object.__setattr__(self, "B", V.positive("B", V.as_float("B", self.B)))
        transition_energy(self.base, 1.0, self.B)      # computable for protons (else ValueError)

    def transition_energy(self, Z=1.0):
        """Energy (GeV) of the break for charge ``Z``: :func:`transition_energy` of the base model (SH section 2)."""
        return transition_energy(self.base, Z, self.B)

    def D(self, E, Z=1.0):
        """Diffusion coefficient at total energy ``E`` per nucleus for charge ``Z`` (SH section 2: the base model below ``E_trans(Z)``, ``D(E_trans) (E/E_trans)^2`` above).

        Parameters
        ----------
        E : float or array
            Total energy per nucleus, GeV (> 0).
        Z : float or array
            Charge number (> 0); broadcasts with ``E``.

        Returns
        -------
        float or array
            ``D`` in kpc^2/Myr (divide by ``crlib.units.cm2_per_s`` for cm^2/s).
        """
        E, Z = _energy_charge(E, Z)
        Et = np.asarray(self.transition_energy(Z), dtype=float)
        Dt = _model_D(self.base, Et, Z)
        below = E <= Et
        Db = np.ones_like(E)
        if np.any(below):
            Db[below] = _model_D(self.base, E[below], Z[below])
        # above the break, in logs: D_t (E/E_t)^2 overflows for E/E_t beyond ~1e150
        with np.errstate(over="ignore", divide="ignore"):
            Da = np.exp(np.log(Dt) + 2.0 * (np.log(E) - np.log(Et)))
        return _out(_representable(np.where(below, Db, Da), E, Z, "the KneeBreak D"))


def escape_time(E, Z=1.0, T_ST=1e3 * yr, E_M_p=3.0 * PeV, E0=1.0 * GeV, tau_SNR=3e4 * yr):
    """Escape time (Myr) from the remnant in BA's continuous-escape scenario (BA eqs. 2.6-2.9).

    The maximum energy falls after the start of the Sedov-Taylor phase as
    ``E_max(t) = E_M (t / T_ST)^(-alpha)`` with ``alpha = ln(E_M/E0) / ln(tau_SNR/T_ST)``
    so that ``E_max(tau_SNR) = E0``.  Particles of energy ``E`` leave when
    ``E_max`` has fallen to ``E``::

        t_esc(E) = T_ST (E_M / E)^(1/alpha),   E_M = Z * E_M_p.

    Conventions (documented choices):

    * ``E >= E_M``: escape at ``T_ST`` (the injected spectrum's own cut-off
      suppresses these energies);
    * ``t_esc > tau_SNR`` (i.e. ``E < Z E0``): the particles are still confined
      when the remnant dies, ``inf`` is returned and the burst contributes
      nothing (``observe`` treats an infinite delay as zero contribution).
      BA's eq. 2.8 writes the upper limit as ``1 + tau_SNR/T_ST``; we use the
      limit ``tau_SNR/T_ST`` that follows from ``E_max(tau_SNR) = E0``.

    The Green function of a burst is then evaluated at ``tau - t_esc(E)`` (BA eq. 2.7).

    Parameters
    ----------
    E : float or array
        Total energy per nucleus, GeV.
    Z : float or array
        Charge number.
    T_ST, tau_SNR : float
        Start of the Sedov-Taylor phase and lifetime of the remnant, Myr.
    E_M_p, E0 : float
        Proton maximum energy at T_ST and energy escaping at tau_SNR (GeV, per charge).
    """
    E, Z = _energy_charge(E, Z)
    alpha, T_ST, tau_SNR, E_M_p, E0 = _escape_parameters(T_ST, E_M_p, E0, tau_SNR)
    EM = Z * E_M_p
    x = np.maximum(EM / E, 1.0) ** (1.0 / alpha)
    t = T_ST * x
    t = np.where(x > tau_SNR / T_ST * (1 + 1e-12), np.inf, t)
    return _out(t)


def _escape_parameters(T_ST, E_M_p, E0, tau_SNR):
    """Validated (alpha, T_ST, tau_SNR, E_M_p, E0) of the continuous-escape scenario."""
    T_ST = V.positive("T_ST", V.as_float("T_ST", T_ST))
    tau_SNR = V.positive("tau_SNR", V.as_float("tau_SNR", tau_SNR))
    if not tau_SNR > T_ST:
        raise ValueError(f"tau_SNR must be > T_ST = {T_ST!r}, got {tau_SNR!r}")
    E_M_p = V.positive("E_M_p", V.as_float("E_M_p", E_M_p))
    E0 = V.positive("E0", V.as_float("E0", E0))
    if not E_M_p > E0:
        raise ValueError(f"E_M_p must be > E0 = {E0!r}, got {E_M_p!r}")
    alpha = math.log(E_M_p / E0) / math.log(tau_SNR / T_ST)
    return alpha, T_ST, tau_SNR, E_M_p, E0


def escape_alpha(T_ST=1e3 * yr, E_M_p=3.0 * PeV, E0=1.0 * GeV, tau_SNR=3e4 * yr):
    """Exponent α of the falling maximum energy, ``E_max(t) = E_M (t/T_ST)^(-α)`` (BA eq. 2.6).

    Fixed by ``E_max(tau_SNR) = E0``: ``α = ln(E_M/E0) / ln(tau_SNR/T_ST)`` (BA §4.1).
    Arguments as in :func:`escape_time` (times in Myr, energies in GeV per charge).
    """
    return _escape_parameters(T_ST, E_M_p, E0, tau_SNR)[0]


# range of the escaping slope 2 + beta/alpha accepted by escape_spectrum and adjusted_beta
_ESCAPE_SLOPE_RANGE = (1.0, 4.0)


def escape_spectrum(E, Z=1.0, beta=0.0, T_ST=1e3 * yr, E_M_p=3.0 * PeV, E0=1.0 * GeV,
                    tau_SNR=3e4 * yr):
    """Spectrum of the particles one remnant releases in BA's continuous-escape scenario.

    With the maximum energy falling as ``E_max(t) = E_M (t/T_ST)^(-α)`` and the
    injection efficiency growing as ``η(t) ∝ (t/T_ST)^β`` (BA eqs. 2.6-2.9), the
    particles of energy E leave at :func:`escape_time` and their number per unit
    energy is proportional to ``E^-2 (E_M/E)^(β/α)``, i.e. a power law of slope
    ``2 + β/α`` below the cut-off ``Z E_M``, and nothing above it (no particle is
    accelerated beyond ``E_max(T_ST)``).  BA choose β with :func:`adjusted_beta`
    so that the propagated slope is the observed one (BA §4.1,
    :ref:`model-ensembles`).

    Parameters
    ----------
    E : float or array
        Total energy per nucleus, GeV.
    Z : float or array
        Charge number.
    beta : float
        Exponent of the injection efficiency; the escaping slope ``2 + beta/alpha``
        must lie in (1, 4).
    T_ST, E_M_p, E0, tau_SNR : float
        As in :func:`escape_time`.

    Returns
    -------
    float or numpy.ndarray
        ``(E/GeV)^-(2 + beta/alpha)`` for ``E <= Z E_M_p``, 0 above (dimensionless,
        1 at 1 GeV like :func:`crlib.species.injection_shape`).  Below ``Z E0`` the
        particles never leave (:func:`escape_time` is infinite); the shape is still
        the power law there, the delay removes them.

    Raises
    ------
    ValueError
        If ``beta`` is not a real number or the slope lies outside
        (1, 4), or for the errors of :func:`escape_time`.
    """
    E, Z = _energy_charge(E, Z)
    alpha, T_ST, tau_SNR, E_M_p, E0 = _escape_parameters(T_ST, E_M_p, E0, tau_SNR)
    beta = V.as_float("beta", beta)
    slope = 2.0 + beta / alpha
    lo, hi = _ESCAPE_SLOPE_RANGE
    if not lo < slope < hi:
        raise ValueError(f"beta must give an escaping slope 2 + beta/alpha in ({lo}, {hi}) "
                         f"(alpha = {alpha:.4g}, i.e. beta in ({(lo - 2) * alpha:.4g}, "
                         f"{(hi - 2) * alpha:.4g})), got beta = {beta!r}")
    out = np.where(E <= Z * E_M_p, np.exp(-slope * np.log(E / GeV)), 0.0)
    return _out(out)


def adjusted_beta(gamma_obs, delta, T_ST=1e3 * yr, E_M_p=3.0 * PeV, E0=1.0 * GeV,
                  tau_SNR=3e4 * yr):
    """BA's β = α (γ_obs − 2 − δ): the escaping slope becomes γ_obs − δ (BA §4.1).

    With this β the propagated spectrum (escaping slope plus the δ of D ∝ E^δ) has the
    observed slope γ_obs whatever the remnant lifetime, the same as burst injection
    with ``injection_index = gamma_obs - delta``.

    Parameters
    ----------
    gamma_obs : float
        Observed slope of the propagated spectrum (BA: 2.67); ``gamma_obs - delta``
        must lie in (1, 4).
    delta : float
        Slope of the diffusion coefficient.
    T_ST, E_M_p, E0, tau_SNR : float
        As in :func:`escape_time`.
    """
    alpha = _escape_parameters(T_ST, E_M_p, E0, tau_SNR)[0]
    gamma_obs = V.as_float("gamma_obs", gamma_obs)
    delta = V.as_float("delta", delta)
    lo, hi = _ESCAPE_SLOPE_RANGE
    if not lo < gamma_obs - delta < hi:
        raise ValueError(f"gamma_obs - delta must lie in ({lo}, {hi}) (the escaping slope), "
                         f"got gamma_obs = {gamma_obs!r}, delta = {delta!r}")
    return alpha * (gamma_obs - 2.0 - delta)
