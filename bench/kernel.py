"""Throughput of the many-source kernel ``crlib.green.observe``.

Workload (fixed, seeded): 1e5 sources with ages uniform in (0, 80] Myr,
heights exponential with scale 0.05 kpc, positions uniform over a disk of
radius 15 kpc; H = 4 kpc; 40 energies from 1e3 to 1e8 GeV with BA's delta = 1/3
diffusion coefficient.  The kernel computes density and gradient, skip rule
OFF (every source-energy pair is evaluated).

Printed: source-energy pairs per second on 1 and 2 numba threads, per
process (wall clock of one call), and the ratio

    (pairs/s, one thread) / (numpy.exp elements/s on 4096-element chunks)

measured in the same run, so the number is comparable across machines.
Usage: ``python bench/kernel.py``.
"""

import time

import numba
import numpy as np

from crlib.diffusion import BADiffusion
from crlib.galaxy import OBSERVER
from crlib.green import observe


def workload(n_src=100_000, n_e=40, seed=1):
    rng = np.random.default_rng(seed)
    t = 80.0 * (1.0 - rng.random(n_src))  # (0, 80]
    r = 15.0 * np.sqrt(rng.random(n_src))
    phi = 2 * np.pi * rng.random(n_src)
    z = rng.exponential(0.05, n_src) * rng.choice([-1.0, 1.0], n_src)
    z = np.clip(z, -3.9, 3.9)
    E = np.logspace(3, 8, n_e)
    D = BADiffusion(1.0 / 3.0, 4.0).D(E)
    o = np.argsort(t)  # catalogue sorted by age once (observe would otherwise sort it)
    return (r * np.cos(phi))[o], (r * np.sin(phi))[o], z[o], t[o], D


def exp_rate(seconds=0.5):
    a = -np.random.default_rng(0).random(4096) * 50
    out = np.empty_like(a)
    n = 0
    t0 = time.perf_counter()
    while True:
        for _ in range(200):
            np.exp(a, out=out)
        n += 200
        dt = time.perf_counter() - t0
        if dt > seconds:
            return n * a.size / dt


def time_observe(args, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        observe(*args, skip=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    x, y, z, t, D = workload()
    args = (x, y, z, t, D, 4.0)
    pairs = x.size * D.size
    observe(x[:1000], y[:1000], z[:1000], t[:1000], D, 4.0)  # compile / load cache
    nmax = numba.config.NUMBA_NUM_THREADS
    rates = {}
    for nt in sorted({1, min(2, nmax)}):
        numba.set_num_threads(nt)
        rates[nt] = pairs / time_observe(args)
        print(f"{nt} thread(s): {rates[nt]:.3e} source-energy pairs/s")
    numba.set_num_threads(nmax)
    per_proc = pairs / time_observe(args)
    print(f"per process ({nmax} threads): {per_proc:.3e} source-energy pairs/s")
    er = exp_rate()
    print(f"numpy.exp on 4096-element chunks: {er:.3e} elements/s")
    print(f"ratio to numpy.exp: {rates[1] / er:.3f}")


if __name__ == "__main__":
    main()
