"""crlib: Galactic cosmic-ray diffusion from stochastic sources and the anisotropy it makes.

Internal units are kpc, Myr and GeV (see :mod:`crlib.units`); the model the
library implements is specified in the book chapter :ref:`model-units` and
the sections after it.

The main entry points are available from the package itself
(``crlib.run_ensemble``, ``crlib.ba_scenario``, ...); each is loaded from its
module on first use, so ``import crlib`` stays fast (no numba compilation or
cache loading until a name is used).  Modules, from the bottom up:

* :mod:`crlib.units`, :mod:`crlib.galaxy` -- units, constants and the geometry;
* :mod:`crlib.diffusion`, :mod:`crlib.species` -- D(E), the knee, nuclei, spallation, injection;
* :mod:`crlib.green` -- the slab Green function and the many-source kernel;
* :mod:`crlib.sources` -- source models and samplers;
* :mod:`crlib.anisotropy`, :mod:`crlib.observable` -- dipole estimators, sky projections;
* :mod:`crlib.largescale`, :mod:`crlib.analytic` -- mean fields and closed-form estimates;
* :mod:`crlib.ensemble`, :mod:`crlib.presets` -- realizations, ensembles, the papers' scenarios;
* :mod:`crlib.data`, :mod:`crlib.plotting`, :mod:`crlib.widgets` -- measurements and figures.
"""

import importlib

__version__ = "0.1.0"

#: Public name -> module it lives in (loaded on first attribute access).
_ENTRY_POINTS = {
    "Scenario": "ensemble", "run_ensemble": "ensemble", "run_ensembles": "ensemble",
    "realization": "ensemble",
    "channels": "ensemble", "bands": "ensemble", "prob_outside": "ensemble",
    "mean_direction": "ensemble", "angles_to_mean": "ensemble",
    "ba_scenario": "presets", "sh_scenario": "presets",
    "SourceModel": "sources", "Cylindrical": "sources", "SpiralArms": "sources",
    "ExponentialDisk": "sources", "MovingSpiralArms": "sources", "Catalogue": "sources",
    "sample": "sources", "sample_near": "sources", "surface_density": "sources",
    "local_rate": "sources",
    "slab_green": "green", "slab_green_gradient": "green", "observe": "green",
    "BADiffusion": "diffusion", "PowerLawDiffusion": "diffusion", "SHDiffusion": "diffusion",
    "KneeBreak": "diffusion", "transition_energy": "diffusion",
    "dipole": "anisotropy", "amplitude": "anisotropy",
    "Species": "species", "BA_GROUPS": "species", "PROTONS": "species",
    "load_amplitudes": "data", "load_phases": "data", "select": "data",
    "R_SUN": "galaxy", "OBSERVER": "galaxy",
}

_MODULES = ("analytic", "anisotropy", "data", "diffusion", "ensemble", "galaxy", "green",
            "largescale", "observable", "plotting", "presets", "sources", "species", "units",
            "widgets")

__all__ = sorted(_ENTRY_POINTS) + ["__version__"]


def __getattr__(name):
    if name in _ENTRY_POINTS:
        value = getattr(importlib.import_module(f".{_ENTRY_POINTS[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'crlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ENTRY_POINTS) | set(_MODULES))
