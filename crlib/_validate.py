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


def _describe_safe(value):
    try:
        return _describe(value)
    except Exception:
        return f"an object of type {type(value).__name__}"


def _reject_non_real(name, value):
    """Refuse what numpy would silently turn into a float: None, strings, booleans and
    complex numbers (whose imaginary part would be dropped)."""
    if value is None:
        raise ValueError(f"{name} must be numeric, got None")
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be numeric, got the string {value!r}")
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be numeric, got the boolean {value!r}")
    if isinstance(value, (complex, np.complexfloating)):
        raise ValueError(f"{name} must be real, got the complex number {value!r}")
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
    else:
        try:
            kind = np.asarray(value).dtype.kind
        except (TypeError, ValueError):          # ragged or exotic input: reported below
            return
    if kind == "c":
        raise ValueError(f"{name} must be real, got a complex array")
    if kind in "bUS":
        what = {"b": "booleans", "U": "strings", "S": "bytes"}[kind]
        raise ValueError(f"{name} must be numeric, got an array of {what}")


def as_float_array(name, value):
    """Return ``value`` as a contiguous float64 array after checking it is real and finite.

    None, strings, booleans and complex values are refused (numpy would turn them
    into floats, or drop the imaginary part, silently)."""
    _reject_non_real(name, value)
    try:
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim:
            arr = np.ascontiguousarray(arr)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must be numeric, got {_describe_safe(value)}") from exc
    except Exception as exc:      # e.g. ComplexWarning raised as an error, odd __array__
        raise ValueError(f"{name} must be numeric, got {_describe_safe(value)}") from exc
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


def broadcast(**arrays):
    """Broadcast the keyword arrays together; a ValueError names them and their shapes
    instead of numpy's anonymous broadcasting message."""
    try:
        return np.broadcast_arrays(*(np.asarray(a) for a in arrays.values()))
    except ValueError:
        desc = ", ".join(f"{k} has shape {np.shape(a)}" for k, a in arrays.items())
        raise ValueError(f"{' and '.join(arrays)} must broadcast together: {desc}") from None


def model(name, obj, method):
    """Check that ``obj`` has a callable ``method`` (e.g. a diffusion model's ``D``)."""
    if not callable(getattr(obj, method, None)) or isinstance(obj, type):
        what = f"the class {obj.__qualname__} (not an instance)" if isinstance(obj, type) \
            else f"an object of type {type(obj).__name__}"
        raise ValueError(f"{name} must be a model with a method {method}(...), got {what}")
    return obj


def vectors(name, value, allow_nan=False):
    """Real array with a last axis of length 3 (x, y, z), finite.

    With ``allow_nan`` a vector may be entirely NaN (crlib's marker of an undefined
    dipole: no particle arrives); a partly NaN vector or an infinite component is
    still refused.
    """
    _reject_non_real(name, value)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except Exception as exc:
        raise ValueError(f"{name} must be numeric, got {_describe_safe(value)}") from exc
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have a last axis of length 3 (x, y, z), got shape {arr.shape}")
    nan = np.isnan(arr)
    if np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be finite, got a value inf")
    if np.any(nan):
        whole = np.all(nan, axis=-1)
        if not allow_nan:
            raise ValueError(f"{name} must be finite, got a value nan")
        if np.any(nan & ~whole[..., None]):
            raise ValueError(f"{name} must be finite or entirely NaN per vector (no arrival), "
                             "got a vector with some NaN components")
    return np.ascontiguousarray(arr)
