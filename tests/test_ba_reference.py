"""The reference implementation of BA's δA1/δA2 integrals (tests/ba_reference.py):
time-integrated kernels against quadrature, closed forms, and agreement with crlib.largescale."""

import math

import numpy as np
import pytest
from scipy import integrate, special

import ba_reference as an
from crlib.units import c_light, cm2_per_s, kpc, yr


# ============================================================================
# time-integrated kernels against an independent numerical evaluation
# ============================================================================

green = pytest.importorskip("crlib.green")


@pytest.mark.parametrize("rho", [0.003, 0.2, 0.7, 1.3, 5.0])
def test_kernels_against_time_integral_of_slab_green(rho):
    D, H = 0.3, 2.0
    G = lambda tau: float(green.slab_green(rho, 0, 0, 0, 0, 0, tau, D, H))
    quad = lambda f: integrate.quad(lambda s: math.exp(s) * f(math.exp(s)), -35, 12, limit=600, epsrel=1e-12)[0]
    assert an.kernel_density(rho, D, H) == pytest.approx(quad(G), rel=1e-8)
    assert an.kernel_gradient(rho, D, H) == pytest.approx(quad(lambda t: G(t) / (2 * D * t)), rel=1e-8)


def test_kernels_continuous_at_the_image_mode_switch():
    D, H = 0.7, 1.5
    r0 = 0.5 * H
    for f in (an.kernel_density, an.kernel_gradient):
        lo, hi = f(r0 * (1 - 1e-9), D, H), f(r0 * (1 + 1e-9), D, H)
        assert hi == pytest.approx(lo, rel=1e-7)


def test_kernel_gradient_is_minus_derivative_of_density_over_rho():
    D, H = 0.05, 1.0
    rho = np.array([0.01, 0.3, 0.8, 2.0, 6.0])
    h = 1e-6 * rho
    deriv = (an.kernel_density(rho + h, D, H) - an.kernel_density(rho - h, D, H)) / (2 * h)
    np.testing.assert_allclose(an.kernel_gradient(rho, D, H), -deriv / rho, rtol=1e-6)


def test_vertical_factor_against_slab_green():
    from crlib.analytic import _vertical_S
    D, H = 0.4, 1.2
    tau = np.logspace(-3, 1.5, 40)  # D tau / H^2 from 3e-4 to 9
    S = _vertical_S(tau, D, H)
    G0 = green.slab_green(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, tau, D, H)  # at rho = 0
    np.testing.assert_allclose(S, (4 * np.pi * D * tau) ** 1.5 * G0, rtol=1e-9)
    # independently: the image sum written out (u small) and the eigenmode sum (u large)
    u = D * tau / H**2
    m = np.arange(1, 40)
    images = 1 + 2 * np.sum((-1.0) ** m * np.exp(-m**2 / u[:, None]), axis=1)
    k = np.arange(1, 80, 2)
    modes = np.sqrt(4 * np.pi * u) * np.sum(np.exp(-k**2 * np.pi**2 * u[:, None] / 4), axis=1)
    np.testing.assert_allclose(S[u < 0.5], images[u < 0.5], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(S[u >= 0.5], modes[u >= 0.5], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("D, H, T", [(0.3, 2.0, 0.01), (0.3, 2.0, 0.5), (3.0, 2.0, 0.3), (1.0, 1.0, 0.8)])
def test_fluctuation_kernel_images_against_quadrature_near_observer(D, H, T):
    rho = np.array([1e-4, 0.3 * math.sqrt(D * T), math.sqrt(D * T), 3 * math.sqrt(D * T), 0.8 * H])
    a = an.kernel_fluctuation(rho, D, H, T, method="images")
    b = an.kernel_fluctuation(rho, D, H, T, method="quadrature")
    # the image truncation is relative to g_2(0) (pointwise accuracy degrades for rho >~ H)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9 * b[0])
    # and the quadrature against scipy's adaptive quad of the defining integral
    from crlib.analytic import _vertical_S
    for r, bi in zip(rho, b):
        f = lambda s: math.exp(-4 * s) * math.exp(-r**2 / (2 * D * T * math.exp(s))) * _vertical_S(T * math.exp(s), D, H) ** 2
        q = integrate.quad(f, 0, 60, limit=800, epsrel=1e-12, points=np.arange(1.0, 40.0, 1.5))[0]
        q *= T**-4 / ((4 * math.pi * D) ** 3 * 4 * D**2)
        assert bi == pytest.approx(q, rel=1e-9)


def test_fluctuation_kernel_leading_image_term_is_ba_eq39_integrand():
    # with H^2/(D T) >> 1 only l = m = 0 survives: g_2 = (4 pi D)^-3 (2D)^-2 gamma(4, b/T)/b^4
    D, H, T = 0.02, 4.0, 0.3
    rho = np.array([1e-3, 0.05, 0.1, 0.3])
    b = rho**2 / (2 * D)
    lead = special.gammainc(4, b / T) * special.gamma(4) / b**4 / ((4 * np.pi * D) ** 3 * 4 * D**2)
    np.testing.assert_allclose(an.kernel_fluctuation(rho, D, H, T), lead, rtol=1e-9)


# ============================================================================
# BA decomposition: uniform disk, exponential gradient, cylindrical model
# ============================================================================

RATE = 1 / (30 * yr)


def test_uniform_disk_mean_density_zero_large_scale_and_eq313():
    R_d, H = 40 * kpc, 2 * kpc
    D = np.array([0.002, 0.02, 0.2])
    res = an.ba_decomposition(an.uniform_disk(RATE, R_d), D, H)
    # T_min defaults to BA eq. 3.12 (local rate = R / pi R_d^2)
    np.testing.assert_allclose(res.T_min, an.ba_T_min(RATE, D, R_d), rtol=1e-12)
    # BA eq. 3.10 (H << R_d, observer 31.5 kpc from the edge)
    np.testing.assert_allclose(res.n, an.ba_mean_density(1.0, RATE, H, D, R_d), rtol=1e-6)
    # no large-scale anisotropy far from the edge
    assert np.all(res.delta_A1 < 1e-8 * res.delta_A2)
    # BA eq. 3.13, valid to O(D T_min / H^2) (here <= 1.2e-2, image terms exp(-H^2/D T_min) ~ 0)
    u = D * res.T_min / H**2
    assert np.all(u < 0.02)
    np.testing.assert_allclose(res.delta_A2, an.ba_delta_A2(D, H), rtol=1e-3)


@pytest.mark.parametrize("H, D", [(0.5, 0.2), (1.0, 2.0), (3.0, 0.01)])
def test_uniform_disk_fluctuation_against_full_image_sum_of_eq38(H, D):
    R_d = 40 * kpc
    res = an.ba_decomposition(an.uniform_disk(RATE, R_d), D, H)
    full = an.ba_current_fluctuation_full(1.0, RATE, D, H, res.T_min[0], R_d)
    assert res.dgrad2[0] * D**2 == pytest.approx(full, rel=1e-7)


def test_exponential_surface_density_gives_exact_gradient():
    # Sigma = S0 exp(g (x - R_sun)) (unbounded): n = S0 tan(gH)/(2 D g), grad n / n = g x_hat exactly
    S0, g, H = 50.0, 0.2, 2.0
    D = np.array([0.01, 0.3])
    res = an.ba_decomposition(lambda x, y: S0 * np.exp(g * (x - 8.5)), D, H, rho_max=80.0)
    np.testing.assert_allclose(res.n, S0 * np.tan(g * H) / (2 * D * g), rtol=1e-6)
    np.testing.assert_allclose(res.delta1[:, 0], 3 * D * g / c_light, rtol=1e-6)
    np.testing.assert_allclose(res.delta1[:, 1:], 0.0, atol=1e-12 * np.max(res.delta_A1))


def _cylindrical(beta=3.53, R_sun=8.5):
    # BA eq. 4.1 times the Galactic rate (independent of crlib.sources)
    A = beta**4 * math.exp(-beta) / (12 * math.pi)
    return lambda x, y: RATE * A / R_sun**2 * (np.hypot(x, y) / R_sun) ** 2 * np.exp(
        -beta * (np.hypot(x, y) - R_sun) / R_sun)


def test_cylindrical_normalisation_of_the_test_model():
    f = _cylindrical()
    tot = integrate.quad(lambda r: 2 * math.pi * r * f(r, 0.0), 0, 200)[0]
    assert tot == pytest.approx(RATE, rel=1e-10)


def test_cylindrical_large_scale_dipole_points_to_inner_galaxy_and_ba7_trends():
    E = np.logspace(3, 8, 6)
    out = {}
    for H in (1.0, 2.0, 10.0):
        D = 1.33 * H * 1e28 * cm2_per_s * (E / 3.0) ** (1 / 3)
        res = an.ba_decomposition(_cylindrical(), D, H)
        # max-intensity vector along -x (towards the Galactic centre), no y component by symmetry
        assert np.all(res.delta1[:, 0] < 0)
        np.testing.assert_allclose(res.delta1[:, 1], 0.0, atol=1e-10 * res.delta_A1.max())
        np.testing.assert_allclose(np.abs(an.phase_max_intensity(res.delta1)), np.pi, atol=1e-9)
        np.testing.assert_allclose(an.phase_streaming(res.delta1), 0.0, atol=1e-9)
        # with Gamma = 0 the large-scale part is proportional to D
        np.testing.assert_allclose(res.delta_A1 / D, res.delta_A1[0] / D[0], rtol=1e-10)
        out[H] = res
    # BA §5: delta_A1 grows with H, delta_A2 nearly H independent (D28 ∝ H), delta_A1 dominant at H = 10 kpc
    assert np.all(out[10.0].delta_A1 > 3 * out[1.0].delta_A1)
    assert np.all(out[10.0].delta_A2 < 1.6 * out[1.0].delta_A2)
    assert np.all(out[10.0].delta_A1 > 3 * out[10.0].delta_A2)
    assert np.all(out[1.0].delta_A1 < 1.5 * out[1.0].delta_A2)


def test_decomposition_grid_convergence():
    f = _cylindrical()
    D = np.array([0.05, 5.0])
    a = an.ba_decomposition(f, D, 2.0)
    b = an.ba_decomposition(f, D, 2.0, n_rho=801, n_phi=512)
    np.testing.assert_allclose(a.delta_A1, b.delta_A1, rtol=1e-6)
    np.testing.assert_allclose(a.delta_A2, b.delta_A2, rtol=1e-6)


def test_decomposition_agrees_with_crlib_largescale():
    # two independent implementations of BA eqs. 3.3-3.6 (different image acceleration,
    # radial grids and time quadrature)
    ls = pytest.importorskip("crlib.largescale")
    E = np.logspace(3, 8, 5)
    for H in (1.0, 10.0):
        D = 1.33 * H * 1e28 * cm2_per_s * (E / 3.0) ** (1 / 3)
        other = ls.decomposition(E, lambda e, z: 1.33 * H * 1e28 * cm2_per_s * (e / 3.0) ** (1 / 3), H,
                                 _cylindrical())
        mine = an.ba_decomposition(_cylindrical(), D, H)
        np.testing.assert_allclose(mine.T_min, other.T_min, rtol=1e-10)
        np.testing.assert_allclose(mine.n, other.n, rtol=1e-5)
        np.testing.assert_allclose(mine.delta_A1, other.dA1, rtol=2e-4)
        np.testing.assert_allclose(mine.delta_A2, other.dA2, rtol=1e-5)


def test_t_min_is_ba_eq312_condition():
    from crlib.largescale import t_min
    D, sig = np.array([0.01, 1.0, 30.0]), 47.0
    T = t_min(sig, D)
    np.testing.assert_allclose(sig * T * 4 * np.pi * D * T, 1.0, rtol=1e-12)
    R_d = 15 * kpc
    np.testing.assert_allclose(t_min(RATE / (np.pi * R_d**2), D), an.ba_T_min(RATE, D, R_d), rtol=1e-12)


def test_monte_carlo_current_variance_matches_eq39():
    # uniform thin disk, sources in a window T_min < age < 10 T_min and rho < r_w around the observer
    R_d, H, D = 15 * kpc, 4 * kpc, 2.6
    T = an.ba_T_min(RATE, D, R_d)
    t_max = 10 * T
    r_w = math.sqrt(60 * D * t_max)
    lam = RATE / (math.pi * R_d**2) * math.pi * r_w**2 * (t_max - T)
    rng = np.random.default_rng(np.random.SeedSequence(20120111))
    M = 1500
    N = rng.poisson(lam, M)
    r = r_w * np.sqrt(rng.random(N.sum()))
    ph = 2 * np.pi * rng.random(N.sum())
    t = rng.uniform(T, t_max, N.sum())
    g = green.slab_green_gradient(8.5, 0.0, 0.0, 8.5 + r * np.cos(ph), r * np.sin(ph), 0.0, t, D, H)
    idx = np.repeat(np.arange(M), N)
    J = -D * np.stack([np.bincount(idx, g[:, c], minlength=M) for c in range(3)], axis=1)
    v = np.sum((J - J.mean(axis=0)) ** 2, axis=1)
    err = v.std() / math.sqrt(M)
    pred = an.ba_current_fluctuation(1.0, RATE, D, T, R_d) * (1 - (T / t_max) ** 2)
    assert abs(v.mean() - pred) < 4 * err
    assert err < 0.06 * pred


@pytest.mark.parametrize("call, name", [
    (lambda: an.ba_decomposition("not callable", 0.1, 2.0), "surface_rate"),
    (lambda: an.ba_decomposition(_cylindrical(), -0.1, 2.0), "D"),
    (lambda: an.ba_decomposition(_cylindrical(), 0.1, 0.0), "H"),
    (lambda: an.ba_decomposition(_cylindrical(), 0.1, 2.0, T_min=-1.0), "T_min"),
    (lambda: an.ba_decomposition(_cylindrical(), 0.1, 2.0, observer=(8.5, 0, 0.1)), "observer"),
    (lambda: an.ba_decomposition(_cylindrical(), 0.1, 2.0, n_rho=400), "n_rho"),
    (lambda: an.ba_decomposition(_cylindrical(), 0.1, 2.0, rho_min=100.0), "rho_min"),
    (lambda: an.ba_decomposition(lambda x, y: 0 * x, 0.1, 2.0), "surface_rate"),
    (lambda: an.ba_decomposition(lambda x, y: -1 + 0 * x, 0.1, 2.0, T_min=1.0), "surface_rate"),
    (lambda: an.kernel_density(-1.0, 0.1, 2.0), "rho"),
    (lambda: an.kernel_gradient(1.0, 0.1, float("nan")), "H"),
    (lambda: an.kernel_fluctuation(1.0, 0.1, 2.0, 0.0), "T_min"),
    (lambda: an.kernel_fluctuation(1.0, 0.1, 2.0, 1.0, method="bessel"), "method"),
    (lambda: an.uniform_disk(0.0, 15.0), "rate"),
])
def test_bad_input_names_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
