"""The unit system of :ref:`model-units` against independent values."""

import math

import pytest

from crlib import units as u


def test_speed_of_light_in_kpc_per_myr():
    # 299792.458 km/s * 3.15576e13 s/Myr / 3.0856775814913673e16 km/kpc
    assert u.c_light == pytest.approx(306.60, rel=1e-4)


def test_diffusion_coefficient_conversion():
    assert 1e28 * u.cm2_per_s == pytest.approx(0.033144, rel=1e-4)


def test_myr_in_seconds():
    assert 1 * u.Myr / u.s == pytest.approx(3.15576e13, rel=1e-12)


def test_parsec_in_cm():
    assert u.pc / u.cm == pytest.approx(3.0857e18, rel=1e-4)


def test_energy_ladder():
    assert u.PeV / u.TeV == pytest.approx(1e3)
    assert u.TeV / u.GeV == pytest.approx(1e3)
    assert u.erg / u.eV == pytest.approx(6.2415e11, rel=1e-4)


def test_rate_and_velocity():
    # one supernova per 30 yr is 1/30 per yr = 3.33e4 per Myr
    assert 1 / (30 * u.yr) == pytest.approx(1e6 / 30)
    # 1 km/s is about 1.0227 pc/Myr
    assert u.km_per_s / (u.pc / u.Myr) == pytest.approx(1.0227, rel=1e-4)


def test_larmor_radius_of_a_pev_proton():
    # r_L = E / (e B c) in SI: 1 PeV / (e * 1e-10 T * c) in metres, converted to pc.
    from scipy import constants as sc

    r_si = 1e15 * sc.electron_volt / (sc.elementary_charge * 1e-10 * sc.c)
    r_pc = r_si / sc.parsec
    assert u.PeV / (u.e_charge * u.muG) / u.pc == pytest.approx(r_pc, rel=1e-12)
    assert r_pc == pytest.approx(1.081, rel=1e-3)


def test_gaussian_units_agree_with_si():
    # Gaussian: r_L = E[erg] / (e[esu] B[G]) in cm, with e = 4.80320e-10 esu.
    e_esu = 4.803204712570263e-10
    r_cm = 1e15 * 1.602176634e-12 / (e_esu * 1e-6)
    assert u.PeV / u.muG / u.cm == pytest.approx(r_cm, rel=1e-9)


def test_units_are_not_typed_in():
    # the base units define the system: 1 kpc/Myr expressed in km/s
    assert (u.kpc / u.Myr) / u.km_per_s == pytest.approx(977.79, rel=1e-4)
    assert math.isclose(u.kpc, 1.0) and math.isclose(u.Myr, 1.0) and math.isclose(u.GeV, 1.0)
