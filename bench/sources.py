"""Sampling throughput of crlib.sources, as ratios measured in one run.

Prints sources per second for each model (best of 5 runs of about 2e6
sources) and, for reference, the throughput of ``rng.random`` (uniform
float64 draws per second) in the same process.  The last line is the
cylindrical model's throughput divided by rng.random's.
"""

import time

import numpy as np

from crlib import sources as S
from crlib.units import yr


def best(f, repeat=5):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = f()
        out.append(n / (time.perf_counter() - t0))
    return max(out)


def main():
    rate = 1 / (30 * yr)
    T = 2e6 / rate                     # about 2e6 sources per catalogue
    rng = np.random.default_rng(0)
    models = {"Cylindrical": S.Cylindrical(), "SpiralArms": S.SpiralArms(),
              "ExponentialDisk": S.ExponentialDisk(), "MovingSpiralArms": S.MovingSpiralArms()}
    rates = {name: best(lambda m=m: len(S.sample(m, rate, T, rng))) for name, m in models.items()}
    ref = best(lambda: rng.random(2_000_000).size)
    for name, r in rates.items():
        print(f"{name:18s} {r:10.3e} sources/s")
    print(f"{'rng.random':18s} {ref:10.3e} draws/s")
    print(f"ratio to rng.random: {rates['Cylindrical'] / ref:.4f}")


if __name__ == "__main__":
    main()
