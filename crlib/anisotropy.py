"""Dipole anisotropy from the density and its gradient at the observer (MODEL.md §5).

For one species the dipole vector is δ⃗ = (3D/c) ∇n / n (BA eq. 3.1).  For
several species observed at the same total energy per particle E the
intensities add, so

    δ⃗(E) = (3/c) Σ_k D_k(E) ∇n_k(E) / Σ_k n_k(E).

δ⃗ points where the intensity is largest, i.e. where cosmic rays come *from*
(up the gradient); the diffusive current J⃗ = −D∇n points the other way.
Arrays follow one layout throughout crlib: ``n[..., k, j]`` and
``grad[..., k, j, :]`` for species k and energy j, leading axes free (e.g.
realizations).
"""

import numpy as np

from . import _validate as _v
from .units import c_light


def dipole(n, grad, D):
    """All-particle dipole vector δ⃗ = (3/c) Σ_k D_k ∇n_k / Σ_k n_k.

    Parameters
    ----------
    n : array, shape (..., n_species, n_E)
        Density of each species at each energy (any common unit).
    grad : array, shape (..., n_species, n_E, 3)
        Gradient of the density, same unit per kpc.
    D : array, shape (n_species, n_E)
        Diffusion coefficient of each species at each energy, kpc²/Myr.

    Returns
    -------
    numpy.ndarray, shape (..., n_E, 3)
        Dimensionless dipole vector, pointing to the maximum of intensity.
    """
    n = _v.as_float_array("n", n)
    grad = _v.as_float_array("grad", grad)
    D = _v.positive("D", D)
    D = np.asarray(D, dtype=float)
    if n.ndim < 2 or grad.shape != n.shape + (3,):
        raise ValueError(f"grad must have shape n.shape + (3,) = {n.shape + (3,)}, got {grad.shape}")
    if D.shape != n.shape[-2:]:
        raise ValueError(f"D must have shape (n_species, n_E) = {n.shape[-2:]}, got {D.shape}")
    total = n.sum(axis=-2)
    if np.any(total <= 0):
        raise ValueError("n must have a positive total over species at every energy")
    current = np.einsum("...kjc,kj->...jc", grad, D)
    return (3.0 / c_light) * current / total[..., None]


def amplitude(delta):
    """Amplitude |δ⃗| of dipole vectors with components on the last axis."""
    return np.linalg.norm(np.asarray(delta, float), axis=-1)


def phase_max_intensity(delta):
    """Galactic-plane azimuth (rad, in (−π, π]) of the direction of maximum intensity.

    ``atan2(δ_y, δ_x)`` in crlib's Galactocentric axes (x from the Galactic
    centre to the Sun).  A dipole dominated by the large-scale gradient points
    towards the inner Galaxy, −x̂, so this phase sits near ±π.
    """
    delta = np.asarray(delta, float)
    return np.arctan2(delta[..., 1], delta[..., 0])


def phase_streaming(delta):
    """Galactic-plane azimuth (rad, in (−π, π]) of the streaming current J⃗ = −D∇n.

    ``atan2(−δ_y, −δ_x)``: opposite to :func:`phase_max_intensity`.  A current
    driven by the large-scale gradient flows outwards, along +x̂, so this phase
    sits near 0; it is the convention in which BA's Figs. 6 and 9 plot
    ``arctan(δ_y/δ_x)`` near zero (BA §4).
    """
    delta = np.asarray(delta, float)
    return np.arctan2(-delta[..., 1], -delta[..., 0])


def angle_between(a, b):
    """Angle (rad, in [0, π]) between vectors on the last axis of ``a`` and ``b`` (SH Fig. 2).

    Uses atan2(|a×b|, a·b), accurate for small and nearly opposite angles.
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.arctan2(cross, dot)
