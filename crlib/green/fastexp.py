r"""Branch-free polynomial forms of exp, cos and sin that LLVM can vectorise.

The many-source kernel (``crlib.green.kernel``) evaluates one exponential per
(source, channel) pair; ``math.exp`` is a library call that stops LLVM from
vectorising the loop.  ``exp_poly`` instead does a Cody-Waite range
reduction ``x = k ln2 + r`` (``|r| <= ln2/2``, ln 2 split in two parts) and a
degree-13 Taylor polynomial of ``e^r`` (truncation below 5e-18 relative, a few
ulp in all); the power ``2^k`` is assembled afterwards from the rounded ``k``
by integer arithmetic on its bit pattern (``scale_pass``).  Exponents below
``EXP_MIN`` are clamped and their term set to zero: each such term is below
``e^-600 / (4 pi D tau H) < 1e-260`` per kpc^3, and the clamp keeps every
product away from slow subnormal arithmetic.

``cos_sin_poly`` gives cos and sin of ``|phi| < pi/2`` by Taylor polynomials of
degree 22 and 21 (truncation below 1e-18); the per-source seeds of the eigenmode
series use it (``mode_seeds``).
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

_MAGIC = 6755399441055744.0          # 1.5 * 2^52: adding it rounds to an integer
_MAGIC_BITS = 0x4338000000000000      # its bit pattern
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238          # ln 2 split in two (Cody-Waite)
_LN2_LO = 1.9082149292705877e-10
#: Exponents below this are clamped and their term set to zero (see the module docstring).
EXP_MIN = -600.0


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def exp_poly(x):
    """``(p, kf, keep)``: ``e^x = keep * p * 2^k`` with ``k`` encoded in the bits of ``kf``.

    ``keep`` is 1.0, or 0.0 for ``x <= EXP_MIN`` (then ``x`` is clamped first); decode
    ``2^k`` with ``scale_pass``.  Branch-free (selects only), so loops over it vectorise.
    """
    keep = 1.0 if x > EXP_MIN else 0.0
    x = x if x > EXP_MIN else EXP_MIN
    kf = x * _LOG2E + _MAGIC
    kd = kf - _MAGIC
    r = x - kd * _LN2_HI - kd * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p, kf, keep


@intrinsic
def _int_bits_as_float(typingctx, i):
    """Reinterpret the bits of an int64 as a float64 (a no-op bitcast LLVM vectorises)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return sig, codegen


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def exp_full(x):
    """``e^x`` for ``x <= 0`` in one branch-free expression (0.0 for ``x <= EXP_MIN``).

    ``exp_poly`` with the power of two assembled in-register, so that a loop
    calling it vectorises without a separate ``scale_pass``.
    """
    p, kf, keep = exp_poly(x)
    k = np.int64(kf - _MAGIC)
    return p * keep * _int_bits_as_float((k + 1023) << 52)


@njit(cache=True, error_model="numpy")
def scale_pass(n, kbuf):
    """In place: turn the ``kf`` values of ``exp_poly`` into the doubles ``2^k``
    (read the buffer as float64 afterwards)."""
    kb = kbuf.view(np.int64)
    for m in range(n):
        kb[m] = (kb[m] - _MAGIC_BITS + 1023) << 52


@njit(cache=True, error_model="numpy")
def mul_pass(n, a, b):
    """In place ``a[:n] *= b[:n]``."""
    for m in range(n):
        a[m] *= b[m]


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def cos_sin_poly(ph):
    """``(cos ph, sin ph)`` for ``|ph| < pi/2`` by Taylor polynomials (degree 22 and 21)."""
    p2 = ph * ph
    cs = 1.0 / 1124000727777607680000.0       # cos: 1/22!
    cs = 1.0 / 2432902008176640000.0 - p2 * cs
    cs = 1.0 / 6402373705728000.0 - p2 * cs
    cs = 1.0 / 20922789888000.0 - p2 * cs
    cs = 1.0 / 87178291200.0 - p2 * cs
    cs = 1.0 / 479001600.0 - p2 * cs
    cs = 1.0 / 3628800.0 - p2 * cs
    cs = 1.0 / 40320.0 - p2 * cs
    cs = 1.0 / 720.0 - p2 * cs
    cs = 1.0 / 24.0 - p2 * cs
    cs = 0.5 - p2 * cs
    cs = 1.0 - p2 * cs
    sn = 1.0 / 51090942171709440000.0         # sin: 1/21!
    sn = 1.0 / 121645100408832000.0 - p2 * sn
    sn = 1.0 / 355687428096000.0 - p2 * sn
    sn = 1.0 / 1307674368000.0 - p2 * sn
    sn = 1.0 / 6227020800.0 - p2 * sn
    sn = 1.0 / 39916800.0 - p2 * sn
    sn = 1.0 / 362880.0 - p2 * sn
    sn = 1.0 / 5040.0 - p2 * sn
    sn = 1.0 / 120.0 - p2 * sn
    sn = 1.0 / 6.0 - p2 * sn
    sn = ph * (1.0 - p2 * sn)
    return cs, sn
