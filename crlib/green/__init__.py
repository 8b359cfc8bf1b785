r"""Green function of a cosmic-ray burst in a slab halo, and the many-source kernel.

The package has six modules, one concept each (:ref:`model-green`):

* ``crlib.green.series`` -- one source and one observer: :func:`slab_green`,
  :func:`slab_green_gradient`, the fixed-term forms :func:`green_images` and
  :func:`green_eigen`, and the a-priori truncation rules (:func:`terms_needed`,
  :func:`single_mode_u`);
* ``crlib.green.engine`` -- many sources and many channels at once:
  :func:`observe` (validation, sorting, segment bounds, skip rule);
* ``crlib.green.kernel`` -- its compiled, vectorised sums;
* ``crlib.green.aggregate`` -- the old sources of many channels in cells: Taylor
  moments shared by every channel, each cell accepted on a rigorous remainder bound;
* ``crlib.green.bounds`` -- rigorous bounds used to leave sources out: the skip
  rule of :func:`observe` and :func:`far_bound`;
* ``crlib.green.fastexp`` -- the branch-free exp, cos and sin polynomials the
  kernel vectorises.

Every public name is re-exported here, so ``from crlib.green import observe``
works as before.
"""

from .bounds import far_bound
from .engine import _SERIAL_PAIRS, block_size, image_thresholds, mode_thresholds, observe
from .series import (MAX_TERMS, U_SWITCH, green_eigen, green_images, single_mode_u, slab_green,
                     slab_green_gradient, terms_needed)

__all__ = [
    "slab_green", "slab_green_gradient", "green_images", "green_eigen",
    "observe", "far_bound", "terms_needed", "U_SWITCH", "MAX_TERMS", "single_mode_u",
    "mode_thresholds", "image_thresholds", "block_size",
]
