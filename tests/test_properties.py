"""Property-based tests (hypothesis; profiles in conftest.py) over the valid domains of the
diffusion models, the samplers, the estimators, the observable, the large-scale integrals and
the cache: finite results, documented bounds, monotonicity and identities, and a ValueError
naming the parameter for every invalid input kind (issue 17)."""

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from crlib import _cache
from crlib import anisotropy as A
from crlib import diffusion as Dm
from crlib import largescale as L
from crlib import observable as O
from crlib import sources as S
from crlib import species as Sp
from crlib.galaxy import R_SUN
from crlib.units import GeV, c_light, muG

FMAX_LOG = math.log(np.finfo(float).max)


def logu(lo, hi):
    """Log-uniform floats in [10^lo, 10^hi]."""
    return st.floats(lo, hi, allow_nan=False).map(lambda x: 10.0 ** x)


energy = logu(-3, 12)           # GeV
charge = st.integers(1, 92).map(float)
slope = st.floats(0.0, 0.999)
coeff = logu(-6, 3)             # kpc^2/Myr
field = logu(-2, 2).map(lambda b: b * muG)
unit3 = st.tuples(*[st.floats(-1.0, 1.0)] * 3).map(np.array).filter(lambda v: np.linalg.norm(v) > 1e-3)
vec3 = st.tuples(*[st.floats(-1e300, 1e300, allow_subnormal=False)] * 3).map(np.array)


def named(name):
    return re.compile(rf"(^|[^A-Za-z0-9_]){re.escape(name)}($|[^A-Za-z0-9_])")


@dataclass(frozen=True)
class OnlyD:
    """A model exposing only D (no power_law): transition_energy must solve numerically."""
    m: object

    def D(self, E, Z=1.0):
        return self.m.D(E, Z)


# ----------------------------------------------------------------------------- diffusion
@given(D0=coeff, delta=slope, R0=logu(-1, 2), E=logu(-300, 300), Z=charge)
def test_power_law_D_is_finite_positive_or_named_error(D0, delta, R0, E, Z):
    m = Dm.PowerLawDiffusion(D0, delta, R0)
    log_expected = math.log(D0) + delta * (math.log(E) - math.log(Z) - math.log(R0))
    try:
        d = m.D(E, Z)
    except ValueError as exc:
        assert named("E").search(str(exc))
        assert not -707.0 < log_expected < 708.0        # refused only when truly unrepresentable
        return
    assert math.isfinite(d) and d > 0
    assert math.log(d) == pytest.approx(log_expected, rel=1e-12, abs=1e-12)


@given(D0=coeff, delta=slope, E1=energy, E2=energy, Z=charge)
def test_power_law_D_monotone_and_a_function_of_rigidity(D0, delta, E1, E2, Z):
    m = Dm.PowerLawDiffusion(D0, delta)
    lo, hi = sorted((E1, E2))
    assert m.D(lo, Z) <= m.D(hi, Z)
    assert m.D(E1, Z) == pytest.approx(m.D(E1 / Z, 1.0), rel=1e-12)


@given(D0=coeff, delta=slope, B=field, Z=charge)
def test_transition_energy_is_the_root_or_a_named_error(D0, delta, B, Z):
    m = Dm.PowerLawDiffusion(D0, delta)
    try:
        Et = Dm.transition_energy(m, Z, B)
    except ValueError as exc:
        assert str(exc).startswith("delta = ")
        a = math.log(3 * Dm.e_charge / c_light * D0 * B)
        logE = math.log(Z) + a / (1 - delta)                 # R0 = 1 GeV
        assert not -706.0 < logE < 708.0
        return
    assert math.isfinite(Et) and Et > 0
    assert Dm.larmor_radius(Et, Z, B) == pytest.approx(Dm.mean_free_path(m, Et, Z), rel=1e-8)
    # E_t / Z depends on rigidity only
    assert Dm.transition_energy(m, 1.0, B) * Z == pytest.approx(Et, rel=1e-12)


@given(D0=logu(-4, -1), delta=st.floats(0.0, 0.8), B=field)
def test_numerical_transition_agrees_with_closed_form(D0, delta, B):
    m = Dm.PowerLawDiffusion(D0, delta)
    Et = Dm.transition_energy(m, 1.0, B)
    assume(1e-2 < Et < 1e14)                                  # inside the numerical bracket
    assert Dm.transition_energy(OnlyD(m), 1.0, B) == pytest.approx(Et, rel=1e-9)


@given(D0=logu(-4, 0), delta=st.floats(0.0, 0.9), B=field, E1=energy, E2=energy, Z=charge)
def test_kneebreak_monotone_continuous_and_E2_above(D0, delta, B, E1, E2, Z):
    base = Dm.PowerLawDiffusion(D0, delta)
    try:
        kb = Dm.KneeBreak(base, B)
        Et = kb.transition_energy(Z)
    except ValueError as exc:
        assert str(exc).startswith("delta = ")
        return
    lo, hi = sorted((E1, E2))
    try:
        d_lo, d_hi = kb.D(lo, Z), kb.D(hi, Z)
    except ValueError as exc:
        assert named("E").search(str(exc))
        return
    assert 0 < d_lo <= d_hi * (1 + 1e-12) and math.isfinite(d_hi)
    assert kb.D(Et, Z) == pytest.approx(base.D(Et, Z), rel=1e-12)
    if lo > Et:
        assert d_hi / d_lo == pytest.approx((hi / lo) ** 2, rel=1e-9)
    if hi <= Et:
        assert d_hi == pytest.approx(base.D(hi, Z), rel=1e-12)
    assert Dm.transition_energy(kb, Z) == Et


@given(E=energy, Z=charge, E1=energy)
def test_escape_time_bounds_and_monotone(E, Z, E1):
    T_ST, tau, EM, E0 = 1e-3, 0.03, 3e6, 1.0
    t = Dm.escape_time(E, Z, T_ST, EM, E0, tau)
    if E >= Z * E0 * (1 + 1e-9):
        assert T_ST * (1 - 1e-12) <= t <= tau * (1 + 1e-9)
    elif E < Z * E0 * (1 - 1e-9):
        assert t == math.inf
    if E >= Z * EM:
        assert t == pytest.approx(T_ST, rel=1e-12)
    lo, hi = sorted((E, E1))
    assert Dm.escape_time(hi, Z, T_ST, EM, E0, tau) <= Dm.escape_time(lo, Z, T_ST, EM, E0, tau)


BAD = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 1 + 1j, "x", None, [1.0, 2.0]])


@given(bad=BAD, which=st.sampled_from(["D0", "delta", "R0"]))
def test_power_law_constructor_refuses_every_bad_kind(bad, which):
    kw = dict(D0=0.01, delta=0.3, R0=1.0)
    kw[which] = bad
    with pytest.raises(ValueError, match=named(which)):
        Dm.PowerLawDiffusion(**kw)


@given(bad=BAD, which=st.sampled_from(["E", "Z"]))
def test_D_refuses_every_bad_kind(bad, which):
    kw = dict(E=1e3, Z=1.0)
    kw[which] = bad
    for m in (Dm.SHDiffusion(), Dm.KneeBreak(Dm.SHDiffusion())):
        if isinstance(bad, list):
            kw[which] = np.ones(3) if which == "Z" else np.ones(2)
            kw["Z" if which == "E" else "E"] = np.ones(2) if which == "Z" else np.ones(3)
        with pytest.raises(ValueError, match=named(which)):
            m.D(**kw)


# ----------------------------------------------------------------------------- samplers
MODELS = st.sampled_from([S.Cylindrical(), S.ExponentialDisk(), S.SpiralArms(w=2.8), S.SpiralArms(w=5.0)])


@given(model=MODELS, rate=logu(-1, 3), T=logu(-2, 1), seed=st.integers(0, 2**32 - 1))
def test_sample_is_finite_sorted_and_inside_its_support(model, rate, T, seed):
    cat = S.sample(model, rate, T, np.random.default_rng(seed))
    n = len(cat.t)
    assert all(len(a) == n for a in (cat.x, cat.y, cat.z))
    assert np.all(np.isfinite(cat.x) & np.isfinite(cat.y) & np.isfinite(cat.z))
    assert np.all((cat.t > 0) & (cat.t <= T)) and np.all(np.diff(cat.t) >= 0)
    # Poisson count: within 8 sigma of rate T (a bound that fails with probability < 1e-14)
    mu = rate * T
    assert abs(n - mu) <= 8 * math.sqrt(mu) + 8


@given(model=MODELS, rate=logu(0, 2), T=logu(-1, 1), seed=st.integers(0, 2**32 - 1),
       t_frac=st.floats(0.05, 1.0))
def test_sample_t_max_respects_its_window(model, rate, T, seed, t_frac):
    cat = S.sample(model, rate, T, np.random.default_rng(seed), t_max=t_frac * T)
    assert np.all((cat.t > 0) & (cat.t <= t_frac * T))


# ----------------------------------------------------------------------------- estimators
@given(n=logu(-10, 10), g=st.tuples(*[st.floats(-1e100, 1e100)] * 3).map(np.array), D=coeff)
def test_dipole_single_species_forms_agree_and_scale_free(n, g, D):
    d1 = A.dipole(np.array([[n]]), g.reshape(1, 1, 3), np.array([[D]]))[0]
    d2 = A.dipole_single(n, g, D)
    # atol: below 1e-300 the results are subnormal and lose relative precision
    np.testing.assert_allclose(d1, d2, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(A.dipole_single(3.0 * n, 3.0 * g, D), d2, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(d2, 3 * D * g / (c_light * n), rtol=1e-12, atol=1e-300)


@given(ns=st.lists(logu(-5, 5), min_size=2, max_size=5), seed=st.integers(0, 2**31))
def test_all_particle_dipole_is_the_density_weighted_mean(ns, seed):
    rng = np.random.default_rng(seed)
    k = len(ns)
    n = np.array(ns)[:, None]
    grad = rng.normal(size=(k, 1, 3))
    D = rng.uniform(0.01, 1.0, size=(k, 1))
    d = A.dipole(n, grad, D)[0]
    singles = np.array([A.dipole_single(n[i, 0], grad[i, 0], D[i, 0]) for i in range(k)])
    np.testing.assert_allclose(d, (n[:, 0, None] * singles).sum(0) / n.sum(), rtol=1e-10, atol=1e-300)


@given(v=vec3, huge=logu(0, 300))
def test_dipole_overflow_is_refused_not_inf(v, huge):
    assume(np.any(v != 0))
    try:
        d = A.dipole_single(1e-300, v / np.max(np.abs(v)) * huge, 1e3)
    except ValueError as exc:
        assert "overflows" in str(exc)
    else:
        assert np.all(np.isfinite(d))


@given(v=vec3)
def test_amplitude_and_phases(v):
    a = A.amplitude(v)
    assert a >= 0 and a == pytest.approx(math.hypot(*v), rel=1e-12)
    pm, ps, pb = A.phase_max_intensity(v), A.phase_streaming(v), A.phase_ba(v)
    assert -math.pi <= pm <= math.pi and -math.pi <= ps <= math.pi and -math.pi / 2 <= pb <= math.pi / 2
    if v[0] != 0 or v[1] != 0:
        assert math.cos(pm - ps) == pytest.approx(-1.0, abs=1e-12)        # opposite directions
        assert math.sin(2 * (pm - pb)) == pytest.approx(0.0, abs=1e-9)    # equal modulo pi


@given(a=unit3, b=unit3, c=logu(-3, 3))
def test_angle_between_bounds_symmetry_and_scaling(a, b, c):
    t = A.angle_between(a, b)
    assert 0.0 <= t <= math.pi
    assert A.angle_between(b, a) == pytest.approx(t, abs=1e-15)
    assert A.angle_between(c * a, b) == pytest.approx(t, abs=1e-12)
    assert A.angle_between(a, -a) == pytest.approx(math.pi, abs=1e-12)
    assert A.angle_between(a, c * a) == pytest.approx(0.0, abs=1e-12)
    assert A.angle_between(1e-200 * a, 1e200 * b) == pytest.approx(t, abs=1e-12)   # no under/overflow
    cos = float(a @ b) / (math.hypot(*a) * math.hypot(*b))
    assert math.cos(t) == pytest.approx(cos, abs=1e-12)


# ----------------------------------------------------------------------------- observable
@given(v=vec3)
def test_equatorial_rotation_preserves_length_and_radec_ranges(v):
    eq = O.galactocentric_to_equatorial(v)
    assert A.amplitude(eq) == pytest.approx(math.hypot(*v), rel=1e-12)
    ra, dec = O.radec(eq)
    assert 0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0
    amp, phase = O.first_harmonic(v)
    assert 0.0 <= phase < 360.0 and amp <= math.hypot(*v) * (1 + 1e-12)
    np.testing.assert_allclose(O.galactic_to_galactocentric(O.galactocentric_to_galactic(v)), v,
                               rtol=0, atol=0)


@given(l=st.floats(-720.0, 720.0), b=st.floats(-90.0, 90.0), amp=logu(-6, 0))
def test_direction_from_lb_round_trip(l, b, amp):
    v = O.direction_from_lb(l, b, amp)
    assert A.amplitude(v) == pytest.approx(amp, rel=1e-12)
    X, Y, Z = O.galactocentric_to_galactic(v) / amp
    assert math.degrees(math.asin(max(-1.0, min(1.0, Z)))) == pytest.approx(b, abs=1e-6)


@given(d1=st.floats(-90.0, 89.0), width=st.floats(1e-9, 180.0))
def test_band_factor_bounds_and_limits(d1, width):
    d2 = min(90.0, d1 + width)
    assume(d2 > d1)
    f = O.band_factor(d1, d2)
    assert 0.0 <= f <= 1.0 + 1e-12
    lo, hi = sorted((abs(d1), abs(d2)))
    # f is a cos-weighted mean of cos(dec) over the band: between its extremes
    cmin = math.cos(math.radians(max(abs(d1), abs(d2))))
    cmax = 1.0 if d1 <= 0 <= d2 else math.cos(math.radians(lo))
    assert cmin - 1e-9 <= f <= cmax + 1e-9


def test_band_factor_full_sky_is_pi_over_4():
    assert O.band_factor(-90.0, 90.0) == pytest.approx(math.pi / 4, rel=1e-15)


# ----------------------------------------------------------------------------- large scale
@given(rho=logu(-3, 1.5), D=logu(-3, 1), H=logu(-0.5, 1), gamma=st.one_of(st.just(0.0), logu(-4, -1)))
def test_green_time_integral_positive_decreasing_and_its_derivative(rho, D, H, gamma):
    F, dF = L.green_time_integral(rho, D, H, gamma)
    assume(F > 1e-250)                                         # beyond, F underflows (defined: 0)
    assert math.isfinite(F) and F > 0 and dF < 0
    h = 1e-5 * rho
    Fp, _ = L.green_time_integral(rho + h, D, H, gamma)
    Fm, _ = L.green_time_integral(rho - h, D, H, gamma)
    assert (Fp - Fm) / (2 * h) == pytest.approx(dF, rel=2e-5, abs=1e-8 * abs(F) / rho)
    # free-space bound (no absorbing boundaries, no losses): F <= 1 / (4 pi D rho)
    assert F <= 1.0 / (4 * math.pi * D * rho) * (1 + 1e-9)
    if gamma == 0.0:
        F2, _ = L.green_time_integral(rho, 2 * D, H, 0.0)
        assert F2 == pytest.approx(F / 2, rel=1e-10)           # F ~ 1/D without losses


@given(x=st.floats(0.3, 0.7), D=logu(-2, 0), H=logu(0, 1), gamma=st.one_of(st.just(0.0), logu(-3, -1)))
def test_image_and_mode_forms_agree_near_the_switch(x, D, H, gamma):
    rho = np.array([x * H])
    fi, di = L._images(rho, D, H, gamma)
    fm, dm = L._modes(rho, D, H, gamma)
    np.testing.assert_allclose(fi, fm, rtol=1e-8)
    np.testing.assert_allclose(di, dm, rtol=1e-7)


@given(tau=logu(-3, 3), D=logu(-3, 0), H=logu(-0.5, 1))
def test_vertical_factor_bounds(tau, D, H):
    g = L.vertical_factor(tau, D, H)
    free = (4 * math.pi * D * tau) ** -0.5
    assert 0.0 <= g <= free * (1 + 1e-9)
    assert L.vertical_factor(2 * tau, D, H) <= g * (1 + 1e-9)


@given(sigma=logu(-4, 2), D=logu(-3, 1))
def test_t_min_identity(sigma, D):
    T = L.t_min(sigma, D)
    assert sigma * T * 4 * math.pi * D * T == pytest.approx(1.0, rel=1e-12)


@given(D=logu(-3, 1), H=logu(-0.5, 1), G1=st.one_of(st.just(0.0), logu(-6, 1)), G2=logu(-6, 1))
def test_disk_density_factor_bounds_and_monotone(D, H, G1, G2):
    f1 = Sp.disk_density_factor(D, H, G1)
    assert 0 < f1 <= H / (2 * D) * (1 + 1e-12)
    if G1 < G2:
        assert Sp.disk_density_factor(D, H, G2) <= f1 * (1 + 1e-12)


@given(E=logu(-3, 12), gamma=st.floats(1.5, 3.5), Z=st.sampled_from(Sp.BA_GROUPS))
def test_injection_shape_bounds(E, gamma, Z):
    s = Sp.injection_shape(E, Z, gamma)
    assert 0.0 <= s <= (E / GeV) ** -gamma * (1 + 1e-12) and math.isfinite(s)


# ----------------------------------------------------------------------------- cache
@dataclass(frozen=True)
class Model:
    a: float
    b: tuple = (1.0, 2.0)


@given(a=st.floats(allow_nan=False), b=st.floats(allow_nan=False))
def test_canonical_is_exact(a, b):
    same = _cache.canonical(Model(a)) == _cache.canonical(Model(b))
    assert same == (float(a).hex() == float(b).hex())
    assert _cache.canonical(Model(a, (a, b))) == _cache.canonical(Model(a, (a, b)))


@given(N=st.integers(1, 4), nE=st.integers(1, 4), ns=st.integers(1, 3), seed=st.integers(0, 2**31),
       corrupt=st.sampled_from(["none", "shape", "dtype", "nan", "energies", "negative", "far"]))
def test_check_arrays_accepts_valid_and_names_every_corruption(N, nE, ns, seed, corrupt):
    rng = np.random.default_rng(seed)
    E = np.sort(rng.uniform(1, 1e6, nE))
    D = rng.uniform(0.01, 1, (ns, nE))
    n = rng.uniform(0, 1, (N, ns, nE))
    n[rng.random((N, ns, nE)) < 0.2] = 0.0
    delta = rng.normal(size=(N, nE, 3))
    delta[n.sum(axis=1) == 0] = np.nan
    arrays = dict(energies=E, delta=delta, n=n, n_sources=rng.integers(0, 9, N),
                  far_age=rng.uniform(0.1, 5.0, N), D=D)
    assert _cache.check_arrays(arrays, E, N, D, 5.0) is None
    if corrupt == "none":
        return
    bad = dict(arrays)
    if corrupt == "shape":
        bad["delta"] = delta[:, :, :2]
    elif corrupt == "dtype":
        bad["n"] = n.astype(np.float32)
    elif corrupt == "nan":
        arrived = np.argwhere(n.sum(axis=1) > 0)
        assume(len(arrived))
        d = delta.copy()
        d[tuple(arrived[0])] = np.nan
        bad["delta"] = d
    elif corrupt == "energies":
        bad["energies"] = E * (1 + 1e-15) + 1e-9
    elif corrupt == "negative":
        bad["n"] = n - 2.0
    elif corrupt == "far":
        bad["far_age"] = arrays["far_age"] + 10.0
    assert _cache.check_arrays(bad, E, N, D, 5.0) is not None


NEAR_MODELS = st.sampled_from([S.Cylindrical(), S.ExponentialDisk(), S.MovingSpiralArms()])


@given(model=NEAR_MODELS, rate=logu(0, 2.5), T=logu(-1, 1), radius=st.floats(0.2, 3.0),
       nbins=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_sample_near_splits_consistently(model, rate, T, radius, nbins, seed):
    edges = np.concatenate([[0.0], np.geomspace(T / 10 ** nbins, T, nbins)]) if nbins > 1 else np.array([0.0, T])
    near, rest, counts, region = S.sample_near(model, rate, T, np.random.default_rng(seed), radius, edges)
    d2 = lambda c: (c.x - R_SUN) ** 2 + c.y ** 2                       # noqa: E731
    assert np.all(d2(near) < radius ** 2) and np.all(d2(rest) >= radius ** 2)
    for c in (near, rest):
        assert np.all(np.isfinite(c.x) & np.isfinite(c.y) & np.isfinite(c.z))
        assert np.all((c.t >= 0) & (c.t <= T))
    assert counts.shape == (edges.size - 1,) and np.all(counts >= 0)
    assert 0.0 <= region.p_S <= 1.0
    total = len(near.t) + len(rest.t) + int(counts.sum())                 # Poisson(rate T) overall
    mu = rate * T
    assert abs(total - mu) <= 8 * math.sqrt(mu) + 8
