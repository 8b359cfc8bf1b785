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
def radial_pdf(model, r):
    """Probability density of the Galactocentric radius r, in 1/kpc.

    Cylindrical: Gamma(4, R_sun/beta), i.e. 2 pi r f(r) of BA eq. 4.1.
    Exponential disk: Gamma(2, r_d) (SH eq. 5).  SpiralArms: the same
    Gamma(4) law of r~ *before* the 7 % radial blur.  MovingSpiralArms: the
    exact law of the radius, (1 - f) Gamma(2, r_d) + f * law of |r' + s|.
    """
    _check_model(model)
    r = v.as_float_array("r", r)
    if isinstance(model, (Cylindrical, SpiralArms)):
        return stats.gamma(4.0, scale=R_SUN / model.beta).pdf(r)
    d = stats.gamma(2.0, scale=model.r_d)
    if isinstance(model, ExponentialDisk) or model.f_arm == 0.0:
        return d.pdf(r)
    flat = np.atleast_1d(r).ravel()
    arm = TWO_PI * flat * _moving_arm_part(model, flat, np.zeros_like(flat), None, 4000)
    arm = np.where(flat >= 0, arm, 0.0).reshape(np.shape(r))
    return (1.0 - model.f_arm) * d.pdf(r) + model.f_arm * arm


def radial_cdf(model, r):
    """Cumulative distribution matching :func:`radial_pdf` (Cylindrical, SpiralArms
    pre-blur, ExponentialDisk only)."""
    _check_model(model)
    r = v.as_float_array("r", r)
    if isinstance(model, (Cylindrical, SpiralArms)):
        return stats.gamma(4.0, scale=R_SUN / model.beta).cdf(r)
    if isinstance(model, ExponentialDisk):
        return stats.gamma(2.0, scale=model.r_d).cdf(r)
    raise ValueError("radial_cdf: model must be Cylindrical, SpiralArms or ExponentialDisk")


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
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be >= 0, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")


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
        K, r0, th0 = FK06_ARMS[a].T
        th_arm = K * np.log(r / r0) + th0 + PLACEMENTS[model.placement] - model.omega * t
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
def _log_nodes(dist, m):
    """Midpoint nodes in u = ln r over [ppf(1e-12), isf(1e-12)] and their width du."""
    lo, hi = np.log(dist.ppf(1e-12)), np.log(dist.isf(1e-12))
    du = (hi - lo) / m
    return lo + du * (np.arange(m) + 0.5), du


@njit(cache=True)
def _arc_density(r, phi, rt, wt, sd, length, theta, sgn, arm_w):
    """Surface density of "radius near rt_j, azimuth uniform on an arc".

    Node j: radius ~ Normal(rt_j, sd_j); for arm i the azimuth is uniform on
    the arc that starts at theta[i, j] and sweeps length[j] radians in the
    direction sgn (wrapping as often as length/2pi says).  A negative radius
    lands at |r|, azimuth + pi.  Returns
    (1/r) sum_j wt_j N(r; rt_j, sd_j) sum_i arm_w * cover_ij(phi) / length_j.
    rt_j +- 9 sd_j must be non-decreasing in j (true for sd constant or
    proportional to rt with factor < 1/9): the node window is found by bisection.
    """
    n = r.shape[0]
    m = rt.shape[0]
    na = theta.shape[0]
    out = np.zeros(n)
    inv_s2pi = 1.0 / math.sqrt(2.0 * math.pi)
    hi_edge = rt + 9.0 * sd
    lo_edge = rt - 9.0 * sd
    for p in range(n):
        rp = max(r[p], 1e-12)
        acc = 0.0
        for mirror in range(2):
            if mirror == 0:
                rr = rp
                ph = phi[p]
                j0 = np.searchsorted(hi_edge, rr)
            else:
                rr = -rp
                ph = phi[p] + math.pi
                j0 = 0
            for j in range(j0, m):
                if lo_edge[j] > rr:
                    break
                dz = (rr - rt[j]) / sd[j]
                g = math.exp(-0.5 * dz * dz) * inv_s2pi / sd[j]
                L = length[j]
                s = 0.0
                for i in range(na):
                    a = (sgn * (ph - theta[i, j])) % (2.0 * math.pi)
                    if a <= L:
                        s += math.floor((L - a) / (2.0 * math.pi)) + 1.0
                acc += wt[j] * g * s * arm_w / L
        out[p] = acc / rp
    return out


def _arm_theta(rt, placement):
    th = FK06_ARMS[:, 0:1] * np.log(rt[None, :] / FK06_ARMS[:, 1:2]) + FK06_ARMS[:, 2:3]
    return np.ascontiguousarray(th + PLACEMENTS[placement])


def _moving_arm_part(model, r, phi, T, n_nodes):
    """Arm-part surface density of MovingSpiralArms (normalised to 1); flat arrays."""
    d = stats.gamma(2.0, scale=model.r_d)
    u, du = _log_nodes(d, n_nodes)
    rt = np.exp(u)
    wt = d.pdf(rt) * rt * du
    sd = np.full_like(rt, model.sigma_arm)
    theta = _arm_theta(rt, model.placement)
    r = np.ascontiguousarray(r, dtype=np.float64)
    phi = np.ascontiguousarray(phi, dtype=np.float64)
    if T is None:  # full turn: each azimuth covered once per arm
        return _arc_density(r, phi, rt, wt, sd, np.full_like(rt, TWO_PI), theta, 1.0, 0.25)
    sweep = abs(model.omega) * T
    if sweep < 1e-6:
        raise ValueError(f"|omega| * T must be >= 1e-6 rad for the time average, got {sweep!r}")
    sgn = -1.0 if model.omega > 0 else 1.0
    return _arc_density(r, phi, rt, wt, sd, np.full_like(rt, sweep), theta, sgn, 0.25)


def surface_density(model, x, y, T=None, n_nodes=6000):
    """Mean surface density of sources in 1/kpc^2, normalised to 1 over the plane.

    * Cylindrical: BA eq. 4.1.  ExponentialDisk: exp(-r/r_d)/(2 pi r_d^2).
    * SpiralArms, semi-analytic: given the pre-blur radius r~ the azimuth is
      uniform on an arc of length 2 pi exp(-r~/w) starting at the arm centroid
      and the radius is Normal(r~, r_spread r~), so
      Sigma(r, phi) = (1/r) int dr~ p(r~) (1/4) sum_arms N(r; r~, 0.07 r~)
      1[phi on arc] / (arc length).  The r~ integral is a midpoint rule with
      ``n_nodes`` nodes uniform in ln r~ (numba); the plane integral is 1
      within 2e-4 and a histogram of 4e5 samples agrees (chi-square test in
      tests/test_sources.py).
    * MovingSpiralArms: average over ages uniform in (0, T] of the density at
      each age.  ``T=None`` averages over full turns of the pattern
      (2 pi/|omega| = 516 Myr for the default), which is axisymmetric.  Finite
      T: the same quadrature with the arm azimuth swept over |omega| T.

    Parameters
    ----------
    x, y : array_like
        Galactocentric position in kpc (broadcast together).
    T : float, optional
        MovingSpiralArms only: the age span to average over, in Myr (> 0).
    n_nodes : int
        Quadrature nodes for the spiral models.
    """
    _check_model(model)
    x, y = np.broadcast_arrays(v.as_float_array("x", x), v.as_float_array("y", y))
    shape = x.shape
    r = np.ascontiguousarray(np.hypot(x, y).ravel())
    phi = np.ascontiguousarray(np.arctan2(y, x).ravel())
    n_nodes = v.positive_int("n_nodes", n_nodes)
    if T is not None and not isinstance(model, MovingSpiralArms):
        raise ValueError("T is only used for MovingSpiralArms; leave it None")
    if isinstance(model, Cylindrical):
        s = stats.gamma(4.0, scale=R_SUN / model.beta).pdf(r) / (TWO_PI * np.maximum(r, 1e-300))
        return s.reshape(shape)
    if isinstance(model, ExponentialDisk):
        return (np.exp(-r / model.r_d) / (TWO_PI * model.r_d ** 2)).reshape(shape)
    if isinstance(model, SpiralArms):
        d = stats.gamma(4.0, scale=R_SUN / model.beta)
        u, du = _log_nodes(d, n_nodes)
        rt = np.exp(u)
        s = _arc_density(r, phi, rt, d.pdf(rt) * rt * du, model.r_spread * rt,
                         TWO_PI * np.exp(-rt / model.w), _arm_theta(rt, model.placement),
                         1.0, 0.25)
        return s.reshape(shape)
    disk = np.exp(-r / model.r_d) / (TWO_PI * model.r_d ** 2)
    if T is not None:
        T = v.positive("T", v.as_float("T", T))
    elif model.omega == 0.0:
        raise ValueError("omega = 0: the pattern never turns, so no full-turn average; give T")
    if model.f_arm == 0.0:
        return disk.reshape(shape)
    arm = _moving_arm_part(model, r, phi, T, n_nodes)
    return ((1 - model.f_arm) * disk + model.f_arm * arm).reshape(shape)


def local_rate(model, rate, T=None):
    """Supernova rate per unit area at the Sun, rate * Sigma(R_sun, 0), in 1/(kpc^2 Myr).

    Check (SH section 3): ExponentialDisk(r_d=4), rate 1/(30 yr) gives
    3.96e-5 kpc^-2 yr^-1 at R_sun = 8.5 kpc.  ``T`` as in :func:`surface_density`.
    """
    rate = v.positive("rate", v.as_float("rate", rate))
    return rate * float(surface_density(model, R_SUN, 0.0, T=T)[()])
