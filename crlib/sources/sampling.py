"""Drawing supernova histories: a homogeneous Poisson process in age, positions from the model.

See :ref:`model-sources` for the model and :mod:`crlib.sources.near` for the
sampler that draws only the sources near the Sun explicitly.
"""

import numpy as np

from .. import _validate as v
from . import _fast
from .catalogue import Catalogue
from .models import check_model

__all__ = ["sample", "sample_chunks", "as_rng"]


def as_rng(rng):
    """A numpy Generator from a Generator, a SeedSequence or an int seed >= 0."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be >= 0, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise ValueError(
        f"rng must be a numpy.random.Generator, a SeedSequence or an int seed >= 0, got {rng!r}")


def _window(model, rate, lo, hi, rng):
    n = int(rng.poisson(rate * (hi - lo)))
    t = _fast.sorted_ages(rng, n, lo, hi)
    x, y, z, arm = model.positions(rng, t)
    if getattr(type(model).positions, "_trusted", False):
        return Catalogue._trusted(x, y, z, t, arm, lo, hi, model)
    return Catalogue(x, y, z, t, arm, t_min=lo, t_max=hi, model=model)


def sample(model, rate, T, rng, t_max=None):
    """Draw one realisation of the supernova history (:ref:`model-sources`).

    Explosions form a homogeneous Poisson process of Galactic ``rate`` over the
    ages (0, T]: N ~ Poisson(rate T) and, given N, independent uniform ages.
    Positions follow ``model``.

    Parameters
    ----------
    model : SourceModel
        E.g. ``Cylindrical()``, ``SpiralArms(w=5.0)``, ``ExponentialDisk()``, ``MovingSpiralArms()``.
    rate : float
        Galactic supernova rate in 1/Myr (> 0), e.g. ``1 / (30 * yr)``.
    T : float
        Span of the history in Myr (> 0), e.g. 80 (BA).
    rng : numpy.random.Generator or int
        Random stream, or a seed for ``numpy.random.default_rng``.
    t_max : float, optional
        Keep only ages <= t_max (0 < t_max <= T).  N is then drawn directly as
        Poisson(rate t_max), statistically identical to sampling (0, T] and
        cutting (a restricted Poisson process is Poisson), but not the same
        numbers for a given seed.

    Returns
    -------
    Catalogue
        Sources sorted by age, ascending.
    """
    check_model("model", model)
    rate = v.positive("rate", v.as_float("rate", rate))
    T = v.positive("T", v.as_float("T", T))
    rng = as_rng(rng)
    hi = T
    if t_max is not None:
        hi = v.as_float("t_max", t_max)
        if not (0.0 < hi <= T):
            raise ValueError(f"t_max must be in (0, {T}], got {t_max!r}")
    return _window(model, rate, 0.0, hi, rng)


def sample_chunks(model, rate, T, rng, chunk_span):
    """Yield catalogues for consecutive age windows (0, s], (s, 2s], ... up to T.

    Each window gets an independent Poisson(rate * width) number of sources
    with uniform ages inside it, so the union has exactly the distribution of
    :func:`sample` over (0, T] (independent increments), while memory stays
    bounded by one chunk.  Ages ascend within and across chunks.

    Parameters
    ----------
    model, rate, T, rng
        As in :func:`sample`.
    chunk_span : float
        Width of each age window in Myr (> 0); the last one may be shorter.

    Yields
    ------
    Catalogue
    """
    check_model("model", model)
    rate = v.positive("rate", v.as_float("rate", rate))
    T = v.positive("T", v.as_float("T", T))
    span = v.positive("chunk_span", v.as_float("chunk_span", chunk_span))
    rng = as_rng(rng)
    k = 0
    while k * span < T:
        yield _window(model, rate, k * span, min((k + 1) * span, T), rng)
        k += 1
