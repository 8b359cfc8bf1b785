"""Argument checks shared by every public crlib function.

Each check raises :class:`ValueError` with a message that names the parameter,
shows the offending value and states the valid range, so bad input never
turns silently into NaN further down a numba kernel.  The checks return the
argument converted to what the kernels want (a float or a contiguous float64
array), so a caller writes ``H = positive("H", H)``.
"""

import math

import numpy as np


def _describe(value):
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value)
    return f"array of shape {arr.shape}"


def as_float_array(name, value):
    """Return ``value`` as a contiguous float64 array after checking it is finite."""
    try:
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim:
            arr = np.ascontiguousarray(arr)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {_describe(value)}") from exc
    if not np.all(np.isfinite(arr)):
        bad = float(arr[~np.isfinite(arr)].ravel()[0])
        raise ValueError(f"{name} must be finite, got a value {bad!r}")
    return arr


def as_float(name, value):
    """Return ``value`` as a finite Python float."""
    arr = as_float_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got {_describe(value)}")
    return float(arr)


def _check(name, value, ok, requirement):
    arr = as_float_array(name, value)
    if not np.all(ok(arr)):
        bad = float(arr[~ok(arr)].ravel()[0]) if arr.ndim else float(arr)
        raise ValueError(f"{name} must be {requirement}, got {bad!r}")
    return float(arr) if arr.ndim == 0 else arr


def positive(name, value):
    """Check ``value > 0`` (scalar or array)."""
    return _check(name, value, lambda a: a > 0, "> 0")


def non_negative(name, value):
    """Check ``value >= 0`` (scalar or array)."""
    return _check(name, value, lambda a: a >= 0, ">= 0")


def in_open_interval(name, value, lo, hi):
    """Check ``lo < value < hi``."""
    return _check(name, value, lambda a: (a > lo) & (a < hi), f"in ({lo}, {hi})")


def in_closed_interval(name, value, lo, hi):
    """Check ``lo <= value <= hi``."""
    return _check(name, value, lambda a: (a >= lo) & (a <= hi), f"in [{lo}, {hi}]")


def tolerance(name, value):
    """A relative tolerance: a float in (0, 1)."""
    return in_open_interval(name, as_float(name, value), 0.0, 1.0)


def positive_int(name, value):
    """A strictly positive integer (bools rejected)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer (>= 1), got {value!r}")
    return int(value)


def same_length(**arrays):
    """Check that all 1-d arrays given as keywords have the same length."""
    lengths = {k: np.shape(v)[0] if np.ndim(v) else None for k, v in arrays.items()}
    if None in lengths.values():
        scalars = [k for k, n in lengths.items() if n is None]
        raise ValueError(f"{', '.join(scalars)} must be 1-d arrays")
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"arrays must have matching lengths: {desc}")
    return next(iter(lengths.values())) if lengths else 0


def is_finite_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)
