"""Rotation to equatorial coordinates, first harmonics and the data distance (crlib.observable)."""

import numpy as np
import pytest
from scipy.integrate import quad

from crlib import observable as ob
from crlib.galaxy import OBSERVER


def _radec_of(vec):
    return ob.radec(ob.galactocentric_to_equatorial(vec))


def test_galactic_centre_direction():
    # from the Sun, the Galactic centre is at -x (the origin minus the observer)
    to_gc = -np.asarray(OBSERVER)
    ra, dec = _radec_of(to_gc)
    assert ra == pytest.approx(266.40, abs=0.1)
    assert dec == pytest.approx(-28.94, abs=0.1)


def test_north_galactic_pole():
    ra, dec = _radec_of([0.0, 0.0, 1.0])
    assert ra == pytest.approx(192.86, abs=0.01)
    assert dec == pytest.approx(27.13, abs=0.01)


def test_plus_y_is_longitude_270():
    gal = ob.galactocentric_to_galactic([0.0, 1.0, 0.0])
    assert np.allclose(gal, [0.0, -1.0, 0.0])
    assert np.allclose(ob.direction_from_lb(270.0, 0.0), [0.0, 1.0, 0.0], atol=1e-15)
    # right-handed: x cross y = z
    assert np.allclose(np.cross([1, 0, 0], ob.direction_from_lb(270.0, 0.0)), [0, 0, 1])
    # anticentre (l = 180) is +x, seen from the Sun away from the Galactic centre
    assert np.allclose(ob.direction_from_lb(180.0, 0.0), [1.0, 0.0, 0.0], atol=1e-15)


def test_rotation_preserves_length_and_is_vectorised():
    rng = np.random.default_rng(1)
    d = rng.normal(size=(7, 5, 3))
    eq = ob.galactocentric_to_equatorial(d)
    assert eq.shape == d.shape
    assert np.allclose(np.linalg.norm(eq, axis=-1), np.linalg.norm(d, axis=-1))
    amp, ph = ob.first_harmonic(d)
    assert amp.shape == ph.shape == (7, 5)
    assert np.all(amp <= np.linalg.norm(d, axis=-1) + 1e-15)


def test_dipole_along_celestial_pole_projects_to_zero():
    m = ob._galactic_to_icrs() @ ob.GALACTOCENTRIC_TO_GALACTIC
    ncp = m.T @ np.array([0.0, 0.0, 1.0])  # crlib vector that maps to the celestial pole
    amp, _ = ob.first_harmonic(1e-3 * ncp)
    assert amp == pytest.approx(0.0, abs=1e-15)
    amp_b, _ = ob.first_harmonic_band(1e-3 * ncp, -20, 60)
    assert amp_b == pytest.approx(0.0, abs=1e-15)


def test_equatorial_dipole_keeps_amplitude_for_full_coverage():
    m = ob._galactic_to_icrs() @ ob.GALACTOCENTRIC_TO_GALACTIC
    for ra in (0.0, 38.4, 266.4):
        v_eq = np.array([np.cos(np.radians(ra)), np.sin(np.radians(ra)), 0.0])
        amp, ph = ob.first_harmonic(2e-3 * (m.T @ v_eq))
        assert amp == pytest.approx(2e-3, rel=1e-12)
        assert ph == pytest.approx(ra, abs=1e-9)


@pytest.mark.parametrize("band", [(-90, 90), (-10, 70), (15, 16), (-89, -60), (0, 90)])
def test_band_factor_matches_quadrature(band):
    d1, d2 = np.radians(band)
    num = quad(lambda d: np.cos(d) ** 2, d1, d2)[0]
    den = quad(np.cos, d1, d2)[0]
    assert ob.band_factor(*band) == pytest.approx(num / den, rel=1e-10)


def test_band_factor_limits():
    assert ob.band_factor(-90, 90) == pytest.approx(np.pi / 4)
    assert ob.band_factor(30, 30 + 1e-9) == pytest.approx(np.cos(np.radians(30)), rel=1e-6)
    f = ob.band_factor([-90, 0], [90, 60])
    assert f.shape == (2,)


def test_band_factor_against_direct_rate_modulation():
    """Simulate the RA scan: integrate 1 + delta.n over a band, fit the first harmonic."""
    rng = np.random.default_rng(3)
    delta = 1e-3 * rng.normal(size=3)
    dmin, dmax = -15.0, 75.0
    ra = np.radians(np.arange(0, 360, 2.0) + 1.0)
    dec = np.radians(np.linspace(dmin, dmax, 2001))
    m = ob._galactic_to_icrs() @ ob.GALACTOCENTRIC_TO_GALACTIC
    eq = m @ delta
    RA, DEC = np.meshgrid(ra, dec, indexing="ij")
    n = np.stack([np.cos(DEC) * np.cos(RA), np.cos(DEC) * np.sin(RA), np.sin(DEC)], -1)
    rate = np.trapezoid((1 + n @ eq) * np.cos(DEC), dec, axis=1)
    rate /= rate.mean()
    a = 2 * np.mean(rate * np.cos(ra)); b = 2 * np.mean(rate * np.sin(ra))
    amp, ph = ob.first_harmonic_band(delta, dmin, dmax)
    assert np.hypot(a, b) == pytest.approx(amp, rel=2e-3)
    assert np.degrees(np.arctan2(b, a)) % 360 == pytest.approx(ph, abs=0.1)


def _tibet():
    t = ob.select_data(experiments="Tibet")
    assert np.all(np.diff(t["E_GeV"]) > 0)
    return t


def test_distance_zero_for_model_equal_to_data_and_grows_with_scale():
    t = _tibet()
    E, A = t["E_GeV"], t["amplitude"]
    d = ob.distance_to_data(E, np.stack([A, 1.2 * A, 1.5 * A, 3 * A, A / 2]), experiments="Tibet")
    assert d.shape == (5,)
    assert d[0] == pytest.approx(0.0, abs=1e-20)
    assert 0 < d[1] < d[2] < d[3]
    assert d[4] > 0
    assert ob.distance_to_data(E, A, experiments="Tibet") == pytest.approx(0.0, abs=1e-20)


def test_interpolation_in_log_energy():
    # a power law is exact under linear interpolation in (ln E, ln A)
    t = _tibet()
    E = np.logspace(3, 7, 5)
    law = lambda e: 3e-4 * (e / 1e4) ** 0.3
    d_exact = ob.distance_to_data(E, law(E), experiments="Tibet")
    resid = np.log(law(t["E_GeV"]) / t["amplitude"])
    err = {c: np.nan_to_num(t[c]) for c in ("stat_lo", "stat_hi", "sys_lo", "sys_hi")}
    s = np.where(resid > 0, np.hypot(err["stat_hi"], err["sys_hi"]),
                 np.hypot(err["stat_lo"], err["sys_lo"])) / t["amplitude"]
    expected = np.sum(resid**2 / (s**2 + 0.05**2))
    assert d_exact == pytest.approx(expected, rel=1e-12)


def test_upper_limits_count_only_when_exceeded():
    sel = ob.select_data(experiments="KASCADE-Grande")
    ul = sel[sel["upper_limit"]]
    E = np.array([1e6, 1e8])
    low = np.full((1, 2), 1e-4)
    # measured KASCADE-Grande points only (upper limits sit above them)
    d_low = ob.distance_to_data(E, low, experiments="KASCADE-Grande")[0]
    meas = sel[~sel["upper_limit"]]
    r = np.log(1e-4 / meas["amplitude"])
    s = np.hypot(np.nan_to_num(meas["stat_lo"]), np.nan_to_num(meas["sys_lo"])) / meas["amplitude"]
    assert d_low == pytest.approx(np.sum(r**2 / (s**2 + 0.05**2)), rel=1e-12)
    high = np.full((1, 2), 10 * ul["amplitude"].max())
    d_high = ob.distance_to_data(E, high, experiments="KASCADE-Grande")[0]
    d_nolim = d_high - np.sum((np.log(high[0, 0] / ul["amplitude"]) / 0.25) ** 2)
    assert d_nolim > 0 and d_high > d_nolim


def test_fraction_at_least_as_close():
    d = np.array([0.0, 1.0, 2.0, 3.0])
    assert ob.fraction_at_least_as_close(d, 1.5) == 0.5
    assert ob.fraction_at_least_as_close(d, 3.0) == 1.0
    assert np.allclose(ob.fraction_at_least_as_close(d, [-0.0, 10.0]), [0.25, 1.0])


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: ob.first_harmonic([1.0, 2.0]), "delta"),
        (lambda: ob.first_harmonic([np.nan, 0, 1]), "delta"),
        (lambda: ob.band_factor(-100, 20), "dec_min"),
        (lambda: ob.band_factor(10, 95), "dec_max"),
        (lambda: ob.band_factor(30, 10), "dec_max"),
        (lambda: ob.direction_from_lb(0, 120), "b_deg"),
        (lambda: ob.distance_to_data([1e3, 1e2], [1e-3, 1e-3]), "E"),
        (lambda: ob.distance_to_data([1e3, 1e4], [1e-3, -1e-3]), "amplitudes"),
        (lambda: ob.distance_to_data([1e3, 1e4], np.ones((2, 4)) * 1e-3), "amplitudes"),
        (lambda: ob.distance_to_data([1e3, 1e4], [1e-3, 1e-3], E_range=(1e9, 1e10)), "E_range"),
        (lambda: ob.distance_to_data([1e3, 1e4], [1e-3, 1e-3], detector_types="radio"), "detector_types"),
        (lambda: ob.distance_to_data([1e3, 1e4], [1e-3, 1e-3], rel_floor=-1), "rel_floor"),
        (lambda: ob.fraction_at_least_as_close([1.0, -2.0], 1.0), "distances"),
        (lambda: ob.fraction_at_least_as_close([1.0, 2.0], np.nan), "benchmark"),
    ],
)
def test_bad_input_raises_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_distance_accepts_dipole_vectors_and_a_custom_table():
    t = _tibet()
    E, A = t["E_GeV"], t["amplitude"]
    # vectors along an equatorial direction: the ideal projection returns |delta|
    m = ob._galactic_to_icrs() @ ob.GALACTOCENTRIC_TO_GALACTIC
    u = m.T @ np.array([1.0, 0.0, 0.0])
    vec = A[:, None] * u[None, :]
    assert ob.distance_to_data(E, vec, experiments="Tibet") == pytest.approx(0.0, abs=1e-20)
    d = ob.distance_to_data(E, np.stack([vec, vec]), experiments="Tibet", dec_band=(-15, 75))
    f = ob.band_factor(-15, 75)
    assert np.allclose(d, ob.distance_to_data(E, f * A, experiments="Tibet"))
    # a synthetic table in the crlib.data format
    small = t[:3].copy()
    small["amplitude"] = [1e-3, 2e-3, 3e-3]
    assert ob.distance_to_data(small["E_GeV"], small["amplitude"], table=small) == pytest.approx(0.0, abs=1e-20)
    assert ob.distance_to_data(small["E_GeV"], 2 * small["amplitude"], table=small) > 0
