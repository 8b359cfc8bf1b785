"""Galactic geometry shared by every module (:ref:`model-sources`).

Coordinates are Galactocentric Cartesian in kpc: the Galactic centre at the
origin, the Galactic plane at z = 0, and the observer (the Sun) at
``(R_SUN, 0, 0)``.
"""

from .units import kpc

__all__ = ["R_SUN", "OBSERVER"]

#: Galactocentric radius of the Sun used by both source papers (BA, SH).
R_SUN = 8.5 * kpc

#: Observer position (x, y, z) in kpc.
OBSERVER = (R_SUN, 0.0, 0.0)
