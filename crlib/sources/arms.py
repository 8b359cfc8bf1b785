"""The four-arm logarithmic spiral of Faucher-Giguere & Kaspi (2006) and its placement.

The one place the arm-centroid formula is written:
theta_k(r) = K_k ln(r / r0_k) + theta0_k + placement rotation + pattern rotation
(FK06 Table 2; BA section 4), and its inverse in r.
"""

import math

import numpy as np

__all__ = ["FK06_ARMS", "ARM_NAMES", "PLACEMENTS", "arm_columns", "centroid_azimuth",
           "centroid_radius"]

#: FK06 Table 2: (K [rad], r0 [kpc], theta0 [rad]) for the four arms.
FK06_ARMS = np.array([
    [4.25, 3.48, 1.57],   # Norma
    [4.25, 3.48, 4.71],   # Carina-Sagittarius
    [4.89, 4.90, 4.09],   # Perseus
    [4.89, 4.90, 0.95],   # Crux-Scutum
])
FK06_ARMS.flags.writeable = False
ARM_NAMES = ("Norma", "Carina-Sagittarius", "Perseus", "Crux-Scutum")

#: Rotation (rad) added to every FK06 arm azimuth for each placement.  FK06 put
#: the Sun at (0, 8.5 kpc), azimuth pi/2; "fk06" turns the pattern by -pi/2 so
#: that the Sun lands at (R_SUN, 0); "ba_literal" uses the table unrotated.
PLACEMENTS = {"fk06": -0.5 * math.pi, "ba_literal": 0.0}

TWO_PI = 2.0 * math.pi


def arm_columns():
    """The columns (K, r0, theta0) of :data:`~crlib.sources.FK06_ARMS` as contiguous
    writable copies (numba kernels take them as separate arrays)."""
    return tuple(FK06_ARMS[:, j].copy() for j in range(3))


def check_placement(name, value):
    """Return ``value`` if it is a key of ``PLACEMENTS``, else raise ValueError naming ``name``."""
    if not isinstance(value, str) or value not in PLACEMENTS:
        raise ValueError(f"{name} must be one of {sorted(PLACEMENTS)}, got {value!r}")
    return value


def centroid_azimuth(arm, r, placement, rotation=0.0):
    """Unwrapped azimuth (rad) of the centroid of arm(s) ``arm`` at radius ``r`` (kpc).

    Parameters
    ----------
    arm : int or array of int
        Arm index (0-3) into :data:`~crlib.sources.FK06_ARMS`, broadcast with ``r``.
    r : float or array
        Galactocentric radius in kpc (> 0).
    placement : str
        A key of :data:`~crlib.sources.PLACEMENTS`.
    rotation : float or array
        Pattern rotation in rad added to the azimuth (0 for a static pattern).
    """
    K, r0, th0 = np.asarray(FK06_ARMS[arm]).T
    return K * np.log(r / r0) + th0 + PLACEMENTS[placement] + rotation


def centroid_radius(arm, theta, placement):
    """Radius (kpc) at which arm ``arm`` (static pattern) reaches the unwrapped azimuth ``theta``.

    The inverse of :func:`centroid_azimuth` with ``rotation = 0``.
    """
    K, r0, th0 = FK06_ARMS[arm]
    return r0 * math.exp((theta - (th0 + PLACEMENTS[placement])) / K)
