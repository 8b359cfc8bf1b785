"""Species groups: measured fluxes, spallation rates, the disk density factor, normalisation."""

import numpy as np
import pytest

from crlib import species as sp
from crlib.units import PeV, TeV, c_light, cm2_per_s, kpc, m, s, yr


@pytest.mark.parametrize("name, flux_per_m2_s_sr_TeV", [
    ("H", 8.73e-2), ("He", 5.71e-2), ("CNO", 2.87e-2), ("MgAlSi", 1.71e-2), ("Fe", 2.04e-2),
])
def test_group_fluxes_at_1TeV_match_model_md(name, flux_per_m2_s_sr_TeV):
    group = {g.name: g for g in sp.BA_GROUPS}[name]
    F = group.measured_flux(1 * TeV) * (m**2 * s * TeV)
    assert F == pytest.approx(flux_per_m2_s_sr_TeV, rel=3e-3)


def test_measured_flux_is_vectorised_and_falls_like_a_power_law():
    E = np.array([1e3, 1e4])
    F = sp.BA_GROUPS[0].measured_flux(E)
    assert F.shape == (2,)
    # poly-gonato proton index 2.71 well below the knee
    assert np.log10(F[0] / F[1]) == pytest.approx(2.71, abs=0.01)


def test_spallation_rate_of_iron_by_hand_in_cgs():
    # n_eff = 1 cm^-3 * 0.15/4, sigma = 45 mb * 56^0.7, c in cm/s -> per s -> per Myr
    sigma_cm2 = 45e-27 * 56**0.7
    rate_per_s = (0.15 / 4.0) * sigma_cm2 * 2.99792458e10
    rate_per_myr = rate_per_s * 3.15576e13
    fe = sp.BA_GROUPS[-1]
    assert sp.spallation_rate(fe, 4.0 * kpc) == pytest.approx(rate_per_myr, rel=1e-6)


def test_spallation_scales_inversely_with_halo_height():
    he = sp.BA_GROUPS[1]
    assert sp.spallation_rate(he, 1.0) == pytest.approx(4 * sp.spallation_rate(he, 4.0))


def test_disk_density_factor_against_eigenmode_series():
    # Independent: n(0)/q = sum over odd k of (1/H) / (D (k pi / 2H)^2 + Gamma)
    D, H = 0.5, 3.0
    k = np.arange(1, 400001, 2)
    for Gamma in (0.0, 0.01, 0.3):
        series = np.sum((1.0 / H) / (D * (k * np.pi / (2 * H)) ** 2 + Gamma))
        assert sp.disk_density_factor(D, H, Gamma) == pytest.approx(series, rel=1e-5)


def test_disk_density_factor_without_losses_is_H_over_2D():
    assert sp.disk_density_factor(0.2, 4.0, 0.0) == pytest.approx(4.0 / 0.4, rel=1e-14)
    assert sp.disk_density_factor(0.2, 4.0, 1e-12) == pytest.approx(10.0, rel=1e-9)


def test_normalisation_reproduces_the_measured_densities():
    groups = sp.BA_GROUPS
    H, gamma = 4.0, 2.67 - 1 / 3
    Z = np.array([g.Z for g in groups])
    D_ref = 1e28 * 1.33 * H * (1 * TeV / Z / 3.0) ** (1 / 3) * cm2_per_s
    local_rate = 1 / (30 * yr) / (np.pi * 15.0**2)
    K = sp.normalise_injection(groups, D_ref, H, local_rate, gamma)
    for g, Kk, Dk in zip(groups, K, D_ref):
        n = local_rate * Kk * sp.injection_shape(1 * TeV, g, gamma) * sp.disk_density_factor(
            Dk, H, sp.spallation_rate(g, H))
        assert n == pytest.approx(4 * np.pi * g.measured_flux(1 * TeV) / c_light, rel=1e-12)
    assert np.all(K > 0)


def test_cutoff_scales_with_charge():
    fe = sp.BA_GROUPS[-1]
    E = 26 * 3 * PeV
    assert sp.injection_shape(E, fe, 0.0) == pytest.approx(np.exp(-1.0))


@pytest.mark.parametrize("call, name", [
    (lambda: sp.spallation_rate(sp.BA_GROUPS[0], -1.0), "H"),
    (lambda: sp.spallation_rate(sp.BA_GROUPS[0], 0.1), "h_gas"),
    (lambda: sp.disk_density_factor(0.0, 1.0, 0.0), "D"),
    (lambda: sp.disk_density_factor(1.0, 1.0, -1.0), "Gamma"),
    (lambda: sp.injection_shape(-1.0, sp.BA_GROUPS[0], 2.0), "E"),
    (lambda: sp.Species("X", 3, 2, ()), "A"),
    (lambda: sp.normalise_injection(sp.BA_GROUPS, [1.0, 1.0], 4.0, 1.0, 2.3), "D_ref"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
