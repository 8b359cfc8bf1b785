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

No arrival.  Where the total density is exactly zero (no particle of any
species arrives: above the injection cut-off, below Z·E0 with continuous
escape, or no source old enough yet) the dipole is undefined; :func:`dipole`
returns a NaN vector there.  The functions taking dipole vectors accept such
all-NaN vectors and return NaN for them; any other NaN, an infinite or a
complex component is refused with a ValueError.
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
        NaN (all three components) where the total density is exactly 0: no
        particle arrives, the dipole is undefined (see the module docstring).

    Raises
    ------
    ValueError
        Non-finite input, shapes that do not match, a negative density, or a
        non-zero gradient where the total density is zero.
    """
    n = _v.non_negative("n", n)
    n = np.asarray(n, dtype=float)
    grad = _v.as_float_array("grad", grad)
    D = _v.positive("D", D)
    D = np.asarray(D, dtype=float)
    if n.ndim < 2:
        raise ValueError(f"n must have shape (..., n_species, n_E), got {n.shape}")
    if grad.shape != n.shape + (3,):
        raise ValueError(f"grad must have shape n.shape + (3,) = {n.shape + (3,)}, got {grad.shape}")
    if D.shape != n.shape[-2:]:
        raise ValueError(f"D must have shape (n_species, n_E) = {n.shape[-2:]}, got {D.shape}")
    total = n.sum(axis=-2)
    empty = total == 0
    if np.any(empty & np.any(grad != 0, axis=(-3, -1))):
        raise ValueError("grad must be zero where the total density n is zero")
    current = np.einsum("...kjc,kj->...jc", grad, D)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = (3.0 / c_light) * current / total[..., None]
    out[empty] = np.nan
    return _finite_where_defined(out)


def _finite_where_defined(out):
    if not np.all(np.isfinite(out) | np.isnan(out)):
        raise ValueError("grad / n is so large that the dipole overflows float64")
    return out


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
    D, _ = _v.broadcast(D=np.asarray(D, dtype=float), n=n)
    with np.errstate(over="ignore"):
        return _finite_where_defined((3.0 / c_light) * (D / n)[..., None] * grad)


def amplitude(delta):
    """Amplitude ``|δ⃗|`` of dipole vectors with components on the last axis (dimensionless).

    Parameters
    ----------
    delta : array, shape (..., 3)
        Real, finite vectors (an all-NaN vector, "no arrival", gives NaN).

    Returns
    -------
    numpy.ndarray, shape (...)
    """
    d = _v.vectors("delta", delta, allow_nan=True)
    return _norm(d)


def _norm(v):
    """Euclidean norm on the last axis without the under/overflow of squaring (hypot)."""
    return np.hypot(np.hypot(v[..., 0], v[..., 1]), v[..., 2])


def phase_max_intensity(delta):
    """Galactic-plane azimuth (rad, in (−π, π]) of the direction of maximum intensity, +∇n.

    ``atan2(δ_y, δ_x)`` in crlib's Galactocentric axes (x̂ from the Galactic
    centre towards the Sun). A dipole dominated by the large-scale gradient
    points towards the inner Galaxy, −x̂, so this phase sits near ±π.
    """
    delta = _v.vectors("delta", delta, allow_nan=True)
    return np.arctan2(delta[..., 1], delta[..., 0])


def phase_streaming(delta):
    """Galactic-plane azimuth (rad, in (−π, π]) of the streaming current J⃗ = −D∇n.

    ``atan2(−δ_y, −δ_x)``, opposite to :func:`phase_max_intensity` (the two
    differ by π). A current driven by the large-scale gradient flows outwards,
    along +x̂, so this phase sits near 0.
    """
    delta = _v.vectors("delta", delta, allow_nan=True)
    return np.arctan2(-delta[..., 1], -delta[..., 0])


def phase_ba(delta):
    """BA's phase arctan(δ_y/δ_x) (BA §4.2, Figs. 6 and 9), in [−π/2, π/2].

    A one-argument arctangent: it cannot distinguish δ⃗ from −δ⃗, so it is near
    0 whenever the dipole lies close to the Sun–Galactic-centre line, whichever
    way it points. For δ_x = 0 it returns ±π/2 (sign of δ_y). Equal to
    :func:`phase_streaming` and :func:`phase_max_intensity` modulo π.
    """
    delta = _v.vectors("delta", delta, allow_nan=True)
    dx, dy = delta[..., 0], delta[..., 1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # dy/dx = ±inf -> ±pi/2
        out = np.arctan(dy / dx)
    return np.where(dx == 0.0, np.copysign(0.5 * np.pi, dy), out)


def angle_between(a, b):
    """Angle (rad, in [0, π]) between vectors on the last axis of ``a`` and ``b`` (SH Fig. 2).

    Uses ``atan2(|a×b|, a·b)``, accurate for small and nearly opposite angles.

    Parameters
    ----------
    a, b : array, shape (..., 3)
        Real, finite vectors that broadcast together; an all-NaN vector ("no
        arrival") gives NaN.

    Raises
    ------
    ValueError
        A zero vector (it has no direction), or shapes that do not broadcast.
    """
    a = _v.vectors("a", a, allow_nan=True)
    b = _v.vectors("b", b, allow_nan=True)
    a, b = _v.broadcast(a=a, b=b)
    for name, v in (("a", a), ("b", b)):
        if np.any(np.all(v == 0, axis=-1)):
            raise ValueError(f"{name} must not contain a zero vector (it has no direction)")
    # the angle does not depend on the lengths: scale each vector to a largest component of 1
    # so that the cross and dot products can neither underflow nor overflow
    a = a / np.max(np.abs(a), axis=-1, keepdims=True)
    b = b / np.max(np.abs(b), axis=-1, keepdims=True)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.arctan2(cross, dot)
