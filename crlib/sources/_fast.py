"""Fast samplers of the built-in source models: numba kernels fed with raw 64-bit words.

The generic path (``SourceModel.positions``) calls one NumPy distribution per
coordinate and several array passes for the trigonometry; this module draws the
same laws from the Generator's raw output (``rng.bit_generator.random_raw``)
with fewer random words and no trigonometric calls where none are needed:

* a uniform in the open interval (0, 1) is the top 53 bits of a word plus one
  half, ``(w >> 11 + 0.5) 2^-53``, so its logarithm is always finite;
* Gamma(k) for integer k (4: Case & Bhattacharya, 2: exponential disk) is
  ``-log(u_1 ... u_k)``, the sum of k standard exponentials;
* a uniform direction (cos phi, sin phi) comes from Marsaglia's rejection of
  a point uniform in the square [-1, 1]^2 outside the unit disk (two 32-bit
  halves of one word; accepted with probability pi/4) as
  ((a^2 - b^2) / s, 2ab / s), s = a^2 + b^2: the doubled angle of a uniform
  point of the disk is uniform;
* a Laplace height is a standard exponential (53 bits) with a random sign
  (the word's lowest bit, which the uniform does not use);
* ascending ages are the normalised partial sums of n + 1 standard
  exponentials (the order statistics of n uniforms, as before).

Logarithms and exponentials are left to NumPy, whose SIMD loops are several
times faster than a scalar ``math.log`` in a numba loop; the work is done in
blocks of ``BLOCK`` sources so that the temporaries stay in cache.
The laws are the ones of :ref:`model-sources`; only the random numbers a given
seed produces differ from the generic path.  The number of words a kernel
consumes depends on the words themselves (rejection), so kernels that reject
take a buffer, report how far they got, and the caller refills: the stream and
hence the catalogue are a function of the seed alone.
"""

import math

import numpy as np
from numba import njit

__all__ = ["BLOCK", "sorted_ages", "disk_positions", "spiral_positions", "moving_positions"]

TWO_PI = 2.0 * math.pi
#: Sources per block (temporaries of a few hundred kB).
BLOCK = 8192
_U53 = 2.0 ** -53
_U31 = 2.0 ** -31
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_LO32 = np.uint64(0xFFFFFFFF)
_ONE = np.uint64(1)
_THREE = np.uint64(3)


def _raw(rng, n):
    """``n`` raw 64-bit words of ``rng``'s bit generator (uint64 array)."""
    return rng.bit_generator.random_raw(int(n))


def _blocks(n):
    for i0 in range(0, n, BLOCK):
        yield i0, min(i0 + BLOCK, n)


@njit(cache=True)
def _open_uniform(w):
    """Uniform in (0, 1) from the top 53 bits of the word ``w`` (never 0 or 1)."""
    return (float(w >> _S11) + 0.5) * _U53


@njit(cache=True)
def _fill(raw, k, nb, buf):
    """buf[:nb] = products of k open uniforms (words k i .. k i + k - 1); then one uniform each
    for the following (len(buf) // nb - 1) groups of nb words."""
    for i in range(nb):
        p = 1.0
        for j in range(k):
            p *= _open_uniform(raw[k * i + j])
        buf[i] = p
    for j in range(k * nb, k * nb + buf.size - nb):
        buf[j - k * nb + nb] = _open_uniform(raw[j])


# ------------------------------------------------------------------ ages
@njit(cache=True)
def _cumulate(e, t, i0, c):
    """t[i0 + i] = c - (e_0 + ... + e_i) (e = log u < 0); returns the running sum."""
    for i in range(e.size):
        c -= e[i]
        t[i0 + i] = c
    return c


@njit(cache=True)
def _normalise(t, lo, hi, c):
    f = (hi - lo) / c
    for i in range(t.size):
        t[i] = lo + t[i] * f


def sorted_ages(rng, n, lo, hi):
    """``n`` ascending uniforms in (lo, hi] in O(n): normalised partial sums of n + 1 exponentials."""
    t = np.empty(n)
    c = 0.0
    for i0, i1 in _blocks(n):
        e = np.empty(i1 - i0)
        _fill(_raw(rng, i1 - i0), 0, 0, e)
        np.log(e, out=e)
        c = _cumulate(e, t, i0, c)
    e = np.empty(1)
    _fill(_raw(rng, 1), 0, 0, e)
    c -= math.log(e[0])
    _normalise(t, lo, hi, c)
    return t


# ------------------------------------------------------------------ axisymmetric disks
@njit(cache=True)
def _disk_block(rawd, lg, rawz, scale, z_g, x, y, z, i0, start):
    """Sources i0 + start .. of a block: r = -scale lg[i], a uniform direction by rejection
    (words of ``rawd``, two 32-bit coordinates each), z = +-z_g lg[nb + i] (sign: lowest
    bit of rawz[i]).  Returns the index in the block reached (short when rawd ran out)."""
    nb = rawz.size
    j = 0
    m = rawd.size
    i = start
    while i < nb:
        while True:
            if j == m:
                return i
            w = rawd[j]
            j += 1
            a = (float(w >> _S32) + 0.5) * _U31 - 1.0
            b = (float(w & _LO32) + 0.5) * _U31 - 1.0
            s = a * a + b * b
            if s < 1.0:
                break
        f = -scale * lg[i] / s
        x[i0 + i] = f * (a * a - b * b)
        y[i0 + i] = f * (2.0 * a * b)
        h = z_g * lg[nb + i]
        z[i0 + i] = h if rawz[i] & _ONE else -h
        i += 1
    return i


def disk_positions(rng, n, k, scale, z_g):
    """x, y, z, arm of ``n`` sources: radius Gamma(k, scale) for integer k, uniform azimuth,
    Laplace(z_g) heights.  Per block: k + 1 words a source (radius, height), then about
    4/pi words a source for the directions."""
    x, y, z = np.empty(n), np.empty(n), np.empty(n)
    for i0, i1 in _blocks(n):
        nb = i1 - i0
        raw = _raw(rng, (k + 1) * nb)
        lg = np.empty(2 * nb)
        _fill(raw, k, nb, lg)
        np.log(lg, out=lg)
        rawz = raw[k * nb:]
        i = 0
        while i < nb:
            i = _disk_block(_raw(rng, 1.3 * (nb - i) + 16), lg, rawz, scale, z_g, x, y, z, i0, i)
    return x, y, z, np.full(n, -1, dtype=np.int64)


# ------------------------------------------------------------------ BA's blurred spiral arms
@njit(cache=True)
def _spiral_block(raw, lg, ex, rn, K, lr0, th0, rot, scale, r_spread, z_g, x, y, z, arm, i0):
    """lg = [log p (r~ = -scale log p), log u (height), log r~]; ex = exp(-r~/w)."""
    nb = rn.size
    for i in range(nb):
        w = raw[4 * nb + i]           # top bits: blur fraction; two low bits: the arm
        k = int(w & _THREE)
        rt = -scale * lg[i]
        phi = K[k] * (lg[2 * nb + i] - lr0[k]) + th0[k] + rot + TWO_PI * _open_uniform(w) * ex[i]
        r = rt * (1.0 + r_spread * rn[i])
        x[i0 + i] = r * math.cos(phi)
        y[i0 + i] = r * math.sin(phi)
        h = z_g * lg[nb + i]
        z[i0 + i] = h if raw[5 * nb + i] & _ONE else -h
        arm[i0 + i] = k


def spiral_positions(rng, n, scale, w, r_spread, z_g, K, r0, th0, rot):
    """x, y, z, arm of ``n`` sources of :class:`~crlib.sources.SpiralArms`.

    r~ ~ Gamma(4, scale); arm uniform in 0..3 (two low bits of a word whose top
    53 bits give the blur fraction u); phi = K ln(r~/r0) + theta0 + rot +
    2 pi u exp(-r~/w); r = r~ (1 + r_spread g), g standard normal (NumPy's
    ``standard_normal``); Laplace heights.  Six words a source, plus the normal.
    """
    x, y, z = np.empty(n), np.empty(n), np.empty(n)
    arm = np.empty(n, dtype=np.int64)
    lr0 = np.log(r0)
    for i0, i1 in _blocks(n):
        nb = i1 - i0
        raw = _raw(rng, 6 * nb)
        lg = np.empty(3 * nb)
        _fill(raw[:4 * nb], 4, nb, lg[:nb])
        _fill(raw[5 * nb:], 0, 0, lg[nb:2 * nb])
        np.log(lg[:2 * nb], out=lg[:2 * nb])
        rt = lg[:nb] * -scale
        np.log(rt, out=lg[2 * nb:])
        ex = np.exp(rt * (-1.0 / w))
        rn = rng.standard_normal(nb)
        _spiral_block(raw, lg, ex, rn, K, lr0, th0, rot, scale, r_spread, z_g, x, y, z, arm, i0)
    return x, y, z, arm


# ------------------------------------------------------------------ SH's moving arms
@njit(cache=True)
def _moving_arms(raw, f_arm, arm, frac):
    """Arm index (0..3, or -1 with probability 1 - f_arm) and, for disk sources, a uniform.

    A word's top 53 bits give u; u < f_arm puts the source on arm (two low
    bits), else (u - f_arm)/(1 - f_arm) is uniform in [0, 1) given u >= f_arm
    and sets the disk source's azimuth.  Returns the number of arm sources.
    """
    n_arm = 0
    for i in range(arm.size):
        w = raw[i]
        u = _open_uniform(w)
        if u < f_arm:
            arm[i] = int(w & _THREE)
            n_arm += 1
        else:
            arm[i] = -1
            frac[i] = (u - f_arm) / (1.0 - f_arm)
    return n_arm


@njit(cache=True)
def _moving_block(lg, rawz, t, arm, frac, rn, K, lr0, th0, rot, omega, sigma, r_d, z_g,
                  x, y, z, i0):
    """lg = [log p (r' = -r_d log p), log u (height), log r']."""
    nb = frac.size
    j = 0
    for i in range(nb):
        k = arm[i0 + i]
        r1 = -r_d * lg[i]
        if k >= 0:
            phi = K[k] * (lg[2 * nb + i] - lr0[k]) + th0[k] + rot - omega * t[i0 + i]
            r = r1 + sigma * rn[j]
            j += 1
        else:
            phi = TWO_PI * frac[i]
            r = r1
        x[i0 + i] = r * math.cos(phi)
        y[i0 + i] = r * math.sin(phi)
        h = z_g * lg[nb + i]
        z[i0 + i] = h if rawz[i] & _ONE else -h


def moving_positions(rng, t, f_arm, sigma, omega, r_d, z_g, K, r0, th0, rot):
    """x, y, z, arm of :class:`~crlib.sources.MovingSpiralArms` sources of ages ``t``.

    r' ~ Gamma(2, r_d); with probability f_arm the source is on an arm
    (uniform of four) at theta_k(r') - omega t and radius r' + sigma g, g
    standard normal (NumPy's ``standard_normal``, one per arm source);
    otherwise at r' with a uniform azimuth.  Laplace heights.  Four words a
    source, plus the normals.
    """
    n = t.size
    x, y, z = np.empty(n), np.empty(n), np.empty(n)
    arm = np.empty(n, dtype=np.int64)
    lr0 = np.log(r0)
    for i0, i1 in _blocks(n):
        nb = i1 - i0
        raw = _raw(rng, 4 * nb)
        lg = np.empty(3 * nb)
        _fill(raw[:3 * nb], 2, nb, lg[:2 * nb])
        np.log(lg[:2 * nb], out=lg[:2 * nb])
        np.log(lg[:nb] * -r_d, out=lg[2 * nb:])
        frac = np.empty(nb)
        n_arm = _moving_arms(raw[3 * nb:], f_arm, arm[i0:i1], frac)
        rn = rng.standard_normal(n_arm)
        _moving_block(lg, raw[2 * nb:3 * nb], t, arm, frac, rn, K, lr0, th0, rot, omega,
                      sigma, r_d, z_g, x, y, z, i0)
    return x, y, z, arm
