r"""Dipole anisotropy estimators at the observer.

BA's large-scale/fluctuation split (δA1, δA2) lives in :mod:`crlib.largescale`.

Estimators (:ref:`model-anisotropy`)
------------------------------------
For one species the dipole vector is δ⃗ = (3D/c) ∇n / n at the observer
(BA eq. 3.1). For several species observed at the same total energy per
particle E the intensities add, so

    δ⃗(E) = (3/c) Σ_k D_k(E) ∇n_k(E) / Σ_k n_k(E).

δ⃗ points where the intensity is largest, i.e. where cosmic rays come *from*
(up the gradient); the diffusive current J⃗ = −D∇n (BA eq. 3.2) points the
other way. Arrays follow one layout throughout crlib: ``n[..., k, j]`` and
``grad[..., k, j, :]`` for species k and energy j, leading axes free (e.g.
realizations).

Phases. crlib's axes are Galactocentric: the Galactic centre at the origin,
the observer at (+R⊙, 0, 0). A large-scale gradient towards the inner Galaxy
therefore makes δ⃗ point along −x̂. Three phase conventions are offered:

* :func:`phase_max_intensity`: atan2(δ_y, δ_x), the azimuth of +∇n; ≈ ±π when
  the large-scale gradient dominates;
* :func:`phase_streaming`: the azimuth of J⃗ = −D∇n, atan2(−δ_y, −δ_x); ≈ 0
  in that case;
* :func:`phase_ba`: BA's literal arctan(δ_y/δ_x) (BA §4.2, Figs. 6 and 9), a
  one-argument arctangent in (−π/2, π/2). It folds +x̂ and −x̂ onto the same
  value, so it sits near 0 for the gradient-dominated case in *either*
  sign convention: this is why BA's phases cluster around zero. To tell the
  direction, use one of the two atan2 forms.
"""

import numpy as np

from . import _validate as _v
from .units import c_light

__all__ = [
    "dipole", "dipole_single", "amplitude", "phase_max_intensity", "phase_streaming",
    "phase_ba", "angle_between",
]


# ============================================================================
# estimators
# ============================================================================

def dipole(n, grad, D):
    """All-particle dipole vector δ⃗ = (3/c) Σ_k D_k ∇n_k / Σ_k n_k (:ref:`model-anisotropy`; BA eq. 3.1).

    Parameters
    ----------
    n : array, shape (..., n_species, n_E)
        Density of each species at each (total) energy, any common unit.
    grad : array, shape (..., n_species, n_E, 3)
        Gradient of the density at the observer, same unit per kpc.
    D : array, shape (n_species, n_E)
        Diffusion coefficient of each species at each energy, kpc²/Myr.

    Returns
    -------
    numpy.ndarray, shape (..., n_E, 3)
        Dimensionless dipole vector, pointing to the maximum of intensity.
        With one species this is (3D/c)∇n/n (see :func:`dipole_single`).
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


def dipole_single(n, grad, D):
    """Dipole vector of one species, δ⃗ = (3D/c) ∇n / n (BA eq. 3.1).

    Parameters
    ----------
    n : array, shape (...)
        Density at the observer (> 0), any unit.
    grad : array, shape (..., 3)
        Its gradient, same unit per kpc.
    D : float or array broadcastable to ``n``
        Diffusion coefficient, kpc²/Myr (> 0).

    Returns
    -------
    numpy.ndarray, shape (..., 3)
        Dimensionless dipole vector towards the maximum of intensity.
    """
    n = _v.positive("n", n)
    grad = _v.as_float_array("grad", grad)
    D = _v.positive("D", D)
    n = np.asarray(n, dtype=float)
    if grad.shape[-1:] != (3,) or grad.shape[:-1] != n.shape:
        raise ValueError(f"grad must have shape n.shape + (3,) = {n.shape + (3,)}, got {grad.shape}")
    return (3.0 / c_light) * (np.asarray(D, dtype=float) / n)[..., None] * grad


def amplitude(delta):
    """Amplitude |δ⃗| of dipole vectors with components on the last axis (dimensionless)."""
    return np.linalg.norm(np.asarray(delta, float), axis=-1)


def phase_max_intensity(delta):
    """Galactic-plane azimuth (rad, in (−π, π]) of the direction of maximum intensity, +∇n.

    ``atan2(δ_y, δ_x)`` in crlib's Galactocentric axes (x̂ from the Galactic
    centre towards the Sun). A dipole dominated by the large-scale gradient
    points towards the inner Galaxy, −x̂, so this phase sits near ±π.
    """
    delta = np.asarray(delta, float)
    return np.arctan2(delta[..., 1], delta[..., 0])


def phase_streaming(delta):
    """Galactic-plane azimuth (rad, in (−π, π]) of the streaming current J⃗ = −D∇n.

    ``atan2(−δ_y, −δ_x)``, opposite to :func:`phase_max_intensity` (the two
    differ by π). A current driven by the large-scale gradient flows outwards,
    along +x̂, so this phase sits near 0.
    """
    delta = np.asarray(delta, float)
    return np.arctan2(-delta[..., 1], -delta[..., 0])


def phase_ba(delta):
    """BA's phase arctan(δ_y/δ_x) (BA §4.2, Figs. 6 and 9), in [−π/2, π/2].

    A one-argument arctangent: it cannot distinguish δ⃗ from −δ⃗, so it is near
    0 whenever the dipole lies close to the Sun–Galactic-centre line, whichever
    way it points. For δ_x = 0 it returns ±π/2 (sign of δ_y). Equal to
    :func:`phase_streaming` and :func:`phase_max_intensity` modulo π.
    """
    delta = np.asarray(delta, float)
    dx, dy = delta[..., 0], delta[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.arctan(dy / dx)
    return np.where(dx == 0.0, np.copysign(0.5 * np.pi, dy), out)


def angle_between(a, b):
    """Angle (rad, in [0, π]) between vectors on the last axis of ``a`` and ``b`` (SH Fig. 2).

    Uses atan2(|a×b|, a·b), accurate for small and nearly opposite angles.
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.arctan2(cross, dot)
