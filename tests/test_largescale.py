"""Large-scale (dA1) and fluctuation (dA2) anisotropy integrals against BA eqs. 3.9-3.13 and quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate

from crlib import analytic as A
from crlib import largescale as L
from crlib.diffusion import BADiffusion
from crlib.galaxy import R_SUN
from crlib.green import observe, slab_green
from crlib.sources import Cylindrical, sample
from crlib.units import c_light, yr

R_D, RATE = 60.0, 1000.0          # uniform disk around the observer: kpc, 1/Myr
SIG0 = RATE / (math.pi * R_D**2)


def _uniform(x, y):
    """Sigma = R / (pi R_d^2) inside a disk of radius R_d centred on the Sun (BA eq. 3.7)."""
    return np.where((x - R_SUN) ** 2 + y**2 < R_D**2, SIG0, 0.0)


@pytest.fixture(scope="module")
def uniform():
    return L.ObserverGrid.build(_uniform, rho_max=R_D)


@pytest.fixture(scope="module")
def cyl():
    return L.ObserverGrid.build(Cylindrical(), 1 / (30 * yr))


# ---------------------------------------------------------------------------- Green function
@pytest.mark.parametrize("gamma", [0.0, 0.3])
def test_image_and_mode_forms_agree_at_the_switch(gamma):
    D, H = 0.7, 2.0
    rho = np.array([0.3, 0.5, 1.0, 2.0]) * H
    fi, di = L._images(rho, D, H, gamma)
    fm, dm = L._modes(rho, D, H, gamma)
    np.testing.assert_allclose(fi, fm, rtol=1e-12)
    np.testing.assert_allclose(di, dm, rtol=1e-12)


@pytest.mark.parametrize("rho", [0.05, 0.9, 3.0])
def test_time_integral_against_quadrature_of_slab_green(rho):
    D, H, gamma = 0.7, 2.0, 0.1
    f = lambda lt: math.exp(lt) * slab_green(rho, 0, 0, 0, 0, 0, math.exp(lt), D, H, gamma=gamma)
    q, _ = integrate.quad(f, -25, 8, limit=400, epsabs=0, epsrel=1e-11)
    F, dF = L.green_time_integral(rho, D, H, gamma)
    assert F == pytest.approx(q, rel=1e-9)
    h = 1e-5 * rho                                     # derivative by central differences
    Fp, _ = L.green_time_integral(rho + h, D, H, gamma)
    Fm, _ = L.green_time_integral(rho - h, D, H, gamma)
    assert dF == pytest.approx((Fp - Fm) / (2 * h), rel=1e-6)


def test_mean_density_of_a_ring_against_area_and_time_quadrature():
    """<n> for a Gaussian ring of sources around the observer: closed form vs slab_green quadrature."""
    D, H, rho0, w = 0.5, 1.0, 1.5, 0.2
    ring = lambda x, y: np.exp(-0.5 * ((np.hypot(x - R_SUN, y) - rho0) / w) ** 2)
    n = L.mean_density(ring, D, H, grid_kw=dict(rho_max=4.0))
    xg, wg = np.polynomial.legendre.leggauss(48)
    r = rho0 + 6 * w * xg
    direct = 0.0
    for ri, wi in zip(r, wg * 6 * w):
        f = lambda lt: math.exp(lt) * slab_green(ri, 0, 0, 0, 0, 0, math.exp(lt), D, H)
        q, _ = integrate.quad(f, -20, 6, limit=300, epsabs=0, epsrel=1e-10)
        direct += wi * 2 * math.pi * ri * math.exp(-0.5 * ((ri - rho0) / w) ** 2) * q
    assert n == pytest.approx(direct, rel=1e-7)


# ---------------------------------------------------------------------------- uniform disk
def test_t_min_reduces_to_BA_3_12(uniform):
    D = np.array([0.01, 1.0, 30.0])
    np.testing.assert_allclose(L.t_min(uniform.sigma_sun, D), A.ba_T_min(RATE, D, R_D), rtol=1e-12)


@pytest.mark.parametrize("H", [0.5, 3.0])
def test_uniform_disk_mean_density_is_BA_3_10_and_mean_current_vanishes(uniform, H):
    D = np.array([0.1, 2.0])
    n = L.mean_density(uniform, D, H)
    np.testing.assert_allclose(n, A.ba_mean_density(1.0, RATE, H, D, R_D), rtol=1e-6)
    r = L.decomposition(np.array([1e3, 1e6]), lambda E, Z: D, H, uniform)
    assert np.all(r.dA1 < 1e-10 * A.ba_delta_A2(D, H))   # <J> = 0 by symmetry (BA §3)


def test_uniform_disk_with_losses_matches_slab_closed_form(uniform):
    """Infinite sheet with losses: <n> = Sigma H/(2D) tanh(s)/s, s = H sqrt(Gamma/D)."""
    D, H, gamma = 0.4, 2.0, 0.3
    s = H * math.sqrt(gamma / D)
    assert L.mean_density(uniform, D, H, gamma=gamma) == pytest.approx(
        SIG0 * H / (2 * D) * math.tanh(s) / s, rel=1e-6)


def test_uniform_disk_current_fluctuation_tends_to_BA_3_9(uniform):
    """<dJ.dJ> -> BA eq. 3.9 as H^2/(D T_min) grows; the image correction is ~ -8 (D T_min/H^2)^2."""
    D = 1.0
    T = A.ba_T_min(RATE, D, R_D)
    devs = []
    for ratio in (10.0, 40.0, 160.0):
        H = math.sqrt(ratio * D * T)
        dJ2 = L.current_fluctuation(uniform, D, H)
        devs.append(dJ2 / A.ba_current_fluctuation(1.0, RATE, D, T, R_D) - 1)
        assert -10 / ratio**2 < devs[-1] < 0
    assert abs(devs[-1]) < 3e-4
    # BA eq. 3.13; at R_d / H = 4.9 the finite disk lowers <n> by ~1e-3 (BA eq. 3.10 needs H << R_d)
    r = L.decomposition(1e4, lambda E, Z: D, math.sqrt(160 * D * T), uniform)
    assert r.dA2[0] == pytest.approx(A.ba_delta_A2(D, math.sqrt(160 * D * T)), rel=2e-3)


def test_explicit_T_min_and_its_scaling(uniform):
    """Far from the halo boundaries <dJ.dJ> ~ T_min^-2 (BA eq. 3.9)."""
    D, H = 1.0, 10.0
    a, b = L.current_fluctuation(uniform, np.array([D, D]), H, T_min=np.array([0.01, 0.02]))
    assert a / b == pytest.approx(4.0, rel=1e-3)


# ---------------------------------------------------------------------------- cylindrical model
def test_cylindrical_current_points_outward_and_dA1_grows_with_H(cyl):
    E = np.array([1e3, 1e5])
    dA1 = []
    for H in (1.0, 2.0, 10.0):
        r = L.decomposition(E, BADiffusion(1 / 3, H), H, cyl)
        assert np.all(r.J[:, 0] > 0)                     # away from the inner Galaxy (+x)
        assert np.all(np.abs(r.J[:, 1]) < 1e-10 * r.J[:, 0])
        np.testing.assert_allclose(r.J[0], r.J[1], rtol=1e-10)   # <J> independent of D (no losses)
        dA1.append(r.dA1[0])
    assert dA1[0] < dA1[1] < dA1[2]


def test_rate_drops_out_of_dA1_and_nearly_of_dA2():
    E = np.array([1e3, 1e6])
    a = L.decomposition(E, BADiffusion(1 / 3, 2.0), 2.0, Cylindrical(), rate=1 / (30 * yr))
    b = L.decomposition(E, BADiffusion(1 / 3, 2.0), 2.0, Cylindrical(), rate=1 / (100 * yr))
    np.testing.assert_allclose(a.dA1, b.dA1, rtol=1e-12)
    np.testing.assert_allclose(a.dA2, b.dA2, rtol=1e-2)    # only via image corrections at T_min (0.5 % here)


def test_grid_convergence(cyl):
    E = np.array([1e3, 1e8])
    ref = L.decomposition(E, BADiffusion(1 / 3, 10.0), 10.0, Cylindrical(), rate=1 / (30 * yr),
                          grid_kw=dict(n_panels=120, n_phi=256, rho_max=60.0))
    r = L.decomposition(E, BADiffusion(1 / 3, 10.0), 10.0, cyl)
    np.testing.assert_allclose(r.dA1, ref.dA1, rtol=1e-5)
    np.testing.assert_allclose(r.dA2, ref.dA2, rtol=1e-5)


def test_cylindrical_mean_density_against_realizations():
    """<n> from the integral against the mean of 10 realizations (crlib.sources.sample + green.observe).

    Sources younger than t_lo are left out of the Monte Carlo (their share is heavy-tailed) and
    their expected contribution Sigma_sun sqrt(t_lo/(pi D)) (free space, H^2/(D t_lo) = 10) is
    taken out of the integral; heights are put at z = 0 (thin disk).
    """
    H, D, rate, t_lo, T = 1.0, 1.0, 1e5, 0.1, 12.0
    g = L.ObserverGrid.build(Cylindrical(), rate)
    expect = L.mean_density(g, D, H) - g.sigma_sun * math.sqrt(t_lo / (math.pi * D))
    rng = np.random.default_rng(20120111)
    ns = []
    for _ in range(10):
        c = sample(Cylindrical(), rate, T, rng)
        m = c.t > t_lo
        n, _ = observe(c.x[m], c.y[m], np.zeros(m.sum()), c.t[m], np.array([D]), H, tol=1e-8)
        ns.append(n[0])
    se = np.std(ns, ddof=1) / math.sqrt(len(ns))
    assert se < 0.03 * expect
    assert abs(np.mean(ns) - expect) < 4 * se + 0.003 * expect


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, name", [
    (lambda: L.green_time_integral(-1.0, 1.0, 1.0), "rho"),
    (lambda: L.green_time_integral(1.0, 0.0, 1.0), "D"),
    (lambda: L.green_time_integral(1.0, 1.0, -2.0), "H"),
    (lambda: L.green_time_integral(1.0, 1.0, 1.0, gamma=-0.1), "gamma"),
    (lambda: L.t_min(0.0, 1.0), "sigma_sun"),
    (lambda: L.mean_density(Cylindrical(), 1.0, 1.0), "rate"),
    (lambda: L.mean_density(_uniform, 1.0, 1.0, rate=3.0), "rate"),
    (lambda: L.mean_density("cyl", 1.0, 1.0), "sources"),
    (lambda: L.mean_density(_uniform, np.nan, 1.0), "D"),
    (lambda: L.mean_density(_uniform, 1.0, 1.0, grid_kw=dict(rho_max=1e-5)), "rho_max"),
    (lambda: L.mean_density(_uniform, 1.0, 1.0, grid_kw=dict(n_phi=0)), "n_phi"),
    (lambda: L.mean_density(lambda x, y: -np.ones_like(x), 1.0, 1.0), "sources"),
    (lambda: L.current_fluctuation(_uniform, 1.0, 1.0, T_min=0.0), "T_min"),
    (lambda: L.decomposition(-1.0, BADiffusion(1 / 3, 1.0), 1.0, _uniform), "E"),
    (lambda: L.decomposition(1e3, BADiffusion(1 / 3, 1.0), 1.0, _uniform, Z=0), "Z"),
    (lambda: L.decomposition(1e3, 3.0, 1.0, _uniform), "diffusion"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
