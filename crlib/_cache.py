"""The on-disk ensemble cache: canonical keys, checked loads, atomic writes.

A cache key must change whenever anything that can change the arrays changes,
and must never be shared by two different requests.  It is therefore built
from a *canonical description* of every parameter (:func:`canonical`), never
from ``repr`` (a class without its own ``__repr__`` prints a memory address,
which Python reuses for later objects), plus the identity of the code that
computes the arrays (:func:`code_identity`: a hash of crlib's source and data
files, so that editing crlib in its editable install invalidates old entries)
and the numpy and numba versions.

An object is described

* if it has a method ``describe()``: by what that returns (itself described);
* if it is a dataclass: by its class (module and qualified name) and the
  descriptions of all its fields, recursively; a class defined outside crlib
  also contributes a digest of its methods' byte code, so that editing the
  ``D`` method of a notebook-defined model changes the key;
* floats exactly (``float.hex``), integers, strings, booleans and None by
  value; tuples, lists and dicts element by element; numpy arrays by dtype,
  shape and bytes.

Anything else (for instance a plain class instance) is refused with a
``ValueError`` instead of guessed.
"""

import dataclasses
import glob
import hashlib
import os
import tempfile
import time
import types
import warnings
from functools import lru_cache

import numpy as np

__all__ = ["canonical", "code_identity", "tree_digest", "make_key", "check_arrays", "load", "save",
           "clean_stale_parts", "warn_write_failed", "ARRAY_NAMES", "STALE_PART_SECONDS"]

#: Names of the arrays an ensemble file holds (besides its key).
ARRAY_NAMES = ("energies", "delta", "n", "n_sources", "far_age", "D")

#: A ``*.npz.part`` file untouched for this long (s) is a remnant of a killed write.
STALE_PART_SECONDS = 600.0

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------- description
def _code_digest(code):
    """Digest of a code object that does not depend on file name or line numbers."""
    h = hashlib.sha256()
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    h.update(repr(code.co_varnames).encode())
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            h.update(_code_digest(c).encode())
        else:
            h.update(repr(c).encode())
    return h.hexdigest()[:16]


def _class_code(cls):
    """Digest of the methods defined by ``cls`` and its bases outside crlib and builtins."""
    parts = []
    for klass in cls.__mro__:
        if klass is object or (klass.__module__ or "").startswith(("crlib", "builtins")):
            continue
        for name in sorted(vars(klass)):
            attr = vars(klass)[name]
            func = getattr(attr, "__func__", attr)          # staticmethod / classmethod
            code = getattr(func, "__code__", None)
            if isinstance(code, types.CodeType):
                parts.append(f"{name}={_code_digest(code)}")
    return ",".join(parts)


def _qualname(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def canonical(obj, path="value"):
    """Canonical text describing ``obj`` exactly (see the module docstring).

    Parameters
    ----------
    obj : object
        A parameter of a request (a Scenario, a model, a float, an array, ...).
    path : str
        Where ``obj`` sits in the request; used in the error message.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``obj`` (or something inside it) cannot be described.
    """
    if obj is None or isinstance(obj, (bool, np.bool_)):
        return repr(None if obj is None else bool(obj))
    if isinstance(obj, (int, np.integer)):
        return f"int:{int(obj)}"
    if isinstance(obj, (float, np.floating)):
        return f"float:{float(obj).hex()}"
    if isinstance(obj, (complex, np.complexfloating)):
        return f"complex:{complex(obj).real.hex()},{complex(obj).imag.hex()}"
    if isinstance(obj, str):
        return f"str:{obj!r}"
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise ValueError(f"{path} is an object array, which cannot be described for the cache key")
        a = np.ascontiguousarray(obj)
        return f"ndarray:{a.dtype.str}:{a.shape}:{hashlib.sha256(a.tobytes()).hexdigest()}"
    if isinstance(obj, (tuple, list)):
        kind = type(obj).__name__
        return f"{kind}(" + ",".join(canonical(x, f"{path}[{i}]") for i, x in enumerate(obj)) + ")"
    if isinstance(obj, dict):
        items = []
        for k in sorted(obj, key=repr):
            items.append(f"{canonical(k, f'{path} key')}:{canonical(obj[k], f'{path}[{k!r}]')}")
        return "dict(" + ",".join(items) + ")"
    cls = type(obj)
    code = "" if cls.__module__.startswith("crlib") else f"|code={_class_code(cls)}"
    describe = getattr(obj, "describe", None)
    if callable(describe) and not isinstance(obj, type):
        return f"{_qualname(cls)}<{canonical(describe(), f'{path}.describe()')}{code}>"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = ",".join(f"{f.name}={canonical(getattr(obj, f.name), f'{path}.{f.name}')}"
                          for f in dataclasses.fields(obj))
        return f"{_qualname(cls)}({fields}{code})"
    raise ValueError(
        f"{path} ({_qualname(cls)}) cannot be described for the cache key: give the class a "
        "describe() method returning its parameters (numbers, strings, tuples, dicts, arrays), "
        "or make it a dataclass, or run without cache_dir")


@lru_cache(maxsize=1)
def code_identity():
    """SHA-256 (hex) of crlib's source and data files (paths and contents, in sorted order).

    Computed once per process, i.e. for the crlib that the process imported.
    """
    return tree_digest(_PACKAGE_DIR)


def tree_digest(folder):
    """SHA-256 (hex) of the ``.py``, ``.csv``, ``.txt`` and ``.json`` files under ``folder``
    (relative paths and contents, sorted; ``__pycache__`` and hidden folders skipped)."""
    h = hashlib.sha256()
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in names:
            if name.endswith((".py", ".csv", ".txt", ".json")):
                files.append(os.path.join(root, name))
    for f in sorted(files):
        h.update(os.path.relpath(f, folder).replace(os.sep, "/").encode())
        with open(f, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def make_key(request, **extra):
    """Cache key (32 hex digits) of ``request`` and the keyword values ``extra``,
    with crlib's code identity and the numpy and numba versions."""
    import numba

    parts = [canonical(request, type(request).__name__)]
    parts += [f"{k}={canonical(v, k)}" for k, v in sorted(extra.items())]
    parts += [f"crlib={code_identity()}", f"numpy={np.__version__}", f"numba={numba.__version__}"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


# ----------------------------------------------------------------------------- files
def check_arrays(arrays, energies, n_realizations, D, T):
    """Reason (str) why loaded ensemble arrays do not answer the request, or None if they do.

    Checked: every array present with its exact dtype and shape; the energies and
    the diffusion coefficients equal to the request's; densities finite and >= 0;
    source counts >= 0; far ages in [0, T] (0: no far source was needed); each
    dipole vector finite where some particle arrives and NaN where none does (the
    documented convention of :func:`crlib.anisotropy.dipole`).
    """
    E = np.asarray(energies, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    N, n_E, n_s = int(n_realizations), E.size, D.shape[0]
    want = {"energies": (np.float64, (n_E,)), "delta": (np.float64, (N, n_E, 3)),
            "n": (np.float64, (N, n_s, n_E)), "n_sources": (np.int64, (N,)),
            "far_age": (np.float64, (N,)), "D": (np.float64, (n_s, n_E))}
    for name, (dtype, shape) in want.items():
        if name not in arrays:
            return f"array {name!r} is missing"
        a = arrays[name]
        if a.dtype != dtype or a.shape != shape:
            return f"{name} has dtype {a.dtype} and shape {a.shape}, expected {np.dtype(dtype)} {shape}"
    if not np.array_equal(arrays["energies"], E):
        return "energies differ from the request"
    if not np.array_equal(arrays["D"], D):
        return "diffusion coefficients differ from the request"
    n = arrays["n"]
    if not (np.all(np.isfinite(n)) and np.all(n >= 0)):
        return "densities are not all finite and >= 0"
    if np.any(arrays["n_sources"] < 0):
        return "negative source counts"
    far = arrays["far_age"]
    if not (np.all(np.isfinite(far)) and np.all(far >= 0) and np.all(far <= T * (1 + 1e-12))):
        return f"far ages outside [0, T = {T}]"
    delta = arrays["delta"]
    arrived = n.sum(axis=1) > 0                                  # (N, n_E)
    if not np.all(np.isfinite(delta[arrived])):
        return "non-finite dipoles where particles arrive"
    if not np.all(np.isnan(delta[~arrived])):
        return "dipoles defined where no particle arrives"
    return None


def load(path, key):
    """Arrays stored under ``key`` at ``path``, or None if missing, unreadable or keyed otherwise."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if "key" not in f.files or str(f["key"]) != key:
                return None
            return {name: f[name] for name in ARRAY_NAMES if name in f.files}
    except Exception:   # BadZipFile, truncated members, OSError, ValueError ... : recompute
        return None


def save(path, key, arrays):
    """Write atomically: a temporary ``*.npz.part`` in the same folder, fsync, then os.replace.

    The temporary file is removed whatever happens; errors (read-only folder,
    full disk) propagate to the caller.
    """
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=base[:-len(".npz")] + ".", suffix=".npz.part")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, key=np.array(key), **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def clean_stale_parts(folder, max_age=STALE_PART_SECONDS, now=None):
    """Remove ``ensemble-*.npz.part`` files in ``folder`` untouched for ``max_age`` seconds.

    Such files are left by a killed write; a write in progress touches its file
    continuously and is left alone.  Returns the number of files removed.
    """
    now = time.time() if now is None else now
    removed = 0
    for f in glob.glob(os.path.join(glob.escape(folder), "ensemble-*.npz.part")):
        try:
            if now - os.path.getmtime(f) > max_age:
                os.remove(f)
                removed += 1
        except OSError:          # removed meanwhile by another process, or no permission
            continue
    return removed


def warn_write_failed(path, exc):
    warnings.warn(f"could not write the ensemble cache file {path} ({type(exc).__name__}: {exc}); "
                  "the computed result is returned but not cached", RuntimeWarning, stacklevel=3)
