import numpy as np
import pytest

from crlib.presets import BA_FIGURES, ba_scenario
from crlib.sources import Cylindrical, SpiralArms
from crlib.units import yr


def test_defaults_are_ba_common_setting():
    sc = ba_scenario()
    assert isinstance(sc.sources, Cylindrical)
    assert len(sc.energies) == 40
    assert np.isclose(sc.energies[0], 1e3) and np.isclose(sc.energies[-1], 1e8)
    assert np.isclose(sc.injection_index + sc.diffusion.delta, 2.67)
    assert np.isclose(sc.diffusion.D28, 1.33 * 4.0)
    assert sc.T == 80.0 and sc.spallation and sc.tau_snr is None


def test_spiral_and_delta06():
    sc = ba_scenario(model="spiral", w=2.8, delta=0.6, H=2.0, tau_snr=3e5 * yr, n_energies=5)
    assert isinstance(sc.sources, SpiralArms) and sc.sources.w == 2.8
    assert np.isclose(sc.diffusion.D28, 0.55 * 2.0)
    assert np.isclose(sc.injection_index, 2.07)
    assert np.isclose(sc.tau_snr, 3e5 * yr)


@pytest.mark.parametrize("kw", [dict(model="disk"), dict(delta=0.5), dict(rate=-1.0),
                                dict(H=0.0), dict(n_energies=0), dict(E_range=(1e5, 1e3)),
                                dict(model="spiral", w=-1.0)])
def test_rejects_bad_inputs(kw):
    with pytest.raises(ValueError):
        ba_scenario(**kw)


def test_figure_table_builds():
    for kw in BA_FIGURES.values():
        ba_scenario(n_energies=3, **kw)


def test_preset_tolerance_meets_its_promise():
    """The preset's tol (default 1e-4) against a 1e-12 sum of the same history: density within
    2 tol relative (series truncation + skip rule) and each gradient component within
    2 tol n pi / 2H."""
    from crlib.ensemble import Scenario, realization

    loose = ba_scenario(rate=1.0 / (3000.0 * yr), n_energies=4)
    assert loose.tol == 1e-4 and ba_scenario(tol=1e-6).tol == 1e-6
    tight = Scenario(**{**loose.__dict__, "tol": 1e-12})
    a = realization(loose, np.random.SeedSequence(11))
    b = realization(tight, np.random.SeedSequence(11))
    assert np.all(np.abs(a["n"] - b["n"]) <= 2e-4 * b["n"])
    scale = 2e-4 * b["n"][..., None] * np.pi / (2.0 * loose.H)
    assert np.all(np.abs(a["grad"] - b["grad"]) <= scale)
    assert not np.array_equal(a["n"], b["n"])          # the tolerance does act
