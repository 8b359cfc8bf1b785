"""Where and when supernovae happen: samplers for Galactic source catalogues.

Models (MODEL.md section 4), all frozen dataclasses with validated parameters:

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

Coordinates: Galactocentric Cartesian in kpc, Galactic centre at the origin,
Sun at ``(R_SUN, 0, 0)``, z towards the North Galactic Pole (NGP), azimuth
``phi`` counter-clockwise from +x seen from the NGP.  Seen from the NGP the
Galaxy rotates clockwise, towards *decreasing* ``phi``; this is what makes the
FK06 arms, whose azimuth grows outwards, trailing.  Times are ages (time before
the present) in Myr; rates are per Myr.

Sampling is vectorised numpy; the quadrature behind :func:`surface_density`
for the spiral models is a numba kernel.
"""

from dataclasses import dataclass, field
import functools
import math

import numpy as np
from numba import njit
from scipy import stats

from . import _validate as v
from .galaxy import R_SUN
from .units import km_per_s_per_kpc

__all__ = [
    "FK06_ARMS", "ARM_NAMES", "Cylindrical", "SpiralArms", "ExponentialDisk",
    "MovingSpiralArms", "Catalogue", "sample", "sample_chunks", "surface_density",
    "local_rate", "radial_pdf", "radial_cdf", "height_pdf", "height_cdf",
    "pattern_rotation", "arm_azimuth", "arm_distances",
]

#: FK06 Table 2: (K [rad], r0 [kpc], theta0 [rad]) for the four arms.
FK06_ARMS = np.array([
    [4.25, 3.48, 1.57],   # Norma
    [4.25, 3.48, 4.71],   # Carina-Sagittarius
    [4.89, 4.90, 4.09],   # Perseus
    [4.89, 4.90, 0.95],   # Crux-Scutum
])
FK06_ARMS.flags.writeable = False
ARM_NAMES = ("Norma", "Carina-Sagittarius", "Perseus", "Crux-Scutum")

#: Rotation (rad) added to every FK06 arm azimuth for each placement.  FK06 put
#: the Sun at (0, 8.5 kpc), azimuth pi/2; "fk06" turns the pattern by -pi/2 so
#: that the Sun lands at (R_SUN, 0); "ba_literal" uses the table unrotated.
PLACEMENTS = {"fk06": -0.5 * math.pi, "ba_literal": 0.0}

TWO_PI = 2.0 * math.pi


def _placement(name, value):
    if value not in PLACEMENTS:
        raise ValueError(f"{name} must be one of {sorted(PLACEMENTS)}, got {value!r}")
    return value


def _pos(obj, name):
    object.__setattr__(obj, name, v.positive(name, v.as_float(name, getattr(obj, name))))


# --------------------------------------------------------------------------- models
@dataclass(frozen=True)
class Cylindrical:
    """Axisymmetric Case & Bhattacharya (1998) model (BA eqs. 4.1-4.3).

    Surface density f(r) = A/R_sun^2 (r/R_sun)^2 exp(-beta (r - R_sun)/R_sun),
    A = beta^4 e^-beta / (12 pi), so that the radial pdf 2 pi r f(r) is the
    Gamma(4, scale R_sun/beta) distribution.  Heights: exp(-|z|/z_g)/(2 z_g).

    Parameters
    ----------
    beta : float
        Radial shape parameter (> 0), 3.53 in BA.
    z_g : float
        Exponential scale height in kpc (> 0); 0.05 kpc is a project choice.
    """

    beta: float = 3.53
    z_g: float = 0.05

    def __post_init__(self):
        _pos(self, "beta")
        _pos(self, "z_g")


@dataclass(frozen=True)
class SpiralArms:
    """Four-arm spiral model of BA section 4 built on FK06 Table 2.

    A radius r~ is drawn from the Case & Bhattacharya radial pdf, one of the
    four arms uniformly, the azimuth theta = K ln(r~/r0) + theta0 + placement
    rotation, then blurred, theta += theta_corr exp(-r~/w) with theta_corr
    uniform in [0, 2 pi), and the radius redrawn as r ~ Normal(r~, r_spread r~).
    ``r_spread`` is a *standard deviation* fraction (FK06, gammapy); BA's text
    calls 0.07 r~ a "variance", which cannot be right dimensionally.

    Parameters
    ----------
    w : float
        Blurring scale in kpc (> 0): 2.8 (FK06) or 5 (BA).
    placement : {"fk06", "ba_literal"}
        "fk06" turns the FK06 pattern so that FK06's Sun at (0, 8.5 kpc) lands
        at (R_sun, 0): the nearest arm centroid (Carina-Sagittarius) then
        passes 1.18 kpc inside the Sun and the next (Perseus) 2.03 kpc outside
        (closest distances; the radial gaps along the Sun's azimuth are 1.21
        and 2.08 kpc).  "ba_literal" uses the table unrotated with the Sun at
        (R_sun, 0): 0.81 kpc inside (Perseus), 1.98 kpc outside (Norma).
    beta, z_g : float
        As in :class:`Cylindrical`.
    r_spread : float
        Fractional radial standard deviation, in (0, 0.1]; 0.07 in FK06/BA.
    """

    w: float = 5.0
    placement: str = "fk06"
    beta: float = 3.53
    z_g: float = 0.05
    r_spread: float = 0.07

    def __post_init__(self):
        _pos(self, "w")
        _placement("placement", self.placement)
        _pos(self, "beta")
        _pos(self, "z_g")
        rs = v.as_float("r_spread", self.r_spread)
        if not (0.0 < rs <= 0.1):
            raise ValueError(f"r_spread must be in (0, 0.1], got {rs!r}")
        object.__setattr__(self, "r_spread", rs)


@dataclass(frozen=True)
class ExponentialDisk:
    """Exponential disk (SH eq. 5): surface density exp(-r/r_d)/(2 pi r_d^2).

    The radial pdf r exp(-r/r_d)/r_d^2 is Gamma(2, scale r_d).

    Parameters
    ----------
    r_d : float
        Radial scale length in kpc (> 0), 4 kpc in SH.
    z_g : float
        Exponential scale height in kpc (> 0).
    """

    r_d: float = 4.0
    z_g: float = 0.05

    def __post_init__(self):
        _pos(self, "r_d")
        _pos(self, "z_g")


@dataclass(frozen=True)
class MovingSpiralArms:
    """Sources in rotating FK06 spiral arms plus an exponential disk (SH section 4).

    A fraction ``f_arm`` of the sources (core-collapse supernovae) sits on the
    FK06 arm centroids: a radius r' is drawn from the exponential disk's radial
    pdf Gamma(2, r_d) (*choice*), an arm uniformly, the centroid azimuth
    theta = K ln(r'/r0) + theta0 + placement rotation + pattern rotation, and
    the source is displaced *radially* by s ~ Normal(0, sigma_arm): r = r' + s
    (a negative r lands across the centre).  With pitch angles
    psi = atan(1/K) of 11.6-13.2 degrees, a radial Gaussian of width sigma is a
    cross-arm (perpendicular) Gaussian of width sigma cos(psi) = 0.97-0.98
    sigma.  The radial choice makes the surface density exact in closed form.
    The other 1 - f_arm follow the exponential disk (``arm = -1``).

    Pattern rotation: the Sun circulates faster than the arm pattern,
    Omega_sun - Omega_p = ``omega`` > 0.  In the frame co-rotating with the Sun
    the pattern therefore drifts *backwards* (against Galactic rotation, i.e.
    towards +phi here) at rate ``omega``.  A source of age t was born when the
    pattern stood ``omega * t`` further *ahead* in the direction of Galactic
    rotation -- a larger azimuth if azimuth is counted along the rotation, which
    in this right-handed frame (rotation towards -phi) is a turn of
    ``-omega * t`` in phi (:func:`pattern_rotation`).  Sources stay at rest in
    the Sun's co-rotating frame after birth (SH choice).

    Parameters
    ----------
    f_arm : float
        Fraction of sources in arms, in [0, 1]; 0.8 is a project choice.
    sigma_arm : float
        Radial Gaussian width of an arm in kpc (> 0); 0.3 is a project choice.
    omega : float
        Omega_sun - Omega_p in rad/Myr (finite); default 11.9 km/s/kpc
        (Gies & Helsel 2005) = 0.01217 /Myr.  Negative: pattern overtakes Sun.
    r_d : float
        Scale length in kpc of the disk component and of the radii along arms.
    z_g : float
        Exponential scale height in kpc (> 0).
    placement : {"fk06", "ba_literal"}
        As in :class:`SpiralArms`.
    """

    f_arm: float = 0.8
    sigma_arm: float = 0.3
    omega: float = 11.9 * km_per_s_per_kpc
    r_d: float = 4.0
    z_g: float = 0.05
    placement: str = "fk06"

    def __post_init__(self):
        object.__setattr__(self, "f_arm", v.in_closed_interval(
            "f_arm", v.as_float("f_arm", self.f_arm), 0.0, 1.0))
        _pos(self, "sigma_arm")
        object.__setattr__(self, "omega", v.as_float("omega", self.omega))
        _pos(self, "r_d")
        _pos(self, "z_g")
        _placement("placement", self.placement)


_MODELS = (Cylindrical, SpiralArms, ExponentialDisk, MovingSpiralArms)


def _check_model(model):
    if not isinstance(model, _MODELS):
        raise ValueError(
            f"model must be one of {[m.__name__ for m in _MODELS]}, got {type(model).__name__}")
    return model


# --------------------------------------------------------------------------- catalogue
@dataclass(frozen=True, eq=False)
class Catalogue:
    """A source catalogue: contiguous, read-only arrays sorted by age.

    Attributes
    ----------
    x, y, z : ndarray of float64
        Galactocentric position in kpc.
    t : ndarray of float64
        Age (time before the present) in Myr, ascending, in (t_min, t_max].
    arm : ndarray of int64
        Arm index into :data:`ARM_NAMES`, or -1 for sources in no arm.
    t_min, t_max : float
        The age window the catalogue covers, in Myr.
    model : object
        The model that produced it.
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    t: np.ndarray
    arm: np.ndarray
    t_min: float = 0.0
    t_max: float = 0.0
    model: object = field(default=None, repr=False)

    def __post_init__(self):
        v.same_length(x=self.x, y=self.y, z=self.z, t=self.t, arm=self.arm)
        for name in ("x", "y", "z", "t"):
            a = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        a = np.ascontiguousarray(self.arm, dtype=np.int64)
        a.flags.writeable = False
        object.__setattr__(self, "arm", a)

    def __len__(self):
        return self.t.shape[0]

    @property
    def r(self):
        """Galactocentric cylindrical radius in kpc."""
        return np.hypot(self.x, self.y)

    def __repr__(self):
        return (f"Catalogue({len(self)} sources, ages in ({self.t_min:g}, {self.t_max:g}] Myr, "
                f"model={self.model!r})")


# --------------------------------------------------------------------------- 1-d densities
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(100)
_GH_W = _GH_W / math.sqrt(TWO_PI)         # E over a standard normal


def _blur_nodes(model):
    """Gauss-Hermite factors q = 1 + r_spread s (all > 0.2 since r_spread <= 0.1)."""
    return 1.0 + model.r_spread * _GH_X, _GH_W


def _conv_pdf(y, rd, sd):
    """Density of r' + s at y: r' ~ Gamma(2, rd), s ~ Normal(0, sd) (closed form)."""
    mu = sd * sd / rd
    m = y - mu
    pre = np.exp(-y / rd + 0.5 * mu / rd) / rd ** 2
    return pre * (m * stats.norm.cdf(m / sd) + sd * stats.norm.pdf(m / sd))


def _conv_cdf(y, rd, sd):
    """P(r' + s <= y) for r' ~ Gamma(2, rd), s ~ Normal(0, sd) (closed form)."""
    mu = sd * sd / rd
    zm = (y - mu) / sd
    with np.errstate(over="ignore", invalid="ignore"):
        pre = np.exp(-y / rd + 0.5 * mu / rd)
        tail = pre * ((1.0 + (y - mu) / rd) * stats.norm.cdf(zm) + sd / rd * stats.norm.pdf(zm))
    return stats.norm.cdf(y / sd) - np.where(np.isfinite(tail), tail, 0.0)


def radial_pdf(model, r):
    """Probability density of the sampled Galactocentric radius r >= 0, in 1/kpc.

    * Cylindrical: Gamma(4, R_sun/beta), i.e. 2 pi r f(r) of BA eq. 4.1.
    * ExponentialDisk: Gamma(2, r_d) (SH eq. 5).
    * SpiralArms: the radius *after* the radial blur, r = r~ (1 + r_spread s)
      with r~ ~ Gamma(4) and s standard normal:
      p(r) = E_s[p4(r/(1 + r_spread s)) / (1 + r_spread s)], 100-node
      Gauss-Hermite (relative error < 1e-9; the pre-blur law is
      ``radial_pdf(Cylindrical(beta), r)``).
    * MovingSpiralArms: (1 - f_arm) Gamma(2, r_d) + f_arm * law of |r' + s|,
      r' ~ Gamma(2, r_d), s ~ Normal(0, sigma_arm), in closed form
      (a negative r' + s lands across the centre, hence the two terms).
    """
    _check_model(model)
    r = v.as_float_array("r", r)
    if isinstance(model, Cylindrical):
        return stats.gamma(4.0, scale=R_SUN / model.beta).pdf(r)
    if isinstance(model, SpiralArms):
        q, w = _blur_nodes(model)
        rr = np.asarray(r)[..., None]
        return (stats.gamma(4.0, scale=R_SUN / model.beta).pdf(rr / q) / q) @ w
    d = stats.gamma(2.0, scale=model.r_d)
    if isinstance(model, ExponentialDisk):
        return d.pdf(r)
    ra = np.abs(r)
    arm = np.where(r >= 0, _conv_pdf(ra, model.r_d, model.sigma_arm)
                   + _conv_pdf(-ra, model.r_d, model.sigma_arm), 0.0)
    return (1.0 - model.f_arm) * d.pdf(r) + model.f_arm * arm


def radial_cdf(model, r):
    """Cumulative distribution of the sampled radius, matching :func:`radial_pdf`.

    SpiralArms: E_s[F4(r/(1 + r_spread s))] by Gauss-Hermite; MovingSpiralArms:
    closed form, P(|r' + s| <= r) = P(r' + s <= r) - P(r' + s <= -r).
    """
    _check_model(model)
    r = v.as_float_array("r", r)
    if isinstance(model, Cylindrical):
        return stats.gamma(4.0, scale=R_SUN / model.beta).cdf(r)
    if isinstance(model, SpiralArms):
        q, w = _blur_nodes(model)
        rr = np.asarray(r)[..., None]
        return stats.gamma(4.0, scale=R_SUN / model.beta).cdf(rr / q) @ w
    d = stats.gamma(2.0, scale=model.r_d)
    if isinstance(model, ExponentialDisk):
        return d.cdf(r)
    ra = np.abs(r)
    arm = np.where(r >= 0, _conv_cdf(ra, model.r_d, model.sigma_arm)
                   - _conv_cdf(-ra, model.r_d, model.sigma_arm), 0.0)
    return (1.0 - model.f_arm) * d.cdf(r) + model.f_arm * arm


def height_pdf(model, z):
    """Height pdf exp(-|z|/z_g)/(2 z_g) in 1/kpc (BA eq. 4.3)."""
    _check_model(model)
    return stats.laplace(scale=model.z_g).pdf(v.as_float_array("z", z))


def height_cdf(model, z):
    """Height cdf matching :func:`height_pdf`."""
    _check_model(model)
    return stats.laplace(scale=model.z_g).cdf(v.as_float_array("z", z))


# --------------------------------------------------------------------------- geometry
def pattern_rotation(model, t):
    """Azimuth (rad) added to the arm centroids for sources of age ``t`` (Myr).

    :class:`MovingSpiralArms`: ``-omega * t`` -- the pattern, which now drifts
    towards +phi relative to the Sun at Omega_sun - Omega_p, stood ``omega t``
    further towards -phi (ahead along Galactic rotation) when the source was
    born.  Zero for every other model.
    """
    _check_model(model)
    t = v.as_float_array("t", t)
    if isinstance(model, MovingSpiralArms):
        return -model.omega * t
    return np.zeros_like(t)


def arm_azimuth(model, arm, r, t=0.0):
    """Unwrapped azimuth (rad) of arm ``arm``'s centroid at radius ``r`` (kpc), age ``t``.

    theta = K ln(r/r0) + theta0 + placement rotation + pattern rotation
    (FK06 Table 2, BA section 4).
    """
    if not isinstance(model, (SpiralArms, MovingSpiralArms)):
        raise ValueError(f"model must be SpiralArms or MovingSpiralArms, got {type(model).__name__}")
    if isinstance(arm, bool) or arm not in (0, 1, 2, 3):
        raise ValueError(f"arm must be one of 0, 1, 2, 3, got {arm!r}")
    r = v.positive("r", r)
    K, r0, th0 = FK06_ARMS[arm]
    return K * np.log(r / r0) + th0 + PLACEMENTS[model.placement] + pattern_rotation(model, t)


def arm_distances(model, point=(R_SUN, 0.0), t=0.0, r_range=(1.0, 20.0)):
    """Local minima of the distance from ``point`` to each arm centroid curve.

    Returns a list of ``(distance_kpc, arm_index, radius_kpc)`` sorted by
    distance; ``radius`` (of the closest point on the arm) says whether the arm
    passes inside or outside.  Minima are found on a grid of 1e6 radii
    uniform in ln r and refined by a parabola (error ~1e-9 kpc).
    """
    x0 = v.as_float("point[0]", point[0])
    y0 = v.as_float("point[1]", point[1])
    r = np.exp(np.linspace(np.log(r_range[0]), np.log(r_range[1]), 1_000_001))
    out = []
    for i in range(4):
        th = arm_azimuth(model, i, r, t)
        d = np.hypot(r * np.cos(th) - x0, r * np.sin(th) - y0)
        idx = np.nonzero((d[1:-1] < d[:-2]) & (d[1:-1] <= d[2:]))[0] + 1
        for j in idx:
            a, b, c = d[j - 1], d[j], d[j + 1]
            den = a - 2 * b + c
            off = 0.5 * (a - c) / den if den > 0 else 0.0
            out.append((float(b - 0.25 * (a - c) * off), i, float(r[j])))
    return sorted(out)


# --------------------------------------------------------------------------- sampling
def _rng(rng):
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


def _sorted_uniform(rng, n, lo, hi):
    """n ascending uniforms in (lo, hi) in O(n): normalised partial sums of exponentials."""
    c = np.cumsum(rng.standard_exponential(n + 1))
    u = c[:n] / c[n]                      # ascending order statistics in (0, 1)
    return hi - (hi - lo) * u[::-1]       # ascending in (lo, hi)


def _positions(model, rng, t):
    """x, y, z, arm for sources of ages t (all models)."""
    n = t.shape[0]
    arm = np.full(n, -1, dtype=np.int64)
    if isinstance(model, Cylindrical):
        r = rng.gamma(4.0, R_SUN / model.beta, n)
        phi = rng.uniform(0.0, TWO_PI, n)
    elif isinstance(model, ExponentialDisk):
        r = rng.gamma(2.0, model.r_d, n)
        phi = rng.uniform(0.0, TWO_PI, n)
    elif isinstance(model, SpiralArms):
        rt = rng.gamma(4.0, R_SUN / model.beta, n)
        arm = rng.integers(0, 4, n, dtype=np.int64)
        K, r0, th0 = FK06_ARMS[arm].T
        phi = (K * np.log(rt / r0) + th0 + PLACEMENTS[model.placement]
               + rng.uniform(0.0, TWO_PI, n) * np.exp(-rt / model.w))
        r = rt * (1.0 + model.r_spread * rng.standard_normal(n))
    else:  # MovingSpiralArms
        r = rng.gamma(2.0, model.r_d, n)
        in_arm = rng.random(n) < model.f_arm
        a = rng.integers(0, 4, n, dtype=np.int64)
        arm = np.where(in_arm, a, -1)
        th_arm, _ = _arm_positions(model, t, r, a, 0.0)
        phi = np.where(in_arm, th_arm, rng.uniform(0.0, TWO_PI, n))
        r = r + np.where(in_arm, model.sigma_arm * rng.standard_normal(n), 0.0)
    x = r * np.cos(phi)
    y = r * np.sin(phi)
    z = rng.laplace(0.0, model.z_g, n)
    return x, y, z, arm


def _window(model, rate, lo, hi, rng):
    n = rng.poisson(rate * (hi - lo))
    t = _sorted_uniform(rng, n, lo, hi)
    x, y, z, arm = _positions(model, rng, t)
    return Catalogue(x, y, z, t, arm, t_min=lo, t_max=hi, model=model)


def sample(model, rate, T, rng, t_max=None):
    """Draw one realisation of the supernova history (MODEL.md section 4).

    Explosions form a homogeneous Poisson process of Galactic ``rate`` over the
    ages (0, T]: N ~ Poisson(rate T) and, given N, independent uniform ages.
    Positions follow ``model``.

    Parameters
    ----------
    model : Cylindrical, SpiralArms, ExponentialDisk or MovingSpiralArms
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
    _check_model(model)
    rate = v.positive("rate", v.as_float("rate", rate))
    T = v.positive("T", v.as_float("T", T))
    rng = _rng(rng)
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
    chunk_span : float
        Width of each age window in Myr (> 0); the last one may be shorter.
    """
    _check_model(model)
    rate = v.positive("rate", v.as_float("rate", rate))
    T = v.positive("T", v.as_float("T", T))
    span = v.positive("chunk_span", v.as_float("chunk_span", chunk_span))
    rng = _rng(rng)
    k = 0
    while k * span < T:
        yield _window(model, rate, k * span, min((k + 1) * span, T), rng)
        k += 1


# --------------------------------------------------------------------------- surface density
_GL8_X, _GL8_W = np.polynomial.legendre.leggauss(8)


@njit(cache=True)
def _arc_root(c, K, w, u_hi):
    """Root u < u_hi of h(u) = c - K u - 2 pi exp(-e^u / w) (h decreases since K > 2 pi / e)."""
    lo = u_hi - 2.0 * math.pi / K - 1e-12
    hi = u_hi
    u = u_hi - math.pi / K
    for _ in range(100):
        e = math.exp(u)
        a = 2.0 * math.pi * math.exp(-e / w)
        f = c - K * u - a
        if f > 0.0:
            lo = u
        else:
            hi = u
        un = u - f / (-K + a * e / w)
        if not (lo < un < hi):
            un = 0.5 * (lo + hi)
        if abs(un - u) < 1e-14:
            return un
        u = un
    return u


@njit(cache=True)
def _spiral_kernel(rho, phi, K, r0, th0, rot, scale, w, b, gl_x, gl_w):
    """Surface density (normalised to 1) of the SpiralArms model at polar points.

    For arm k the joint density of (r, phi) is an integral over u = ln r~ of
    p4(r~) N(r; r~, b r~) r~ / L(r~) / 4, L = 2 pi exp(-r~/w), over the u where
    phi lies on the arc [theta_k(r~), theta_k(r~) + L) (mod 2 pi).  With
    c = phi - theta0 - rot + K ln r0 that set is the union over integers m of
    (u_lo(m), u_hi(m)], u_hi = (c - 2 pi m)/K and u_lo the root of
    c - 2 pi m - K u = L(e^u).  The integrand is smooth on each piece, which
    is integrated with 8-point Gauss-Legendre panels of width <= 2b in u.
    """
    n = rho.size
    out = np.zeros(n)
    norm4 = 1.0 / (6.0 * scale ** 4)
    inv_s2pi = 1.0 / math.sqrt(2.0 * math.pi)
    smax = 8.5
    for i in range(n):
        r = rho[i]
        if r <= 0.0:
            continue
        lr = math.log(r)
        U0 = lr - math.log(1.0 + b * smax)
        U1 = lr - math.log(1.0 - b * smax)
        acc = 0.0
        for k in range(K.size):
            Kk = K[k]
            c = phi[i] - th0[k] - rot + Kk * math.log(r0[k])
            m_hi = int(math.floor((c - Kk * U0) / (2.0 * math.pi)))
            m_lo = int(math.floor((c - Kk * U1) / (2.0 * math.pi))) - 1
            for m in range(m_lo, m_hi + 1):
                cm = c - 2.0 * math.pi * m
                u_hi = cm / Kk
                if u_hi <= U0:
                    continue
                u_lo = _arc_root(cm, Kk, w, u_hi)
                a = max(u_lo, U0)
                z = min(u_hi, U1)
                if z <= a:
                    continue
                npan = int(math.ceil((z - a) / (2.0 * b)))
                hp = (z - a) / npan
                for p in range(npan):
                    mid = a + (p + 0.5) * hp
                    for j in range(gl_x.size):
                        rt = math.exp(mid + 0.5 * hp * gl_x[j])
                        s = (r / rt - 1.0) / b
                        val = (norm4 * rt ** 3 * math.exp(-rt / scale) * inv_s2pi
                               * math.exp(-0.5 * s * s) / b
                               / (2.0 * math.pi * math.exp(-rt / w)))
                        acc += 0.5 * hp * gl_w[j] * 0.25 * val
        out[i] = acc / r
    return out


@njit(cache=True)
def _ndiff(za, zb):
    """Phi(zb) - Phi(za) for za <= zb without cancellation in the tails."""
    s = 1.0 / math.sqrt(2.0)
    if za > 0.0:
        return 0.5 * (math.erfc(za * s) - math.erfc(zb * s))
    return 0.5 * (math.erfc(-zb * s) - math.erfc(-za * s))


@njit(cache=True)
def _gamma2_gauss(a, b, y, rd, sd):
    """Integral over r' in [a, b] (0 <= a < b) of r' e^{-r'/rd}/rd^2 * N(r'; y, sd)."""
    mu = sd * sd / rd
    m = y - mu
    za = (a - m) / sd
    zb = (b - m) / sd
    g = 1.0 / math.sqrt(2.0 * math.pi)
    pre = math.exp(-y / rd + 0.5 * mu / rd) / (rd * rd)
    return pre * (m * _ndiff(za, zb) + sd * g * (math.exp(-0.5 * za * za) - math.exp(-0.5 * zb * zb)))


@njit(cache=True)
def _moving_kernel(rho, phi, K, r0, th0, rot, rd, sd, a_lo, a_hi):
    """Arm part of MovingSpiralArms (normalised to 1), pattern angle uniform in [a_lo, a_hi].

    A source on arm k with centroid radius r' sits at azimuth
    theta_k(r') + alpha and radius r' + s.  For a window of pattern angles
    the change of variable alpha -> r' (d alpha = K dr'/r') turns the average
    into integrals of p(r') N(r; r', sd) over the r'-intervals
    [r0 exp((phi - theta0 - rot - a_hi + 2 pi m)/K), same with a_lo], done in
    closed form (_gamma2_gauss).  For a_lo == a_hi (one age) the density is
    the sum over windings m of p(r'_m) (r'_m / K) N(r; r'_m, sd).
    Negative radii r' + s < 0 land at azimuth + pi (the ``mirror`` pass).
    """
    n = rho.size
    out = np.zeros(n)
    span = a_hi - a_lo
    g = 1.0 / math.sqrt(2.0 * math.pi)
    for i in range(n):
        acc = 0.0
        for mirror in range(2):
            y = rho[i] if mirror == 0 else -rho[i]
            ph = phi[i] if mirror == 0 else phi[i] + math.pi
            band_lo = max(y - sd * sd / rd - 10.0 * sd, 1e-7)
            band_hi = y - sd * sd / rd + 10.0 * sd
            if band_hi <= band_lo:
                continue
            for k in range(K.size):
                Kk = K[k]
                base = ph - th0[k] - rot
                if span <= 0.0:
                    e = base - a_lo
                    m0 = int(math.ceil((Kk * math.log(band_lo / r0[k]) - e) / (2.0 * math.pi)))
                    m1 = int(math.floor((Kk * math.log(band_hi / r0[k]) - e) / (2.0 * math.pi)))
                    for m in range(m0, m1 + 1):
                        rp = r0[k] * math.exp((e + 2.0 * math.pi * m) / Kk)
                        z = (y - rp) / sd
                        acc += (0.25 * rp * math.exp(-rp / rd) / (rd * rd) * rp / Kk
                                * g * math.exp(-0.5 * z * z) / sd)
                else:
                    e_hi = base - a_lo      # larger exponent -> upper end b_m
                    e_lo = base - a_hi
                    m0 = int(math.ceil((Kk * math.log(band_lo / r0[k]) - e_hi) / (2.0 * math.pi)))
                    m1 = int(math.floor((Kk * math.log(band_hi / r0[k]) - e_lo) / (2.0 * math.pi)))
                    for m in range(m0, m1 + 1):
                        a = r0[k] * math.exp((e_lo + 2.0 * math.pi * m) / Kk)
                        b = r0[k] * math.exp((e_hi + 2.0 * math.pi * m) / Kk)
                        a = max(a, band_lo)
                        b = min(b, band_hi)
                        if b > a:
                            acc += 0.25 * _gamma2_gauss(a, b, y, rd, sd) / span
        out[i] = acc / max(rho[i], 1e-300)
    return out


def surface_density(model, x, y, T=None, n_nodes=None, *, age=None, rate=None):
    """Mean surface density of sources at (x, y), per kpc^2 (per kpc^2 per Myr with ``rate``).

    Normalised to 1 over the plane; with ``rate`` (1/Myr, > 0) it is the mean
    surface *rate* density rate * Sigma.

    * Cylindrical: BA eq. 4.1, exact.  ExponentialDisk: exp(-r/r_d)/(2 pi r_d^2), exact.
    * SpiralArms (BA section 4, FK06): given the pre-blur radius r~ the azimuth
      is uniform on an arc of length L = 2 pi exp(-r~/w) that starts at the arm
      centroid, and the radius is Normal(r~, r_spread r~), so
      Sigma(r, phi) = (1/r) int dr~ p4(r~) (1/4) sum_arms N(r; r~, r_spread r~)
      1[phi on arc] / L.  The arc condition selects intervals of ln r~ whose
      ends are found by a safeguarded Newton solve; each interval is integrated
      with Gauss-Legendre panels (numba).  Relative accuracy ~1e-12 (checked
      against scipy.integrate.quad between bisected arc edges in the tests);
      about 10 microseconds a point.
    * MovingSpiralArms (SH): (1 - f_arm) exponential disk + f_arm arm part.
      ``age=t``: the sources exploding at age t (pattern turned by
      :func:`pattern_rotation`); ``T``: average over ages uniform in (0, T];
      neither: average over a full turn of the pattern (axisymmetric; the
      limit T -> infinity).  All three in closed form (erf), see
      :func:`_moving_kernel`.

    Parameters
    ----------
    model : Cylindrical, SpiralArms, ExponentialDisk or MovingSpiralArms
    x, y : array_like
        Galactocentric position in kpc (broadcast together).
    T : float, optional
        MovingSpiralArms only: average over ages in (0, T], Myr (> 0).
    n_nodes : None
        Ignored (kept for compatibility with an earlier quadrature).
    age : float, optional
        MovingSpiralArms only: age in Myr (>= 0) of the sources; exclusive with T.
    rate : float, optional
        Galactic rate in 1/Myr (> 0): return rate * Sigma.
    """
    _check_model(model)
    x, y = np.broadcast_arrays(v.as_float_array("x", x), v.as_float_array("y", y))
    shape = x.shape
    r = np.ascontiguousarray(np.hypot(x, y).ravel())
    phi = np.ascontiguousarray(np.arctan2(y, x).ravel())
    scale = 1.0 if rate is None else v.positive("rate", v.as_float("rate", rate))
    if n_nodes is not None:
        v.positive_int("n_nodes", n_nodes)
    if (T is not None or age is not None) and not isinstance(model, MovingSpiralArms):
        raise ValueError("T and age are only used for MovingSpiralArms; leave them None")
    if T is not None and age is not None:
        raise ValueError("give T (an average over ages) or age (one age), not both")
    if isinstance(model, Cylindrical):
        s = stats.gamma(4.0, scale=R_SUN / model.beta).pdf(r) / (TWO_PI * np.maximum(r, 1e-300))
    elif isinstance(model, ExponentialDisk):
        s = np.exp(-r / model.r_d) / (TWO_PI * model.r_d ** 2)
    elif isinstance(model, SpiralArms):
        s = _spiral_kernel(r, phi, FK06_ARMS[:, 0].copy(), FK06_ARMS[:, 1].copy(),
                           FK06_ARMS[:, 2].copy(), PLACEMENTS[model.placement],
                           R_SUN / model.beta, model.w, model.r_spread, _GL8_X, _GL8_W)
    else:
        s = np.exp(-r / model.r_d) / (TWO_PI * model.r_d ** 2)
        if model.f_arm > 0.0:
            rot = PLACEMENTS[model.placement]
            if T is not None:
                T = v.positive("T", v.as_float("T", T))
                a0, a1 = sorted((0.0, -model.omega * T))
                if a1 - a0 < 1e-9:
                    a0 = a1 = -model.omega * 0.5 * T
            elif age is not None:
                a0 = a1 = -model.omega * v.non_negative("age", v.as_float("age", age))
            elif model.omega == 0.0:
                raise ValueError("omega = 0: the pattern never turns, so there is no "
                                 "full-turn average; give T or age")
            else:
                a0, a1 = 0.0, TWO_PI
            arm = _moving_kernel(r, phi, FK06_ARMS[:, 0].copy(), FK06_ARMS[:, 1].copy(),
                                 FK06_ARMS[:, 2].copy(), rot, model.r_d, model.sigma_arm,
                                 a0, a1)
            s = (1.0 - model.f_arm) * s + model.f_arm * arm
    return scale * s.reshape(shape)


def local_rate(model, rate, T=None, *, age=None):
    """Supernova rate per unit area at the Sun, rate * Sigma(R_sun, 0), in 1/(kpc^2 Myr).

    Check (SH section 3): ExponentialDisk(r_d=4), rate 1/(30 yr) gives
    3.96e-5 kpc^-2 yr^-1 at R_sun = 8.5 kpc (MODEL.md quotes it as 3.9e-5).
    ``T`` and ``age`` as in :func:`surface_density`.
    """
    rate = v.positive("rate", v.as_float("rate", rate))
    return rate * float(surface_density(model, R_SUN, 0.0, T=T, age=age)[()])


# --------------------------------------------------------------------------- sampling near the Sun
#: Arm sources are displaced radially by s ~ Normal(0, sigma_arm).  The latent
#: region of :func:`near_region` considers arm radii r' within ARM_REACH sigma_arm
#: of the annulus; a source with r' farther out reaches the annulus only if
#: |s| > 8 sigma_arm (probability < 1e-15 per source; about 1e-9 per SH realization).
ARM_REACH = 8.0


def _radial_law(model):
    """(shape, scale) of the Gamma radial law of the disk (and of the radii along arms)."""
    if isinstance(model, Cylindrical):
        return 4.0, R_SUN / model.beta
    return 2.0, model.r_d


def _gamma_pdf(r, shape, scale):
    return r ** (shape - 1.0) * np.exp(-r / scale) / (math.gamma(shape) * scale ** shape)


def _gamma_pdf_max(lo, hi, shape, scale):
    """Maximum of the Gamma pdf on [lo, hi] (mode (shape - 1) scale)."""
    mode = min(max((shape - 1.0) * scale, lo), hi)
    return float(_gamma_pdf(mode, shape, scale))


@dataclass(frozen=True)
class NearRegion:
    """A region S of the sampler's latent variables that holds every source within ``radius``.

    Disk sources (``arm = -1``): radius r in [a, b] = [R_SUN - radius, R_SUN + radius]
    and azimuth |phi| <= asin(radius / R_SUN).  Arm sources of
    :class:`MovingSpiralArms` (centroid radius r', azimuth theta_k(r') - omega t,
    radius r = r' + s): theta_k(r') inside the azimuth window widened by the
    pattern's turn over (0, T] (so that the condition holds at every age), r'
    within ``ARM_REACH`` sigma_arm of the annulus, and r' + s in [a, b].  S does
    not depend on the age, so the sources outside S form a Poisson process
    uniform in age, of rate ``rate * (1 - p_S)``.
    """

    radius: float
    T: float
    a: float
    b: float
    half_angle: float
    disk_mass: float
    arm_intervals: tuple       # (arm, r'_lo, r'_hi, probability of (r' in [lo, hi], r' + s in [a, b]))
    p_S: float


@functools.lru_cache(maxsize=64)
def near_region(model, radius, T):
    """The latent region S of :class:`NearRegion` for ``model`` and the ages (0, T].

    Supported models: :class:`Cylindrical`, :class:`ExponentialDisk` and
    :class:`MovingSpiralArms` (BA's blurred :class:`SpiralArms` spreads
    azimuths over the whole circle and would gain nothing).  ``radius`` must
    be below R_SUN (minus ``ARM_REACH`` sigma_arm for moving arms).
    """
    from scipy.integrate import quad
    from scipy.special import gammainc, ndtr

    if not isinstance(model, (Cylindrical, ExponentialDisk, MovingSpiralArms)):
        raise ValueError("near-Sun sampling supports Cylindrical, ExponentialDisk and "
                         f"MovingSpiralArms, got {type(model).__name__}")
    radius = v.positive("radius", v.as_float("radius", radius))
    T = v.positive("T", v.as_float("T", T))
    f_arm = model.f_arm if isinstance(model, MovingSpiralArms) else 0.0
    reach = ARM_REACH * model.sigma_arm if f_arm > 0 else 0.0
    limit = R_SUN - reach
    if not radius < limit:
        raise ValueError(f"radius must be in (0, {limit:.4g}) kpc for this model, got {radius!r}")
    shape, scale = _radial_law(model)
    a, b = R_SUN - radius, R_SUN + radius
    half = math.asin(radius / R_SUN)
    disk_mass = float(gammainc(shape, b / scale) - gammainc(shape, a / scale)) * half / math.pi
    intervals = []
    if f_arm > 0:
        sig = model.sigma_arm
        lo_r, hi_r = a - reach, b + reach
        turn = -model.omega * T                      # pattern_rotation at age T
        psi_lo, psi_hi = -half - max(0.0, turn), half - min(0.0, turn)

        def mass(lo, hi):
            f = lambda r: _gamma_pdf(r, shape, scale) * (ndtr((b - r) / sig) - ndtr((a - r) / sig))  # noqa: E731
            return quad(f, lo, hi, epsabs=1e-14, epsrel=1e-10, limit=500)[0]

        for k in range(4):
            K, r0, th0 = FK06_ARMS[k]
            c = th0 + PLACEMENTS[model.placement]
            th_lo, th_hi = K * math.log(lo_r / r0) + c, K * math.log(hi_r / r0) + c
            if psi_hi - psi_lo >= TWO_PI:
                spans = [(th_lo, th_hi)]
            else:
                m0 = math.floor((th_lo - psi_hi) / TWO_PI)
                m1 = math.ceil((th_hi - psi_lo) / TWO_PI)
                spans = [(max(th_lo, psi_lo + TWO_PI * m), min(th_hi, psi_hi + TWO_PI * m))
                         for m in range(m0, m1 + 1)]
            for s0, s1 in spans:
                if s1 > s0:
                    r_lo, r_hi = r0 * math.exp((s0 - c) / K), r0 * math.exp((s1 - c) / K)
                    intervals.append((k, r_lo, r_hi, mass(r_lo, r_hi)))
    p_S = (1.0 - f_arm) * disk_mass + f_arm * 0.25 * sum(iv[3] for iv in intervals)
    return NearRegion(radius, T, a, b, half, disk_mass, tuple(intervals), p_S)


def _thinned(rng, mean_env, lo, hi, accept):
    """Poisson points on [lo, hi] with envelope mean ``mean_env``, kept with probability accept(r)."""
    r = rng.uniform(lo, hi, rng.poisson(mean_env))
    return r[rng.random(r.size) < accept(r)]


def _arm_positions(model, t, r1, arm, s):
    K, r0, th0 = FK06_ARMS[arm].T
    phi = K * np.log(r1 / r0) + th0 + PLACEMENTS[model.placement] - model.omega * t
    return phi, r1 + s


def _catalogue(model, x, y, z, t, arm, hi):
    o = np.argsort(t)       # ages are continuous: no ties, so any sort gives one order
    return Catalogue(*(np.ascontiguousarray(q[o]) for q in (x, y, z, t, arm)),
                     t_min=0.0, t_max=hi, model=model)


def sample_near(model, rate, T, rng, radius, age_edges):
    """Sources within ``radius`` of the Sun's axis, and the numbers of the rest by age.

    A Poisson process restricted to disjoint regions gives independent Poisson
    processes, so this draws exactly (i) the sources inside the latent region S
    of :func:`near_region` (by thinning a uniform envelope with the Gamma pdf,
    and for arm sources with the probability that r' + s falls in the annulus,
    then s from the conditioned normal), split into those within ``radius`` of
    (R_SUN, 0) in the plane and the others, and (ii) the *number* of sources
    outside S in each age bin ``age_edges[i:i+2]``.  :func:`sample_outside`
    draws the positions of (ii) when they are needed.

    Returns
    -------
    near : Catalogue
        Sources with (x - R_SUN)^2 + y^2 < radius^2, sorted by age.
    rest : Catalogue
        The other sources drawn in S (all at least ``radius`` away).
    outside_counts : int array, len(age_edges) - 1
        Poisson counts of the sources outside S per age bin.
    region : NearRegion
    """
    from scipy.special import ndtr, ndtri

    _check_model(model)
    rate = v.positive("rate", v.as_float("rate", rate))
    reg = near_region(model, float(radius), float(T))
    edges = v.as_float_array("age_edges", age_edges)
    if edges.ndim != 1 or edges.size < 2 or edges[0] != 0.0 or edges[-1] != reg.T \
            or np.any(np.diff(edges) <= 0):
        raise ValueError(f"age_edges must increase strictly from 0 to T = {reg.T!r}")
    rng = _rng(rng)
    shape, scale = _radial_law(model)
    f_arm = model.f_arm if isinstance(model, MovingSpiralArms) else 0.0
    a, b, half = reg.a, reg.b, reg.half_angle
    # disk sources: r uniform on [a, b] thinned by the Gamma pdf, phi uniform in the wedge
    pmax = _gamma_pdf_max(a, b, shape, scale)
    r = _thinned(rng, rate * reg.T * (1.0 - f_arm) * (half / math.pi) * pmax * (b - a), a, b,
                 lambda q: _gamma_pdf(q, shape, scale) / pmax)
    phi = rng.uniform(-half, half, r.size)
    arm = np.full(r.size, -1, dtype=np.int64)
    t = rng.uniform(0.0, reg.T, r.size)
    if reg.arm_intervals:
        sig = model.sigma_arm
        rs, ks = [], []
        for k, lo, hi, _ in reg.arm_intervals:
            pm = _gamma_pdf_max(lo, hi, shape, scale)
            rs.append(_thinned(rng, rate * reg.T * f_arm * 0.25 * pm * (hi - lo), lo, hi,
                               lambda q: _gamma_pdf(q, shape, scale) / pm
                               * (ndtr((b - q) / sig) - ndtr((a - q) / sig))))
            ks.append(np.full(rs[-1].size, k, dtype=np.int64))
        r1, k1 = np.concatenate(rs), np.concatenate(ks)
        pa, pb = ndtr((a - r1) / sig), ndtr((b - r1) / sig)
        s = sig * ndtri(pa + (pb - pa) * rng.random(r1.size))
        t1 = rng.uniform(0.0, reg.T, r1.size)
        phi1, rr1 = _arm_positions(model, t1, r1, k1, s)
        r, phi, arm, t = (np.concatenate(p) for p in ((r, rr1), (phi, phi1), (arm, k1), (t, t1)))
    x, y = r * np.cos(phi), r * np.sin(phi)
    z = rng.laplace(0.0, model.z_g, r.size)
    close = (x - R_SUN) ** 2 + y ** 2 < reg.radius ** 2
    near = _catalogue(model, x[close], y[close], z[close], t[close], arm[close], reg.T)
    rest = _catalogue(model, x[~close], y[~close], z[~close], t[~close], arm[~close], reg.T)
    counts = rng.poisson(rate * (1.0 - reg.p_S) * np.diff(edges))
    return near, rest, counts, reg


def sample_outside(model, rng, region, age_edges, counts):
    """Positions of the ``counts[i]`` sources outside S with ages in bin i.

    Drawn from the model's full latent law and kept when outside the region S
    of ``region`` (exact conditional sampling by rejection; S holds a small
    part of the law).
    """
    _check_model(model)
    if not isinstance(region, NearRegion) or region != near_region(model, region.radius, region.T):
        raise ValueError("region must be near_region(model, radius, T) of this model")
    rng = _rng(rng)
    edges = v.as_float_array("age_edges", age_edges)
    if edges.ndim != 1 or edges.size < 2 or edges[0] < 0 or edges[-1] > region.T \
            or np.any(np.diff(edges) <= 0):
        raise ValueError(f"age_edges must increase strictly within [0, T = {region.T!r}]")
    counts = np.asarray(counts)
    if counts.shape != (edges.size - 1,) or np.any(counts < 0) \
            or not np.all(counts == np.floor(counts)):
        raise ValueError(f"counts must be {edges.size - 1} non-negative integers, got {counts!r}")
    counts = counts.astype(np.int64)
    shape, scale = _radial_law(model)
    f_arm = model.f_arm if isinstance(model, MovingSpiralArms) else 0.0
    sig = model.sigma_arm if f_arm > 0 else 0.0
    parts = []
    for i in np.nonzero(counts)[0]:
        need = int(counts[i])
        while need > 0:
            m = int(need / max(1.0 - region.p_S, 1e-3) * 1.1) + 16
            r = rng.gamma(shape, scale, m)
            phi = rng.uniform(-math.pi, math.pi, m)
            arm = np.where(rng.random(m) < f_arm, rng.integers(0, 4, m), -1).astype(np.int64)
            s = sig * rng.standard_normal(m)
            t = rng.uniform(edges[i], edges[i + 1], m)
            disk = arm < 0
            inside = disk & (r >= region.a) & (r <= region.b) & (np.abs(phi) <= region.half_angle)
            land = (r + s >= region.a) & (r + s <= region.b)
            for k, lo, hi, _ in region.arm_intervals:
                inside |= (arm == k) & (r >= lo) & (r <= hi) & land
            ok = np.nonzero(~inside)[0][:need]
            r, phi, arm, s, t = r[ok], phi[ok], arm[ok], s[ok], t[ok]
            on = arm >= 0
            if np.any(on):
                phi[on], r[on] = _arm_positions(model, t[on], r[on], arm[on], s[on])
            parts.append((r * np.cos(phi), r * np.sin(phi), rng.laplace(0.0, model.z_g, ok.size),
                          t, arm))
            need -= ok.size
    if not parts:
        e = np.empty(0)
        return _catalogue(model, e, e, e, e, np.empty(0, np.int64), float(edges[-1]))
    x, y, z, t, arm = (np.concatenate(p) for p in zip(*parts))
    return _catalogue(model, x, y, z, t, arm, float(edges[-1]))
