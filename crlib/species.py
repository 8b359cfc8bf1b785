"""Nuclear species groups, their injection spectra, spallation rates and normalisation.

The five groups of Blasi & Amato (BA §2): H, He, CNO, Mg-Al-Si and Fe, each
represented by one nucleus (Z, A).  Their relative abundances are fixed by
requiring that the *propagated mean* flux of each group at 1 TeV per particle
equals the poly-gonato fit of Hörandel (2003), taken from
``crflux.models.PolyGonato`` (a group's flux is the sum of its elements).
Parameter choices not stated in the papers are those of :ref:`model-anisotropy`.

Energies are total energies per nucleus in GeV, rates in 1/Myr, lengths in kpc.
"""

from dataclasses import dataclass

import numpy as np

from . import _validate as _v
from .units import GeV, PeV, TeV, c_light, cm, kpc, m, mb, per_cm3, s

__all__ = ["Species", "BA_GROUPS", "PROTONS", "spallation_rate", "injection_shape", "disk_density_factor", "normalise_injection"]

# CORSIKA ids (100 A + Z; 14 is the proton) of the poly-gonato elements summed into each group.
_GROUP_ELEMENTS = {
    "H": (14,),
    "He": (402,),
    "CNO": (1206, 1407, 1608),
    "MgAlSi": (2412, 2613, 2814),
    "Fe": (5426,),
}


@dataclass(frozen=True)
class Species:
    """One nuclear group.

    Attributes
    ----------
    name : str
        Group name (``"H"``, ``"He"``, ``"CNO"``, ``"MgAlSi"``, ``"Fe"``).
    Z, A : int
        Charge and mass number of the representative nucleus (:ref:`model-anisotropy`).
    elements : tuple of int
        CORSIKA ids of the poly-gonato elements whose fluxes the group sums.
    """

    name: str
    Z: int
    A: int
    elements: tuple

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {type(self.name).__name__}")
        _v.positive_int("Z", self.Z)
        _v.positive_int("A", self.A)
        if isinstance(self.elements, (str, bytes)) or not hasattr(self.elements, "__iter__"):
            raise ValueError(f"elements must be a sequence of positive integer CORSIKA ids, "
                             f"got {self.elements!r}")
        object.__setattr__(self, "elements", tuple(self.elements))
        for cid in self.elements:
            _v.positive_int("elements", cid)
        if self.A < self.Z:
            raise ValueError(f"A must be >= Z, got A={self.A}, Z={self.Z}")

    @property
    def cross_section(self):
        """Spallation cross section σ = 45 mb · A^0.7 (:ref:`model-anisotropy`), in kpc²."""
        return 45.0 * mb * self.A**0.7

    def measured_flux(self, E):
        """Poly-gonato flux of the group at total energy per nucleus ``E``.

        Returns the differential flux in particles per (kpc² Myr sr GeV), the
        sum over the group's elements of ``crflux.models.PolyGonato.nucleus_flux``
        (which is in m⁻² s⁻¹ sr⁻¹ GeV⁻¹).
        """
        from crflux.models import PolyGonato

        E = _v.positive("E", E)
        model = PolyGonato(False)
        E_arr = np.atleast_1d(E)
        per_m2_s = sum(np.asarray(model.nucleus_flux(cid, E_arr / GeV), float).reshape(E_arr.shape)
                       for cid in self.elements)
        out = per_m2_s / (m**2 * s) / GeV
        return float(out[0]) if np.ndim(E) == 0 else out


#: The five groups of BA §2 with the representative nuclei of :ref:`model-anisotropy`.
BA_GROUPS = (
    Species("H", 1, 1, _GROUP_ELEMENTS["H"]),
    Species("He", 2, 4, _GROUP_ELEMENTS["He"]),
    Species("CNO", 7, 14, _GROUP_ELEMENTS["CNO"]),
    Species("MgAlSi", 13, 27, _GROUP_ELEMENTS["MgAlSi"]),
    Species("Fe", 26, 56, _GROUP_ELEMENTS["Fe"]),
)

#: Protons alone, for single-species calculations.
PROTONS = (BA_GROUPS[0],)


def _species(name, sp):
    if not isinstance(sp, Species):
        raise ValueError(f"{name} must be a crlib.species.Species, got an object of type {type(sp).__name__}")
    return sp


def spallation_rate(species, H, n_disk=1.0 * per_cm3, h_gas=0.15 * kpc):
    """Spallation rate Γ = n_eff σ c of a group in a halo of half-height ``H`` (:ref:`model-anisotropy`).

    The gas sits in a layer of half-thickness ``h_gas`` with density ``n_disk``;
    a particle spends the fraction h_gas/H of its time there, so the effective
    density is n_eff = n_disk h_gas / H.

    Parameters
    ----------
    species : Species
    H : float
        Halo half-height in kpc (> h_gas).
    n_disk : float
        Gas number density in the disk, per kpc³ (default 1 cm⁻³).
    h_gas : float
        Half-thickness of the gas layer in kpc (default 0.15 kpc).

    Returns
    -------
    float
        Γ in 1/Myr.
    """
    _species("species", species)
    H = _v.positive("H", _v.as_float("H", H))
    n_disk = _v.non_negative("n_disk", _v.as_float("n_disk", n_disk))
    h_gas = _v.positive("h_gas", _v.as_float("h_gas", h_gas))
    if h_gas > H:
        raise ValueError(f"h_gas must be <= H (the gas lies inside the halo), got h_gas={h_gas}, H={H}")
    return n_disk * (h_gas / H) * species.cross_section * c_light


def injection_shape(E, species, gamma, E_max_p=3.0 * PeV):
    """Unnormalised injection spectrum E^-γ exp(−E/E_max,k), E_max,k = Z E_max,p (BA eq. 2.2).

    ``E`` in GeV; the result is dimensionless (the value at 1 GeV of the power law is 1).
    It underflows to exactly 0 far above the cut-off (no particle injected there,
    see :func:`crlib.anisotropy.dipole` for what that means for the dipole); a
    power law that overflows float64 (tiny ``E``, large ``gamma``) is a ValueError.
    """
    _species("species", species)
    E = _v.positive("E", E)
    gamma = _v.as_float("gamma", gamma)
    E_max_p = _v.positive("E_max_p", _v.as_float("E_max_p", E_max_p))
    with np.errstate(over="ignore", under="ignore"):
        expo = -gamma * np.log(np.asarray(E) / GeV) - np.asarray(E) / (species.Z * E_max_p)
        out = np.exp(expo)
    if np.any(expo > 709.0):
        bad = float(np.broadcast_to(E, np.shape(expo))[expo > 709.0].ravel()[0])
        raise ValueError(f"E = {bad!r} GeV with gamma = {gamma!r}: E^-gamma exp(-E/E_max) overflows "
                         "float64 (E must be such that -gamma ln(E/GeV) - E/(Z E_max_p) <= 709)")
    return float(out) if np.ndim(out) == 0 else out


def disk_density_factor(D, H, Gamma):
    """Mean density at z = 0 per unit surface injection rate of an infinite uniform thin disk.

    Steady state of D n'' − Γ n = −q δ(z) with n(±H) = 0 gives
    n(0) = q tanh(κH) / (2 D κ), κ = sqrt(Γ/D); for Γ → 0 this is q H/(2D),
    the result behind BA eq. 3.10.

    Parameters
    ----------
    D : float or array
        Diffusion coefficient in kpc²/Myr.
    H : float
        Halo half-height in kpc.
    Gamma : float or array
        Loss rate in 1/Myr (>= 0).

    Returns
    -------
    float or array
        n(0)/q in Myr/kpc (multiply by a surface rate of particles per kpc² per Myr).
    """
    D = _v.positive("D", D)
    H = _v.positive("H", _v.as_float("H", H))
    Gamma = _v.non_negative("Gamma", Gamma)
    D, Gamma = _v.broadcast(D=D, Gamma=Gamma)
    x = np.sqrt(np.asarray(Gamma) / np.asarray(D)) * H
    # tanh(x)/x -> 1 for small x: use the series below 1e-4 to keep full precision.
    ratio = np.where(x > 1e-4, np.tanh(np.maximum(x, 1e-300)) / np.maximum(x, 1e-300), 1.0 - x**2 / 3.0)
    out = H / (2.0 * np.asarray(D)) * ratio
    return float(out) if np.ndim(out) == 0 else out


def normalise_injection(species, D_ref, H, local_rate, gamma, E_ref=1.0 * TeV,
                        E_max_p=3.0 * PeV, **spallation_kw):
    """Particles injected per supernova per GeV at 1 GeV, for each group.

    Choose the normalisation K_k of N_k(E) = K_k injection_shape(E) so that the
    mean density at the Sun in the uniform-disk approximation,
    n_k = local_rate · N_k(E_ref) · disk_density_factor(D_k, H, Γ_k), equals the
    measured density 4π F_k(E_ref)/c of the poly-gonato flux F_k.  Because every
    observable of the book is a ratio, only the relative K_k matter for the
    anisotropy; the absolute values give the energy each supernova must put
    into cosmic rays (a check, see the book).

    Parameters
    ----------
    species : sequence of Species
    D_ref : array, shape (n_species,)
        Diffusion coefficient of each group at ``E_ref`` in kpc²/Myr.
    H : float
        Halo half-height in kpc.
    local_rate : float
        Surface supernova rate at the Sun, per kpc² per Myr.
    gamma : float
        Injection index (BA: γ = 2.67 − δ).
    E_ref : float
        Energy per particle where the fluxes are matched (GeV), default 1 TeV.

    Returns
    -------
    numpy.ndarray, shape (n_species,)
        K_k in particles per GeV per supernova.
    """
    if isinstance(species, Species) or not hasattr(species, "__len__"):
        raise ValueError("species must be a sequence of crlib.species.Species")
    for sp in species:
        _species("species", sp)
    D_ref = np.atleast_1d(_v.positive("D_ref", D_ref))
    if D_ref.shape != (len(species),):
        raise ValueError(f"D_ref must have one value per species ({len(species)}), got shape {D_ref.shape}")
    local_rate = _v.positive("local_rate", _v.as_float("local_rate", local_rate))
    K = np.empty(len(species))
    for i, sp in enumerate(species):
        Gamma = spallation_rate(sp, H, **spallation_kw)
        n_target = 4.0 * np.pi * sp.measured_flux(E_ref) / c_light
        n_per_K = local_rate * injection_shape(E_ref, sp, gamma, E_max_p) * disk_density_factor(D_ref[i], H, Gamma)
        K[i] = n_target / n_per_K
    if not np.all(np.isfinite(K) & (K > 0)):
        raise ValueError(f"the injection normalisation is not representable (K = {K}); check "
                         "D_ref, local_rate, gamma and E_ref")
    return K
