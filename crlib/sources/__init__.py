"""Where and when supernovae happen: source models and samplers for Galactic source catalogues.

Models (:ref:`model-sources`), all frozen dataclasses deriving from
:class:`SourceModel`, with validated parameters:

* :class:`Cylindrical` -- Case & Bhattacharya (1998) radial surface density
  (BA eqs. 4.1-4.3), uniform azimuth, exponential (Laplace) heights.
* :class:`SpiralArms` -- the four-arm logarithmic spiral of Faucher-Giguere &
  Kaspi (2006, Table 2) with BA's angular blurring of scale ``w``.
* :class:`ExponentialDisk` -- surface density proportional to exp(-r/r_d)
  (SH eq. 5).
* :class:`MovingSpiralArms` -- a fraction ``f_arm`` of the sources on the FK06
  arms with a Gaussian cross-arm profile, the rest in the exponential disk; the
  arm pattern rotates with respect to the Sun's frame (SH section 4, after
  Benyamin et al. 2014; pattern speed from Gies & Helsel 2005).

Layout of the package:

* ``arms`` -- FK06 Table 2, the placements, the one arm-centroid formula;
* ``models`` -- :class:`SourceModel` and the four models; each model
  carries its radial law, pdf and cdf, heights, pattern rotation, positions and
  surface density, so adding a model touches one class;
* ``catalogue`` -- :class:`Catalogue`;
* ``densities`` -- the functions ``radial_pdf(model, r)``,
  ``surface_density(model, x, y)``, ... that validate and ask the model;
* ``sampling`` -- :func:`sample`, :func:`sample_chunks`;
* ``near`` -- the near-Sun sampler (:func:`sample_near`, ...);
* ``_kernels`` -- the numba quadratures and closed forms behind the densities;
* ``_fast`` -- the numba samplers of the built-in models and of the near-Sun
  region (raw 64-bit words of the Generator, cache-sized blocks, vectorised
  cos/sin); they draw the same laws as the generic ``_polar`` path but other
  random numbers for a given seed.

Coordinates: Galactocentric Cartesian in kpc, Sun at ``(R_SUN, 0, 0)``; times
are ages in Myr; rates are per Myr.
"""

from . import arms as _arms, near as _near
from .arms import centroid_azimuth, centroid_radius
from .catalogue import Catalogue
from .densities import (arm_azimuth, arm_distances, height_cdf, height_pdf, local_rate,
                        pattern_rotation, radial_cdf, radial_pdf, surface_density)
from .models import (Cylindrical, ExponentialDisk, MovingSpiralArms, SourceModel, SpiralArms,
                     check_model, is_source_model)
from .near import NearRegion, near_region, sample_near, sample_outside
from .sampling import as_rng, sample, sample_chunks

#: FK06 Table 2, one row (K [rad], r0 [kpc], theta0 [rad]) per arm, in the order of ``ARM_NAMES``.
FK06_ARMS = _arms.FK06_ARMS
#: Names of the four FK06 arms, indexed by a catalogue's ``arm``.
ARM_NAMES = _arms.ARM_NAMES
#: Rotation in rad added to the FK06 azimuths ("fk06" puts FK06's Sun at (R_SUN, 0), "ba_literal" none).
PLACEMENTS = _arms.PLACEMENTS
#: Reach of the near-Sun region in units of sigma_arm (arm sources farther out never land near the Sun).
ARM_REACH = _near.ARM_REACH

__all__ = [
    "FK06_ARMS", "ARM_NAMES", "PLACEMENTS", "ARM_REACH", "SourceModel", "Cylindrical",
    "SpiralArms", "ExponentialDisk", "MovingSpiralArms", "Catalogue", "NearRegion",
    "is_source_model", "check_model", "sample", "sample_chunks", "sample_near",
    "sample_outside", "near_region", "surface_density", "local_rate", "radial_pdf",
    "radial_cdf", "height_pdf", "height_cdf", "pattern_rotation", "arm_azimuth",
    "arm_distances", "centroid_azimuth", "centroid_radius", "as_rng",
]

# Document (and pickle) the public classes under the package name.
for _cls in (SourceModel, Cylindrical, SpiralArms, ExponentialDisk, MovingSpiralArms, Catalogue,
             NearRegion):
    _cls.__module__ = __name__
del _cls
