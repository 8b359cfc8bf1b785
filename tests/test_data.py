"""The measured-anisotropy tables (crlib.data) and the helper that draws them (crlib.plotting)."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from crlib import data, plotting

README = Path("/work/shared/data/README.md")


@pytest.fixture(scope="module")
def amp():
    return data.load_amplitudes()


@pytest.fixture(scope="module")
def phase():
    return data.load_phases()


def rows(t, experiment, E_GeV, rtol=0.03):
    return t[(t["experiment"] == experiment) & np.isclose(t["E_GeV"], E_GeV, rtol=rtol)]


# --- references -----------------------------------------------------------------------


def test_every_row_has_a_listed_bibcode(amp, phase):
    for t in (amp, phase):
        assert np.all(t["bibcode"] != "")
        unknown = set(t["bibcode"]) - set(data.BIBCODES)
        assert not unknown, f"bibcodes not in the data README list: {unknown}"


@pytest.mark.skipif(not README.exists(), reason="shared data README not available")
def test_bibcode_list_matches_the_shared_readme():
    codes = set(re.findall(r"\b(1[9]\d\d|20\d\d)([A-Za-z&.]{5}[\w.&]{9}[A-Z])", README.read_text()))
    codes = {a + b for a, b in codes}
    assert codes == set(data.BIBCODES)


def test_attribution_column_is_explicit(amp, phase):
    for t in (amp, phase):
        assert set(t["attribution"]) <= {"verified", "likely", "uncertain"}
        # an uncertain attribution always says why
        unsure = t[t["attribution"] == "uncertain"]
        assert np.all(np.char.str_len(unsure["note"]) > 20)


def test_readme_experiments_go_to_their_labelled_papers(amp):
    expect = {
        "Super-Kamiokande": {"2007PhRvD..75f2003G"},
        "MACRO": {"2003PhRvD..67d2002A"},
        "Milagro": {"2009ApJ...698.2121A"},
        "HAWC+IceCube": {"2019ApJ...871...96A"},
        "KASCADE-Grande": {"2019ApJ...870...91A"},
        "Tibet": {"2005ApJ...626L..29A", "2017ApJ...836..153A"},
        "ARGO-YBJ": {"2015ApJ...809...90B", "2018ApJ...861...93B"},
        "EAS-TOP": {"1996ApJ...470..501A", "2009ApJ...692L.130A", "1995ICRC....2..800A"},
    }
    for name, codes in expect.items():
        assert set(amp["bibcode"][amp["experiment"] == name]) == codes, name
    assert set(amp["bibcode"][np.char.startswith(amp["experiment"], "Auger")]) == {
        "2018ApJ...868....4A", "2020ApJ...891..142A"}
    assert "2022icrc.confE.351G" in set(amp["bibcode"][amp["experiment"] == "LHAASO-KM2A"])


def test_newer_measurements_are_present(amp):
    for name, code in [("LHAASO-KM2A", "2022icrc.confE.351G"), ("HAWC+IceCube", "2019ApJ...871...96A"),
                       ("ARGO-YBJ", "2018ApJ...861...93B"), ("Tibet", "2017ApJ...836..153A"),
                       ("IceCube", "2016ApJ...826..220A"), ("KASCADE-Grande", "2019ApJ...870...91A")]:
        assert np.any((amp["experiment"] == name) & (amp["bibcode"] == code)), name


# --- units and flags --------------------------------------------------------------------


def test_energies_are_in_gev(amp, phase):
    for t in (amp, phase):
        E = t["E_GeV"]
        # Nagoya's 60 GeV is the lowest point; Auger's open top bin (>= 32 EeV) is given
        # by CRDB at the log-centre of a placeholder 32-3200 EeV bin, 3.2e11 GeV
        assert np.all((E >= 50.0) & (E <= 3.3e11))
        galactic = ~np.char.startswith(t["experiment"], "Auger") & (t["experiment"] != "Telescope Array")
        assert np.all((E[galactic] >= 50.0) & (E[galactic] <= 1e11))
        # bins, where given, bracket the representative energy
        b = ~np.isnan(t["E_lo_GeV"])
        assert np.all(t["E_lo_GeV"][b] <= E[b] * 1.0001) and np.all(t["E_hi_GeV"][b] >= E[b] * 0.9999)
    # a known point in GeV, not TeV: Super-K at 12 TeV
    assert rows(amp, "Super-Kamiokande", 12e3).size == 1


def test_amplitudes_and_errors_are_sensible(amp):
    A = amp["amplitude"]
    assert np.all(A > 0)
    below_ankle = amp["E_GeV"] < 1e8
    assert np.all(A[below_ankle] < 0.1)
    assert np.all(A < 0.3)
    pts = ~amp["upper_limit"]
    for col in ("stat_lo", "stat_hi", "sys_lo", "sys_hi"):
        assert np.all(amp[col][pts] >= 0), col
        assert np.all(np.isnan(amp[col][~pts])), col


def test_upper_limits_are_flagged(amp):
    ul = amp[amp["upper_limit"]]
    assert len(ul) == 15
    assert set(ul["experiment"]) == {"KASCADE-Grande", "Auger SD1500", "Auger SD750", "Telescope Array"}
    # every limit sits above the measured value at the same energy
    for r in ul:
        same = amp[(amp["experiment"] == r["experiment"]) & (amp["E_GeV"] == r["E_GeV"]) & ~amp["upper_limit"]]
        assert same.size == 1 and same["amplitude"][0] < r["amplitude"]


def test_phases_and_errors_are_sensible(phase):
    assert np.all((phase["phase_deg"] >= 0) & (phase["phase_deg"] < 360))
    assert np.all(phase["err_lo_deg"] >= 0) and np.all(phase["err_hi_deg"] >= 0)


def test_every_experiment_has_a_detector_type(amp, phase):
    for t in (amp, phase):
        assert set(t["detector_type"]) == set(data.DETECTOR_TYPES)
    types = {n: d for n, d in zip(amp["experiment"], amp["detector_type"])}
    assert types["Super-Kamiokande"] == types["MACRO"] == types["Baksan"] == "underground muon"
    assert types["IceCube"] == "neutrino telescope"
    for name in ("IceTop", "EAS-TOP", "Tibet", "ARGO-YBJ", "KASCADE-Grande", "HAWC+IceCube",
                 "Milagro", "LHAASO-KM2A", "Auger"):
        assert types[name] == "air shower", name
    # one experiment, one type
    for name in set(amp["experiment"]):
        assert len(set(amp["detector_type"][amp["experiment"] == name])) == 1


def test_duplicates_have_a_primary_twin(amp):
    dup = amp[amp["duplicate"]]
    assert 0 < len(dup) < 20
    for r in dup:
        # same experiment family (IceCube/IceTop share a prefix), and the same energy bin or the same value (IceTop 2013 is
        # listed for a proton and an iron energy scale)
        same = (np.isclose(amp["E_GeV"], r["E_GeV"], rtol=0.06)
                | np.isclose(amp["amplitude"], r["amplitude"], rtol=1e-9))
        twins = amp[~amp["duplicate"] & same & np.char.startswith(amp["experiment"], r["experiment"][:3])]
        assert twins.size >= 1, r["experiment"]


def test_table_size(amp, phase):
    assert len(amp) == 135 and len(phase) == 120
    assert len(set(amp["experiment"])) == 41


# --- cross-checks against the measurement papers (README table) --------------------------


def test_super_kamiokande_10tev():
    t = data.load_amplitudes()
    r = rows(t, "Super-Kamiokande", 12e3)[0]
    assert r["amplitude"] == pytest.approx(6.64e-4, abs=0.005e-4)
    assert r["stat_hi"] == pytest.approx(0.98e-4, abs=0.005e-4)
    assert r["sys_hi"] == pytest.approx(0.55e-4, abs=0.005e-4)
    p = rows(data.load_phases(), "Super-Kamiokande", 12e3)[0]
    assert p["phase_deg"] == pytest.approx(33.2, abs=0.05)
    # total error: 8.2 (stat) and 5.1 (sys) in quadrature
    assert p["err_hi_deg"] == pytest.approx(np.hypot(8.2, 5.1), abs=0.05)


def test_icecube_22(amp):
    r = amp[amp["bibcode"] == "2010ApJ...718L.194A"]
    assert r.size == 1
    assert r["E_GeV"][0] == pytest.approx(20e3)
    assert r["amplitude"][0] == pytest.approx(6.4e-4, abs=0.05e-4)
    assert r["stat_hi"][0] == pytest.approx(0.2e-4, abs=0.05e-4)
    assert r["sys_hi"][0] == pytest.approx(0.8e-4, abs=0.05e-4)


def test_eas_top(amp, phase):
    r = rows(amp, "EAS-TOP", 200e3)[0]
    assert r["bibcode"] == "1996ApJ...470..501A"
    assert r["amplitude"] == pytest.approx(3.73e-4, abs=0.005e-4)
    assert r["stat_hi"] == pytest.approx(0.57e-4, abs=0.005e-4)
    p = rows(phase, "EAS-TOP", 200e3)[0]
    assert p["phase_deg"] == pytest.approx(1.82 * 15.0, abs=0.1)  # 1.82 h
    assert p["err_hi_deg"] == pytest.approx(0.49 * 15.0, abs=0.1)
    r = rows(amp, "EAS-TOP", 370e3)[0]
    assert r["bibcode"] == "2009ApJ...692L.130A"
    assert r["amplitude"] == pytest.approx(6.4e-4, abs=0.05e-4)
    assert r["stat_hi"] == pytest.approx(2.5e-4, abs=0.05e-4)
    assert rows(phase, "EAS-TOP", 370e3)[0]["phase_deg"] == pytest.approx(204.0, abs=0.5)


def test_hawc_icecube(amp, phase):
    r = rows(amp, "HAWC+IceCube", 10e3)[0]
    assert r["amplitude"] == pytest.approx(1.17e-3, abs=0.005e-3)
    assert rows(phase, "HAWC+IceCube", 10e3)[0]["phase_deg"] == pytest.approx(38.4, abs=0.05)


def test_phase_flip_near_100_tev(phase):
    """Below ~50 TeV the maxima sit at RA 0-60 deg; above ~150 TeV (to 1 PeV) near RA 240-290 deg."""
    t = data.select(phase, detector_types=("air shower", "neutrino telescope"))
    low = t[(t["E_GeV"] > 2e3) & (t["E_GeV"] < 3e4)]
    high = t[(t["E_GeV"] > 1.5e5) & (t["E_GeV"] < 2e6)]
    assert np.median((low["phase_deg"] + 180) % 360 - 180) == pytest.approx(30, abs=20)
    assert np.median(high["phase_deg"]) == pytest.approx(265, abs=25)


# --- select / summary ---------------------------------------------------------------------


def test_select(amp):
    t = data.select(amp, emin=1e3, emax=1e6, detector_types="underground muon", upper_limits=False)
    assert np.all((t["E_GeV"] >= 1e3) & (t["E_GeV"] <= 1e6))
    assert set(t["detector_type"]) == {"underground muon"}
    assert not np.any(t["duplicate"]) and not np.any(t["upper_limit"])
    assert len(data.select(amp, duplicates=True)) == len(amp)


def test_seed_paper_datasets_are_in_the_table(amp, phase):
    sh = data.select(amp, bibcodes=data.SEED_DATASETS["SH"])
    assert set(sh["experiment"]) == {"IceTop LE p-composition", "IceTop HE p-composition", "IceCube",
                                     "Milagro", "EAS-TOP", "Tibet"}
    ba = data.select(amp, bibcodes=data.SEED_DATASETS["BA"])
    # BA quote EAS-TOP at 1.1e14 and 3.7e14 eV (and the 1996 point at 2e14 eV)
    assert np.allclose(sorted(set(ba["E_GeV"])), [110e3, 200e3, 370e3])
    assert len(data.select(phase, bibcodes=data.SEED_DATASETS["SH"])) > 0


def test_summary_counts_every_non_duplicate_row(amp):
    s = data.experiment_summary()
    assert sum(r["n_points"] for r in s) == np.count_nonzero(~amp["duplicate"])
    assert all(r["bibcodes"] for r in s)


@pytest.mark.parametrize("kwargs, name", [
    ({"emin": -1.0}, "emin"),
    ({"emax": 0.0}, "emax"),
    ({"emin": 1e5, "emax": 1e3}, "emax"),
    ({"detector_types": ["balloon"]}, "detector_types"),
    ({"bibcodes": ["2099ApJ...999...99X"]}, "bibcodes"),
])
def test_select_rejects_bad_input(amp, kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.select(amp, **kwargs)


# --- plotting ------------------------------------------------------------------------------


def test_plot_measured_amplitudes_draws_types_and_limits():
    fig, ax = plt.subplots()
    handles = plotting.plot_measured_amplitudes(ax, emin=1e2, emax=1e8)
    labels = [h.get_label() for h in handles]
    assert labels == ["underground muon", "air shower", "neutrino telescope (IceCube)", "upper limit"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_legend() is not None
    # three KASCADE-Grande and two Auger SD750 limits lie below 1e8 GeV: one arrow each
    assert len(ax.texts) == 5
    plt.close(fig)


def test_plot_options():
    fig, ax = plt.subplots()
    handles = plotting.plot_measured_amplitudes(ax, emin=1e3, emax=1e5, detector_types="neutrino telescope",
                                                alpha=0.3, legend=False, energy_unit=1e3)
    assert [h.get_label() for h in handles] == ["neutrino telescope (IceCube)"]
    assert ax.get_legend() is None and ax.get_xlabel() == "$E$ [TeV]"
    x = np.concatenate([np.atleast_1d(l.get_xdata()) for l in ax.lines if len(l.get_xdata())])
    assert x.min() >= 1.0 and x.max() <= 100.0
    plt.close(fig)
    fig, ax = plt.subplots()
    handles = plotting.plot_measured_phases(ax, phase_min=0.0)
    assert len(handles) == 3 and ax.get_ylim() == (0.0, 360.0)
    y = np.concatenate([np.atleast_1d(l.get_ydata()) for l in ax.lines if len(l.get_ydata())])
    assert y.min() >= 0.0 and y.max() < 360.0
    plt.close(fig)


@pytest.mark.parametrize("kwargs, name", [
    ({"alpha": 1.5}, "alpha"),
    ({"emin": 0.0}, "emin"),
    ({"detector_types": "space"}, "detector_types"),
    ({"energy_unit": -1.0}, "energy_unit"),
])
def test_plot_rejects_bad_input(kwargs, name):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=name):
        plotting.plot_measured_amplitudes(ax, **kwargs)
    plt.close(fig)


def test_select_data_is_a_call_of_select():
    """observable.select_data is data.select with E_range = (emin, emax): one data selection."""
    from crlib import observable as ob
    a = ob.select_data(E_range=(1e3, 1e6), detector_types=["air shower"], experiments=None)
    b = data.select(emin=1e3, emax=1e6, detector_types=["air shower"])
    assert len(a) > 0 and a.dtype == b.dtype and a.tobytes() == b.tobytes()   # NaN-safe equality
    t = data.select(experiments="Tibet")
    assert len(t) > 0 and set(t["experiment"]) == {"Tibet"}
    with pytest.raises(ValueError, match="experiments"):
        data.select(experiments="no such experiment")
