"""Seconds per realization for BA's cylindrical case and for 1000 realizations of SH's nominal case.

Prints, in one run: the np.exp reference throughput of this machine, the BA
time per realization (H = 4 kpc, R = 1/30 yr, 80 Myr, five species, 40
energies 1e3-1e8 GeV), the SH time for 1000 realizations (moving spiral arms,
h = 250 pc, D0 = 6e26 cm^2/s, p = 1/3, protons, 40 energies 1e2-1e7 GeV) and
the peak resident memory.  Run: ``python bench/ensemble.py [n_ba] [n_sh]``.
"""

import resource
import sys
import time

import numpy as np

from crlib.diffusion import BADiffusion, SHDiffusion
from crlib.ensemble import Scenario, channels, realization, run_ensemble
from crlib.sources import Cylindrical, MovingSpiralArms
from crlib.species import PROTONS
from crlib.units import Myr, pc, yr


def exp_rate():
    a = np.random.default_rng(0).uniform(-5, 0, 4096)
    out = np.empty_like(a)
    np.exp(a, out=out)
    reps, t0 = 2000, time.perf_counter()
    for _ in range(reps):
        np.exp(a, out=out)
    return reps * a.size / (time.perf_counter() - t0)


def main(n_ba=3, n_sh=1000):
    print(f"numpy.exp reference: {exp_rate():.3e} elements/s")
    ba = Scenario(sources=Cylindrical(), rate=1 / (30 * yr), T=80 * Myr, H=4.0,
                  diffusion=BADiffusion(1 / 3, 4.0), energies=tuple(np.logspace(3, 8, 40)),
                  injection_index=2.67 - 1 / 3)
    chan = channels(ba)
    realization(ba, np.random.SeedSequence(0), chan)           # compile
    t0 = time.perf_counter()
    for child in np.random.SeedSequence(1).spawn(n_ba):
        realization(ba, child, chan)
    t_ba = (time.perf_counter() - t0) / n_ba

    sh = Scenario(sources=MovingSpiralArms(), rate=1 / (30 * yr), T=10 * Myr, H=250 * pc,
                  diffusion=SHDiffusion(), energies=tuple(np.logspace(2, 7, 40)),
                  injection_index=2.67 - 1 / 3, species=PROTONS, spallation=False)
    t0 = time.perf_counter()
    run_ensemble(sh, n_sh, seed=1, progress=False)
    t_sh = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")
    print(f"BA cylindrical: {t_ba:.2f} s per realization")
    print(f"SH nominal: {t_sh:.1f} s for {n_sh} realizations")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
