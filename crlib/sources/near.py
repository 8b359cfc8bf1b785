"""Sampling near the Sun: the sources close to the observer drawn explicitly, the rest counted.

A Poisson process restricted to disjoint regions of its latent variables gives
independent Poisson processes.  :func:`near_region` builds a region S of the
sampler's latent variables that holds every source within ``radius`` of the
Sun; :func:`sample_near` draws the sources in S exactly and only the *number*
of the others per age bin; :func:`sample_outside` draws the positions of those
when they are needed (:ref:`model-sources`).
"""

from dataclasses import dataclass
import functools
import math

import numpy as np

from .. import _validate as v
from ..galaxy import R_SUN
from . import _fast
from ._kernels import gamma_pdf
from .arms import PLACEMENTS, TWO_PI, arm_columns, centroid_azimuth, centroid_radius
from .models import MovingSpiralArms, check_model
from .sampling import as_rng
from .catalogue import Catalogue

__all__ = ["ARM_REACH", "NearRegion", "near_region", "sample_near", "sample_outside"]

#: Arm sources are displaced radially by s ~ Normal(0, sigma_arm).  The latent
#: region of :func:`near_region` considers arm radii r' within ARM_REACH sigma_arm
#: of the annulus; a source with r' farther out reaches the annulus only if
#: |s| > 8 sigma_arm (probability < 1e-15 per source; about 1e-9 per SH realization).
ARM_REACH = 8.0


def _gamma_pdf_max(lo, hi, shape, scale):
    """Maximum of the Gamma pdf on [lo, hi] (mode (shape - 1) scale)."""
    mode = min(max((shape - 1.0) * scale, lo), hi)
    return float(gamma_pdf(mode, shape, scale))


@dataclass(frozen=True)
class NearRegion:
    """A region S of the sampler's latent variables that holds every source within ``radius``.

    Disk sources (``arm = -1``): radius r in [a, b] = [R_SUN - radius, R_SUN + radius]
    and azimuth |phi| <= asin(radius / R_SUN).  Arm sources of
    :class:`~crlib.sources.MovingSpiralArms` (centroid radius r', azimuth
    theta_k(r') - omega t, radius r = r' + s): theta_k(r') inside the azimuth
    window widened by the pattern's turn over (0, T] (so that the condition
    holds at every age), r' within ``ARM_REACH`` sigma_arm of the annulus, and
    r' + s in [a, b].  S does not depend on the age, so the sources outside S
    form a Poisson process uniform in age, of rate ``rate * (1 - p_S)``.
    """

    radius: float
    T: float
    a: float
    b: float
    half_angle: float
    disk_mass: float
    arm_intervals: tuple       # (arm, r'_lo, r'_hi, probability of (r' in [lo, hi], r' + s in [a, b]))
    p_S: float


def _arm_intervals(model, a, b, half, T):
    """(arm, r'_lo, r'_hi, mass) of the arm part of S; mass = P(r' in [lo, hi], r' + s in [a, b])."""
    from scipy.integrate import quad
    from scipy.special import ndtr

    shape, scale = model.radial_law()
    sig = model.arm_sigma
    reach = ARM_REACH * sig
    lo_r, hi_r = a - reach, b + reach
    turn = float(model.pattern_rotation(np.float64(T)))      # pattern rotation at age T
    psi_lo, psi_hi = -half - max(0.0, turn), half - min(0.0, turn)

    def mass(lo, hi):
        f = lambda r: gamma_pdf(r, shape, scale) * (ndtr((b - r) / sig) - ndtr((a - r) / sig))  # noqa: E731
        return quad(f, lo, hi, epsabs=1e-14, epsrel=1e-10, limit=500)[0]

    intervals = []
    for k in range(4):
        th_lo = float(centroid_azimuth(k, lo_r, model.placement))
        th_hi = float(centroid_azimuth(k, hi_r, model.placement))
        if psi_hi - psi_lo >= TWO_PI:
            spans = [(th_lo, th_hi)]
        else:
            m0 = math.floor((th_lo - psi_hi) / TWO_PI)
            m1 = math.ceil((th_hi - psi_lo) / TWO_PI)
            spans = [(max(th_lo, psi_lo + TWO_PI * m), min(th_hi, psi_hi + TWO_PI * m))
                     for m in range(m0, m1 + 1)]
        for s0, s1 in spans:
            if s1 > s0:
                r_lo = centroid_radius(k, s0, model.placement)
                r_hi = centroid_radius(k, s1, model.placement)
                intervals.append((k, r_lo, r_hi, mass(r_lo, r_hi)))
    return intervals


def near_region(model, radius, T):
    """The latent region S of :class:`NearRegion` for ``model`` and the ages (0, T].

    Supported models: those with ``model.supports_near`` -- :class:`Cylindrical`,
    :class:`ExponentialDisk` and :class:`MovingSpiralArms` (BA's blurred
    :class:`SpiralArms` spreads azimuths over the whole circle and would gain
    nothing).  ``radius`` (kpc) must be below R_SUN (minus ``ARM_REACH``
    sigma_arm for arm sources); ``T`` (Myr, > 0).  Results are cached per
    (model, radius, T).
    """
    check_model("model", model)
    if not model.supports_near:
        raise ValueError("near-Sun sampling supports Cylindrical, ExponentialDisk and "
                         f"MovingSpiralArms, got {type(model).__name__}")
    radius = v.positive("radius", v.as_float("radius", radius))
    T = v.positive("T", v.as_float("T", T))
    return _near_region(model, radius, T)


@functools.lru_cache(maxsize=64)
def _near_region(model, radius, T):
    from scipy.special import gammainc

    f_arm = model.arm_fraction
    reach = ARM_REACH * model.arm_sigma if f_arm > 0 else 0.0
    limit = R_SUN - reach
    if not radius < limit:
        raise ValueError(f"radius must be in (0, {limit:.4g}) kpc for this model, got {radius!r}")
    shape, scale = model.radial_law()
    a, b = R_SUN - radius, R_SUN + radius
    half = math.asin(radius / R_SUN)
    disk_mass = float(gammainc(shape, b / scale) - gammainc(shape, a / scale)) * half / math.pi
    intervals = _arm_intervals(model, a, b, half, T) if f_arm > 0 else []
    p_S = (1.0 - f_arm) * disk_mass + f_arm * 0.25 * sum(iv[3] for iv in intervals)
    return NearRegion(radius, T, a, b, half, disk_mass, tuple(intervals), p_S)


def _catalogue(model, x, y, z, t, arm, hi):
    o = np.argsort(t)       # ages are continuous: no ties, so any sort gives one order
    return Catalogue(*(np.ascontiguousarray(q[o]) for q in (x, y, z, t, arm)),
                     t_min=0.0, t_max=hi, model=model)


def _check_edges(edges, T, exact):
    """Age-bin edges increasing strictly from 0 to T (``exact``) or within [0, T]."""
    edges = v.as_float_array("age_edges", edges)
    bad = edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0)
    if exact:
        if bad or edges[0] != 0.0 or edges[-1] != T:
            raise ValueError(f"age_edges must increase strictly from 0 to T = {T!r}")
    elif bad or edges[0] < 0 or edges[-1] > T:
        raise ValueError(f"age_edges must increase strictly within [0, T = {T!r}]")
    return edges


#: Widths (kpc) of the pieces of the thinning envelope: inside the annulus (where the Gamma pdf
#: varies slowly), and, in units of sigma_arm, outside it (where the landing probability of an
#: arm source falls fast).
_PIECE_IN = 0.5
_PIECE_OUT = 0.5


def _land(r1, a, b, sig):
    """P(a <= r1 + s <= b), s ~ Normal(0, sig), for r1 < a or r1 > b without cancellation."""
    from scipy.special import ndtr

    r1 = np.asarray(r1, dtype=float)
    za, zb = (a - r1) / sig, (b - r1) / sig
    return np.where(r1 < a, ndtr(-za) - ndtr(-zb), ndtr(zb) - ndtr(za))


def _pieces(l, h, width):
    n = max(1, int(math.ceil((h - l) / width - 1e-9)))
    e = np.linspace(l, h, n + 1)
    return list(zip(e[:-1], e[1:]))


@functools.lru_cache(maxsize=64)
def _parts(model, reg):
    """Envelope of the thinning in S, as pieces of the latent radius.

    Per piece: arm index (-1: disk), radius range, the point where the Gamma
    pdf peaks on it, its kind (0: kept by pdf and, for arm sources, by the
    landing of r' + s, s drawn with the proposal; 1: an arm piece outside the
    annulus, kept by pdf x P(land) / its maximum on the piece, s drawn
    afterwards from the truncated normal), that maximum (1 for kind 0), and the
    cumulative envelope fractions and total envelope mass per source (weight x
    pdf maximum x P(land) maximum x range).  The disk wedge and each arm
    interval inside [a, b] are cut into pieces of at most ``_PIECE_IN`` kpc, the
    arm intervals outside [a, b] into pieces of ``_PIECE_OUT`` sigma_arm.
    """
    shape, scale = model.radial_law()
    f_arm = model.arm_fraction
    sig = model.arm_sigma
    a, b = reg.a, reg.b
    rows = [(-1, l, h, (1.0 - f_arm) * reg.half_angle / math.pi, 0, 1.0)
            for l, h in _pieces(a, b, _PIECE_IN)]
    for k, lo, hi, _ in reg.arm_intervals:
        w = f_arm * 0.25
        if lo < a:
            for l, h in _pieces(lo, min(hi, a), _PIECE_OUT * sig):
                rows.append((k, l, h, w, 1, float(_land(h, a, b, sig))))
        if hi > a and lo < b:
            rows += [(k, l, h, w, 0, 1.0) for l, h in _pieces(max(lo, a), min(hi, b), _PIECE_IN)]
        if hi > b:
            for l, h in _pieces(max(lo, b), hi, _PIECE_OUT * sig):
                rows.append((k, l, h, w, 1, float(_land(l, a, b, sig))))
    cols = [[] for _ in range(7)]
    for k, l, h, wgt, kind, pl in rows:
        e = wgt * _gamma_pdf_max(l, h, shape, scale) * pl * (h - l)
        if e > 0.0:
            for c, val in zip(cols, (k, l, h, min(max((shape - 1.0) * scale, l), h), kind, pl, e)):
                c.append(val)
    arm_of, lo, hi, mode, kind, pl, env = cols
    env = np.array(env)
    cum = np.minimum(np.cumsum(env) / env.sum(), 1.0)   # ascending, ending at exactly 1
    cum[-1] = 1.0
    return (np.array(arm_of, dtype=np.int64), np.array(lo), np.array(hi), np.array(mode),
            np.array(kind, dtype=np.int64), np.array(pl), float(env.sum()), cum)


def _draw_in_S(model, rate, reg, rng):
    """Sources inside S, ages ascending: radius, azimuth, arm, age.

    One thinned Poisson process over all pieces of S (``_fast.near_draw``):
    proposals from the envelope of ``_parts`` in age order, kept with
    probability pdf(r)/max pdf and, for arm sources, when r' + s lands in the
    annulus (kind 0) or with probability P(land | r') / max P(land) (kind 1,
    outside the annulus; s then from the normal truncated to the landing
    interval, by inversion).  MovingSpiralArms' arm azimuths are computed in
    the kernel; other models with arms go through ``model.arm_source_positions``.
    """
    from scipy.special import ndtr, ndtri

    shape, scale = model.radial_law()
    arm_of, lo, hi, mode, kind, pl, env, cum = _parts(model, reg)
    n_prop = int(rng.poisson(rate * reg.T * env))
    fast = type(model) is MovingSpiralArms
    K, r0, th0 = arm_columns()
    rot = PLACEMENTS[model.placement] if fast else 0.0
    omega = model.omega if fast else 0.0
    sig = float(model.arm_sigma)
    r, phi, t, arm, r1, s = _fast.near_draw(
        rng, n_prop, reg.T, cum, lo, hi, arm_of, mode, kind, pl, float(shape), float(scale),
        reg.a, reg.b, reg.half_angle, sig, fast, K, r0, th0, rot, omega)
    late = np.flatnonzero(np.isnan(s))          # kind-1 sources: offset from the truncated normal
    if late.size:
        q = r1[late]
        za, zb = (reg.a - q) / sig, (reg.b - q) / sig
        u = rng.random(late.size)
        left = q < reg.a
        # upper tails for r' < a, lower tails for r' > b: no cancellation near 1
        v = np.where(left, ndtr(-zb) + (ndtr(-za) - ndtr(-zb)) * u,
                     ndtr(za) + (ndtr(zb) - ndtr(za)) * u)
        z = np.where(left, -ndtri(v), ndtri(v))
        s[late] = sig * z
        r[late] = np.clip(q + s[late], reg.a, reg.b)
    on = arm >= 0
    if not fast and np.any(on):
        phi[on], r[on] = model.arm_source_positions(t[on], r1[on], arm[on], s[on])
    return r, phi, arm, t


def sample_near(model, rate, T, rng, radius, age_edges):
    """Sources within ``radius`` of the Sun's axis, and the numbers of the rest by age.

    A Poisson process restricted to disjoint regions gives independent Poisson
    processes, so this draws exactly (i) the sources inside the latent region S
    of :func:`near_region` (by thinning a uniform envelope in (part of S,
    latent radius, age) with the Gamma pdf, and for arm sources with the event
    that r' + s, s ~ Normal(0, sigma_arm), falls in the annulus; proposals come
    in age order, so no sort is needed), split into those within ``radius`` of
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
    check_model("model", model)
    rate = v.positive("rate", v.as_float("rate", rate))
    reg = near_region(model, radius, T)
    edges = _check_edges(age_edges, reg.T, exact=True)
    rng = as_rng(rng)
    r, phi, arm, t = _draw_in_S(model, rate, reg, rng)
    x, y, z = _fast.xy_heights(rng, r, phi, model.z_g)
    # the draw keeps ages ascending, and so does the order-preserving split: no sort, and the
    # catalogues need no re-validation
    parts = _fast.split_near(x, y, z, t, arm, R_SUN, reg.radius)
    near = Catalogue._trusted(*parts[:5], 0.0, reg.T, model)
    rest = Catalogue._trusted(*parts[5:], 0.0, reg.T, model)
    counts = rng.poisson(rate * (1.0 - reg.p_S) * np.diff(edges))
    return near, rest, counts, reg


def _outside_bin(model, rng, region, lo, hi, need):
    """``need`` sources with ages uniform in (lo, hi) drawn from the latent law outside S."""
    shape, scale = model.radial_law()
    f_arm = model.arm_fraction
    sig = model.arm_sigma if f_arm > 0 else 0.0
    parts = []
    while need > 0:
        m = int(need / max(1.0 - region.p_S, 1e-3) * 1.1) + 16
        r = rng.gamma(shape, scale, m)
        phi = rng.uniform(-math.pi, math.pi, m)
        arm = np.where(rng.random(m) < f_arm, rng.integers(0, 4, m), -1).astype(np.int64)
        s = sig * rng.standard_normal(m)
        t = rng.uniform(lo, hi, m)
        disk = arm < 0
        inside = disk & (r >= region.a) & (r <= region.b) & (np.abs(phi) <= region.half_angle)
        land = (r + s >= region.a) & (r + s <= region.b)
        for k, r_lo, r_hi, _ in region.arm_intervals:
            inside |= (arm == k) & (r >= r_lo) & (r <= r_hi) & land
        ok = np.nonzero(~inside)[0][:need]
        r, phi, arm, s, t = r[ok], phi[ok], arm[ok], s[ok], t[ok]
        on = arm >= 0
        if np.any(on):
            phi[on], r[on] = model.arm_source_positions(t[on], r[on], arm[on], s[on])
        parts.append((r * np.cos(phi), r * np.sin(phi), rng.laplace(0.0, model.z_g, ok.size),
                      t, arm))
        need -= ok.size
    return parts


def sample_outside(model, rng, region, age_edges, counts):
    """Positions of the ``counts[i]`` sources outside S with ages in bin i.

    Drawn from the model's full latent law and kept when outside the region S
    of ``region`` (exact conditional sampling by rejection; S holds a small
    part of the law).
    """
    check_model("model", model)
    if not isinstance(region, NearRegion) or region != near_region(model, region.radius, region.T):
        raise ValueError("region must be near_region(model, radius, T) of this model")
    rng = as_rng(rng)
    edges = _check_edges(age_edges, region.T, exact=False)
    counts = np.asarray(counts)
    if counts.shape != (edges.size - 1,) or np.iscomplexobj(counts) or np.any(counts < 0) \
            or not np.all(counts == np.floor(counts)):
        raise ValueError(f"counts must be {edges.size - 1} non-negative integers, got {counts!r}")
    counts = counts.astype(np.int64)
    parts = []
    for i in np.nonzero(counts)[0]:
        parts += _outside_bin(model, rng, region, edges[i], edges[i + 1], int(counts[i]))
    if not parts:
        e = np.empty(0)
        return _catalogue(model, e, e, e, e, np.empty(0, np.int64), float(edges[-1]))
    x, y, z, t, arm = (np.concatenate(p) for p in zip(*parts))
    return _catalogue(model, x, y, z, t, arm, float(edges[-1]))
