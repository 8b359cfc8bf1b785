"""crlib: Galactic cosmic-ray diffusion from stochastic sources and the anisotropy it makes.

Internal units are kpc, Myr and GeV (see :mod:`crlib.units`).
"""

__version__ = "0.1.0"
