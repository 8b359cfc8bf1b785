r"""Green function of a cosmic-ray burst in a slab halo, and the many-source kernel.

The package has four modules, one concept each (:ref:`model-green`):

* :mod:`crlib.green.series` -- one source and one observer: :func:`slab_green`,
  :func:`slab_green_gradient`, the fixed-term forms :func:`green_images` and
  :func:`green_eigen`, and the a-priori truncation rules (:func:`terms_needed`,
  :func:`single_mode_u`);
* :mod:`crlib.green.kernel` -- many sources and many channels at once:
  :func:`observe`, vectorised;
* :mod:`crlib.green.bounds` -- rigorous bounds used to leave sources out: the skip
  rule of :func:`observe` and :func:`far_bound`;
* :mod:`crlib.green.fastexp` -- the branch-free exp, cos and sin polynomials the
  kernel vectorises.

Every public name is re-exported here, so ``from crlib.green import observe``
works as before.
"""

from .bounds import far_bound
from .kernel import _SERIAL_PAIRS, block_size, mode_thresholds, observe
from .series import (MAX_TERMS, U_SWITCH, green_eigen, green_images, single_mode_u, slab_green,
                     slab_green_gradient, terms_needed)

__all__ = [
    "slab_green", "slab_green_gradient", "green_images", "green_eigen",
    "observe", "far_bound", "terms_needed", "U_SWITCH", "MAX_TERMS", "single_mode_u",
    "mode_thresholds", "block_size",
]
