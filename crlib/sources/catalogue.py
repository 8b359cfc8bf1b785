"""A source catalogue: the positions, ages and arms of one realisation's supernovae."""

from dataclasses import dataclass, field

import numpy as np

from .. import _validate as v

__all__ = ["Catalogue"]


def _frozen_array(name, value, dtype):
    arr = np.asarray(value)
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got a complex array")
    if dtype is np.int64:
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.int64)
    else:
        arr = np.ascontiguousarray(v.as_float_array(name, arr), dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array, got shape {arr.shape}")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Catalogue:
    """A source catalogue: contiguous, read-only arrays sorted by age.

    Parameters
    ----------
    x, y, z : array_like of float
        Galactocentric position in kpc (finite, 1-d, one entry per source).
    t : array_like of float
        Age (time before the present) in Myr, ascending, within [t_min, t_max].
    arm : array_like of int
        Arm index into :data:`~crlib.sources.ARM_NAMES` (0-3), or -1 for sources in no arm.
    t_min, t_max : float
        The age window the catalogue covers, in Myr (0 <= t_min <= t_max);
        ``t_max=None`` takes the largest age (0 for an empty catalogue).
    model : SourceModel or None
        The model that produced it.

    Raises
    ------
    ValueError
        If the arrays differ in length, are not 1-d, hold non-finite or complex
        values, or the ages are unsorted or outside [t_min, t_max].
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    t: np.ndarray
    arm: np.ndarray
    t_min: float = 0.0
    t_max: float = None
    model: object = field(default=None, repr=False)

    def __post_init__(self):
        for name in ("x", "y", "z", "t"):
            object.__setattr__(self, name, _frozen_array(name, getattr(self, name), np.float64))
        object.__setattr__(self, "arm", _frozen_array("arm", self.arm, np.int64))
        v.same_length(x=self.x, y=self.y, z=self.z, t=self.t, arm=self.arm)
        t_min = v.non_negative("t_min", v.as_float("t_min", self.t_min))
        t_max = self.t_max
        if t_max is None:
            t_max = float(self.t[-1]) if self.t.size else t_min
        t_max = v.as_float("t_max", t_max)
        if t_max < t_min:
            raise ValueError(f"t_max must be >= t_min = {t_min!r}, got {t_max!r}")
        object.__setattr__(self, "t_min", t_min)
        object.__setattr__(self, "t_max", t_max)
        t = self.t
        if t.size and (np.any(np.diff(t) < 0) or t[0] < t_min or t[-1] > t_max):
            raise ValueError(f"t must ascend within [t_min, t_max] = [{t_min!r}, {t_max!r}]")
        if self.arm.size and (self.arm.min() < -1 or self.arm.max() > 3):
            raise ValueError("arm must hold arm indices 0, 1, 2, 3 or -1 (no arm)")

    @classmethod
    def _trusted(cls, x, y, z, t, arm, t_min, t_max, model):
        """A catalogue from arrays an internal sampler built valid (no checks, no copies).

        The arrays must be fresh, contiguous float64 (``arm``: int64), 1-d, of one
        length, with ascending ages in [t_min, t_max]; they are made read-only.
        """
        obj = object.__new__(cls)
        for name, arr in (("x", x), ("y", y), ("z", z), ("t", t), ("arm", arm)):
            arr.flags.writeable = False
            object.__setattr__(obj, name, arr)
        object.__setattr__(obj, "t_min", float(t_min))
        object.__setattr__(obj, "t_max", float(t_max))
        object.__setattr__(obj, "model", model)
        return obj

    def __len__(self):
        return self.t.shape[0]

    @property
    def r(self):
        """Galactocentric cylindrical radius in kpc."""
        return np.hypot(self.x, self.y)

    def __repr__(self):
        return (f"Catalogue({len(self)} sources, ages in ({self.t_min:g}, {self.t_max:g}] Myr, "
                f"model={self.model!r})")
