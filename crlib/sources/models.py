"""The source models: where supernovae explode, as frozen dataclasses with their own laws.

Every model derives from :class:`SourceModel` and carries its own radial law,
radial pdf and cdf, height law, pattern rotation, positions sampler and mean
surface density, so the functions of :mod:`crlib.sources` never ask which
model they hold, and adding a model means writing one class.  The model
specification is :ref:`model-sources`.

Coordinates: Galactocentric Cartesian in kpc, Galactic centre at the origin,
Sun at ``(R_SUN, 0, 0)``, z towards the North Galactic Pole (NGP), azimuth
``phi`` counter-clockwise from +x seen from the NGP.  Seen from the NGP the
Galaxy rotates clockwise, towards *decreasing* ``phi``; this is what makes the
FK06 arms, whose azimuth grows outwards, trailing.  Times are ages (time before
the present) in Myr.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .. import _validate as v
from ..galaxy import R_SUN
from ..units import km_per_s_per_kpc
from . import _fast, _kernels as kern
from .arms import PLACEMENTS, TWO_PI, arm_columns, centroid_azimuth, check_placement

__all__ = ["SourceModel", "Cylindrical", "SpiralArms", "ExponentialDisk", "MovingSpiralArms",
           "is_source_model", "check_model"]


def _pos(obj, name):
    object.__setattr__(obj, name, v.positive(name, v.as_float(name, getattr(obj, name))))


def _trusted(method):
    """Mark a ``positions`` method whose output the samplers may wrap without validation.

    It must return fresh contiguous float64 x, y, z and int64 arm arrays of
    the length of ``t``, finite, arm in -1..3 (the built-in fast samplers of
    ``crlib.sources._fast`` do).  A subclass that overrides ``positions``
    loses the mark and gets the validated path.
    """
    method._trusted = True
    return method


def is_source_model(obj):
    """True if ``obj`` is a source model (an instance of a :class:`SourceModel` subclass)."""
    return isinstance(obj, SourceModel)


def check_model(name, model):
    """Return ``model`` if it is a source model, else raise ValueError naming ``name``."""
    if not is_source_model(model):
        raise ValueError(
            f"{name} must be a crlib.sources model (Cylindrical, SpiralArms, ExponentialDisk, "
            f"MovingSpiralArms or another SourceModel subclass), got {type(model).__name__}")
    return model


class SourceModel:
    """Base class of the source models; a subclass is a frozen dataclass.

    A subclass implements :meth:`radial_law`, ``_polar`` (radius, azimuth and
    arm of sources of given ages) and :meth:`density`; the defaults of the
    other methods describe a static model with a Gamma radial law and
    exponential heights of scale ``z_g``.  A subclass that needs no arguments
    ``T``/``age`` calls ``self._static(T, age)`` in :meth:`density`.  The four
    built-in models override :meth:`positions` with the numba samplers of
    ``crlib.sources._fast`` (same laws, other random numbers per seed); their
    ``_polar`` remains as the generic path the tests compare with.
    """

    #: Whether the near-Sun sampler (:func:`crlib.sources.near_region`) supports the model.
    supports_near = True
    #: Fraction of sources on spiral arms (0 when there are no arm sources).
    arm_fraction = 0.0
    #: Radial Gaussian width in kpc of the arm sources around their centroid (0 if none).
    arm_sigma = 0.0

    # ---------------------------------------------------------------- radial and vertical laws
    def radial_law(self):
        """(shape, scale) of the Gamma law of the (latent) radius in kpc."""
        raise NotImplementedError

    def radial_pdf(self, r):
        """Probability density (1/kpc) of the sampled Galactocentric radius ``r``."""
        shape, scale = self.radial_law()
        return stats.gamma(shape, scale=scale).pdf(r)

    def radial_cdf(self, r):
        """Cumulative distribution of the sampled radius."""
        shape, scale = self.radial_law()
        return stats.gamma(shape, scale=scale).cdf(r)

    def height_pdf(self, z):
        """Height pdf exp(-|z|/z_g)/(2 z_g) in 1/kpc (BA eq. 4.3)."""
        return stats.laplace(scale=self.z_g).pdf(z)

    def height_cdf(self, z):
        """Height cdf matching :meth:`height_pdf`."""
        return stats.laplace(scale=self.z_g).cdf(z)

    # ---------------------------------------------------------------- time dependence
    def pattern_rotation(self, t):
        """Azimuth (rad) added to the arm centroids for sources of ages ``t`` (zero: static)."""
        return np.zeros_like(t)

    def averaging_span(self, T):
        """The ``T`` to give :func:`~crlib.sources.surface_density` for a history over (0, T].

        None for a model whose density does not change with age, ``T`` for one
        whose pattern moves.
        """
        return None

    def arm_azimuth(self, arm, r, t=0.0):
        """Unwrapped centroid azimuth of arm ``arm``; only models with spiral arms have one."""
        raise ValueError(f"model must have spiral arms (SpiralArms or MovingSpiralArms), "
                         f"got {type(self).__name__}")

    # ---------------------------------------------------------------- sampling
    def _polar(self, rng, t):
        """Radius, azimuth and arm index of sources of ages ``t`` (one draw per source)."""
        raise NotImplementedError

    def positions(self, rng, t):
        """Galactocentric x, y, z (kpc) and arm index of sources of ages ``t`` (Myr)."""
        r, phi, arm = self._polar(rng, t)
        x = r * np.cos(phi)
        y = r * np.sin(phi)
        z = rng.laplace(0.0, self.z_g, t.shape[0])
        return x, y, z, arm

    # ---------------------------------------------------------------- surface density
    def _static(self, T, age):
        if T is not None or age is not None:
            raise ValueError(f"T and age are only used for models whose density changes with "
                             f"age (MovingSpiralArms); leave them None for {type(self).__name__}")

    def density(self, r, phi, T=None, age=None):
        """Surface density (1/kpc^2, normalised to 1) at polar points ``r``, ``phi`` (1-d arrays)."""
        raise NotImplementedError


class _ArmPattern:
    """Methods shared by the models with FK06 spiral arms (attribute ``placement``)."""

    def arm_azimuth(self, arm, r, t=0.0):
        """Unwrapped azimuth (rad) of arm ``arm``'s centroid at radius ``r`` (kpc), age ``t``.

        theta = K ln(r/r0) + theta0 + placement rotation + pattern rotation
        (FK06 Table 2, BA section 4).
        """
        if isinstance(arm, bool) or arm not in (0, 1, 2, 3):
            raise ValueError(f"arm must be one of 0, 1, 2, 3, got {arm!r}")
        r = v.positive("r", r)
        rot = self.pattern_rotation(v.as_float_array("t", t))
        return centroid_azimuth(arm, r, self.placement, rot)

    def arm_source_positions(self, t, r1, arm, s):
        """Azimuth and radius of arm sources of age ``t``, centroid radius ``r1``, offset ``s``."""
        return centroid_azimuth(arm, r1, self.placement, self.pattern_rotation(t)), r1 + s


@dataclass(frozen=True)
class Cylindrical(SourceModel):
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

    def radial_law(self):
        return 4.0, R_SUN / self.beta

    def _polar(self, rng, t):
        n = t.shape[0]
        r = rng.gamma(4.0, R_SUN / self.beta, n)
        phi = rng.uniform(0.0, TWO_PI, n)
        return r, phi, np.full(n, -1, dtype=np.int64)

    @_trusted
    def positions(self, rng, t):
        """x, y, z, arm of sources of ages ``t``: the fast sampler of ``crlib.sources._fast``."""
        return _fast.disk_positions(rng, t.shape[0], 4, R_SUN / self.beta, self.z_g)

    def density(self, r, phi, T=None, age=None):
        self._static(T, age)
        return stats.gamma(4.0, scale=R_SUN / self.beta).pdf(r) / (TWO_PI * np.maximum(r, 1e-300))


@dataclass(frozen=True)
class SpiralArms(_ArmPattern, SourceModel):
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

    #: False: the blur spreads azimuths over the whole circle, so the near-Sun sampler would gain nothing.
    supports_near = False

    def __post_init__(self):
        _pos(self, "w")
        check_placement("placement", self.placement)
        _pos(self, "beta")
        _pos(self, "z_g")
        rs = v.as_float("r_spread", self.r_spread)
        if not (0.0 < rs <= 0.1):
            raise ValueError(f"r_spread must be in (0, 0.1], got {rs!r}")
        object.__setattr__(self, "r_spread", rs)

    def radial_law(self):
        """(shape, scale) of the Gamma law of the radius r~ *before* the radial blur."""
        return 4.0, R_SUN / self.beta

    def _blur(self, r, law):
        """E_s[law(r / q) (/ q)] over q = 1 + r_spread s, s standard normal (Gauss-Hermite)."""
        q = 1.0 + self.r_spread * kern.GH_X          # all > 0.2 since r_spread <= 0.1
        rr = np.asarray(r)[..., None]
        return law(rr / q, q) @ kern.GH_W

    def radial_pdf(self, r):
        """Radius pdf *after* the blur, E_s[p4(r/q)/q] (100-node Gauss-Hermite, error < 1e-9)."""
        d = stats.gamma(4.0, scale=R_SUN / self.beta)
        return self._blur(r, lambda x, q: d.pdf(x) / q)

    def radial_cdf(self, r):
        """Radius cdf after the blur, E_s[F4(r/q)]."""
        d = stats.gamma(4.0, scale=R_SUN / self.beta)
        return self._blur(r, lambda x, q: d.cdf(x))

    def _polar(self, rng, t):
        n = t.shape[0]
        rt = rng.gamma(4.0, R_SUN / self.beta, n)
        arm = rng.integers(0, 4, n, dtype=np.int64)
        phi = (centroid_azimuth(arm, rt, self.placement)
               + rng.uniform(0.0, TWO_PI, n) * np.exp(-rt / self.w))
        r = rt * (1.0 + self.r_spread * rng.standard_normal(n))
        return r, phi, arm

    @_trusted
    def positions(self, rng, t):
        """x, y, z, arm of sources of ages ``t``: the fast sampler of ``crlib.sources._fast``."""
        return _fast.spiral_positions(rng, t.shape[0], R_SUN / self.beta, self.w, self.r_spread,
                                      self.z_g, *arm_columns(), PLACEMENTS[self.placement])

    def density(self, r, phi, T=None, age=None):
        self._static(T, age)
        return kern._spiral_kernel(r, phi, *arm_columns(), PLACEMENTS[self.placement],
                                   R_SUN / self.beta, self.w, self.r_spread, kern.GL8_X, kern.GL8_W)


@dataclass(frozen=True)
class ExponentialDisk(SourceModel):
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

    def radial_law(self):
        return 2.0, self.r_d

    def _polar(self, rng, t):
        n = t.shape[0]
        r = rng.gamma(2.0, self.r_d, n)
        phi = rng.uniform(0.0, TWO_PI, n)
        return r, phi, np.full(n, -1, dtype=np.int64)

    @_trusted
    def positions(self, rng, t):
        """x, y, z, arm of sources of ages ``t``: the fast sampler of ``crlib.sources._fast``."""
        return _fast.disk_positions(rng, t.shape[0], 2, self.r_d, self.z_g)

    def density(self, r, phi, T=None, age=None):
        self._static(T, age)
        return np.exp(-r / self.r_d) / (TWO_PI * self.r_d ** 2)


@dataclass(frozen=True)
class MovingSpiralArms(_ArmPattern, SourceModel):
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
    ``-omega * t`` in phi (:meth:`pattern_rotation`).  Sources stay at rest in
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
        check_placement("placement", self.placement)

    @property
    def arm_fraction(self):
        return self.f_arm

    @property
    def arm_sigma(self):
        return self.sigma_arm

    def radial_law(self):
        """(shape, scale) of the Gamma law of the disk radii and of the arm centroid radii."""
        return 2.0, self.r_d

    def radial_pdf(self, r):
        """(1 - f_arm) Gamma(2, r_d) + f_arm * law of |r' + s| (closed form; r' + s < 0 lands across)."""
        ra = np.abs(r)
        arm = np.where(r >= 0, kern.conv_pdf(ra, self.r_d, self.sigma_arm)
                       + kern.conv_pdf(-ra, self.r_d, self.sigma_arm), 0.0)
        return (1.0 - self.f_arm) * stats.gamma(2.0, scale=self.r_d).pdf(r) + self.f_arm * arm

    def radial_cdf(self, r):
        """Closed form: P(|r' + s| <= r) = P(r' + s <= r) - P(r' + s <= -r) for the arm part."""
        ra = np.abs(r)
        arm = np.where(r >= 0, kern.conv_cdf(ra, self.r_d, self.sigma_arm)
                       - kern.conv_cdf(-ra, self.r_d, self.sigma_arm), 0.0)
        return (1.0 - self.f_arm) * stats.gamma(2.0, scale=self.r_d).cdf(r) + self.f_arm * arm

    def pattern_rotation(self, t):
        """``-omega * t``: the pattern stood ``omega t`` further towards -phi at the source's birth."""
        return -self.omega * t

    def averaging_span(self, T):
        return T

    def _polar(self, rng, t):
        n = t.shape[0]
        r = rng.gamma(2.0, self.r_d, n)
        in_arm = rng.random(n) < self.f_arm
        a = rng.integers(0, 4, n, dtype=np.int64)
        arm = np.where(in_arm, a, -1)
        th_arm, _ = self.arm_source_positions(t, r, a, 0.0)
        phi = np.where(in_arm, th_arm, rng.uniform(0.0, TWO_PI, n))
        r = r + np.where(in_arm, self.sigma_arm * rng.standard_normal(n), 0.0)
        return r, phi, arm

    @_trusted
    def positions(self, rng, t):
        """x, y, z, arm of sources of ages ``t``: the fast sampler of ``crlib.sources._fast``."""
        return _fast.moving_positions(rng, np.ascontiguousarray(t, dtype=np.float64), self.f_arm,
                                      self.sigma_arm, self.omega, self.r_d, self.z_g,
                                      *arm_columns(), PLACEMENTS[self.placement])

    def _pattern_window(self, T, age):
        """Range (a0, a1) of pattern angles averaged over: ages (0, T], one age, or a full turn."""
        if T is not None and age is not None:
            raise ValueError("give T (an average over ages) or age (one age), not both")
        if T is not None:
            T = v.positive("T", v.as_float("T", T))
            a0, a1 = sorted((0.0, -self.omega * T))
            if a1 - a0 < 1e-9:
                a0 = a1 = -self.omega * 0.5 * T
            return a0, a1
        if age is not None:
            a = -self.omega * v.non_negative("age", v.as_float("age", age))
            return a, a
        if self.omega == 0.0:
            raise ValueError("omega = 0: the pattern never turns, so there is no "
                             "full-turn average; give T or age")
        return 0.0, TWO_PI

    def density(self, r, phi, T=None, age=None):
        """(1 - f_arm) exponential disk + f_arm arm part (closed form, ``_kernels._moving_kernel``)."""
        s = np.exp(-r / self.r_d) / (TWO_PI * self.r_d ** 2)
        if self.f_arm > 0.0:
            a0, a1 = self._pattern_window(T, age)
            arm = kern._moving_kernel(r, phi, *arm_columns(), PLACEMENTS[self.placement],
                                      self.r_d, self.sigma_arm, a0, a1)
            s = (1.0 - self.f_arm) * s + self.f_arm * arm
        return s
