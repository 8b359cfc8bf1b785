"""Seconds per realization for BA's cylindrical case and for 1000 realizations of SH's nominal case.

Prints, in one run: the np.exp reference throughput of this machine, the BA
time per realization (H = 4 kpc, R = 1/30 yr, 80 Myr, five species, 40
energies 1e3-1e8 GeV), the SH time for 1000 realizations (moving spiral arms,
h = 250 pc, D0 = 6e26 cm^2/s, p = 1/3, protons, 40 energies 1e2-1e7 GeV) and
the peak resident memory.  Each time is followed by its normalised value,
seconds x (measured numpy.exp rate) / 1.5e9, i.e. the time on a machine doing
1.5e9 numpy.exp elements per second (the targets of issue 13 are 0.3 s per BA
realization and 6 s for SH's 1000).  Threads: ``NUMBA_NUM_THREADS`` (the targets are
for one core: ``NUMBA_NUM_THREADS=1``).  The BA case runs at the Scenario default
tolerance 1e-10; two more lines give it at 1e-4, the tolerance of the book's BA panels
(:func:`crlib.presets.ba_scenario`), with every source summed and with the old sources
in cells (``crlib.green.aggregate``, used from tolerance ``engine.AGG_TOL`` up), and the
ratio of the two.
Run: ``python bench/ensemble.py [n_ba] [n_sh]``.

SH's case is :func:`crlib.presets.sh_scenario` at its defaults (tolerance 1e-4,
history span 24.7 Myr from :func:`crlib.presets.sh_span`, exact sampling within
3.7 kpc of the Sun plus the rigorous far-source bound); a second SH line runs
100 realizations at tolerance 1e-6 (span 37 Myr, radius 4.5 kpc) for scale.
"""

import resource
import sys
import time

import numba
import numpy as np

from crlib.diffusion import BADiffusion
from crlib.ensemble import Scenario, channels, realization, run_ensemble
from crlib.green import engine
from crlib.presets import sh_scenario
from crlib.sources import Cylindrical
from crlib.units import Myr, yr


#: the reference machine of the targets: numpy.exp elements per second
REF_RATE = 1.5e9


def exp_rate(rounds=5):
    """numpy.exp throughput (elements/s) on 4096-element chunks, best of a few rounds."""
    a = np.random.default_rng(0).uniform(-5, 0, 4096)
    out = np.empty_like(a)
    np.exp(a, out=out)
    best = 0.0
    for _ in range(rounds):
        reps, t0 = 500, time.perf_counter()
        for _ in range(reps):
            np.exp(a, out=out)
        best = max(best, reps * a.size / (time.perf_counter() - t0))
    return best


def normalised(seconds, rate):
    """Seconds on a machine doing REF_RATE numpy.exp elements per second."""
    return seconds * rate / REF_RATE


def main(n_ba=3, n_sh=1000):
    rate = exp_rate()
    print(f"numpy.exp reference: {rate:.3e} elements/s "
          f"({numba.get_num_threads()} numba threads; normalised = seconds x rate / {REF_RATE:.1e})")
    ba = Scenario(sources=Cylindrical(), rate=1 / (30 * yr), T=80 * Myr, H=4.0,
                  diffusion=BADiffusion(1 / 3, 4.0), energies=tuple(np.logspace(3, 8, 40)),
                  injection_index=2.67 - 1 / 3)
    chan = channels(ba)
    realization(ba, np.random.SeedSequence(0), chan)           # compile
    t0 = time.perf_counter()
    for child in np.random.SeedSequence(1).spawn(n_ba):
        realization(ba, child, chan)
    t_ba = (time.perf_counter() - t0) / n_ba
    ba4 = Scenario(**{**ba.__dict__, "tol": 1e-4})       # the tolerance of the book's BA panels
    realization(ba4, np.random.SeedSequence(0), chan)          # compile the cells
    t0 = time.perf_counter()
    for child in np.random.SeedSequence(1).spawn(n_ba):
        realization(ba4, child, chan)
    t_ba4 = (time.perf_counter() - t0) / n_ba
    # the same without cells (every source summed), for the ratio
    keep, engine.AGG_MIN_SOURCES = engine.AGG_MIN_SOURCES, 1 << 62
    try:
        t0 = time.perf_counter()
        for child in np.random.SeedSequence(1).spawn(n_ba):
            realization(ba4, child, chan)
        t_ba4x = (time.perf_counter() - t0) / n_ba
    finally:
        engine.AGG_MIN_SOURCES = keep

    sh = sh_scenario()
    run_ensemble(sh, 2, seed=0, progress=False)                 # compile
    t0 = time.perf_counter()
    r = run_ensemble(sh, n_sh, seed=1, progress=False)
    t_sh = time.perf_counter() - t0
    sh6 = sh_scenario(tol=1e-6)
    t0 = time.perf_counter()
    r6 = run_ensemble(sh6, 100, seed=1, progress=False)
    t_sh6 = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"SH T = {sh.T:.1f} Myr, near radius {sh.near_radius:.2f} kpc, "
          f"{np.median(r.n_sources):.0f} sources summed per realization, "
          f"{np.mean(r.far_age > 0):.1%} needed far sources")
    print(f"SH at tol 1e-6 (T = {sh6.T:.1f} Myr, radius {sh6.near_radius:.2f} kpc): "
          f"{t_sh6 / 100 * 1000:.1f} s per 1000 realizations, {np.mean(r6.far_age > 0):.1%} needed far sources")
    print(f"peak resident memory: {peak:.0f} MB")
    rate = max(rate, exp_rate())          # the machine may be shared: best reference seen
    print(f"numpy.exp reference (best of start and end): {rate:.3e} elements/s")
    print(f"BA cylindrical at tol 1e-4 (the book's panels), every source summed: "
          f"{t_ba4x:.2f} s per realization, normalised {normalised(t_ba4x, rate):.3f} s")
    print(f"BA cylindrical at tol 1e-4 (the book's panels), old sources in cells: "
          f"{t_ba4:.2f} s per realization, normalised {normalised(t_ba4, rate):.3f} s "
          f"({t_ba4x / t_ba4:.2f}x)")
    print(f"BA cylindrical: {t_ba:.2f} s per realization, "
          f"normalised {normalised(t_ba, rate):.3f} s")
    print(f"SH nominal: {t_sh:.1f} s for {n_sh} realizations, "
          f"normalised {normalised(t_sh, rate):.2f} s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
