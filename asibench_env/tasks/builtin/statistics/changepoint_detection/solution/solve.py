"""Reference solver for statistics.changepoint_detection.

1. Spikes: points more than 5 robust standard deviations from a running median are replaced by it.
2. Changepoints: optimal partitioning (dynamic programming) of the L2 cost with a penalty scaled by the
   long-run variance of AR(1) noise, sigma^2 / (1 - phi)^2 (autocorrelated noise makes level shifts look
   bigger than they are, so the white-noise penalty would find too many), minimum segment 30.
3. phi and sigma from the residuals about the fitted levels (lag-1 autocorrelation); iterate 2-3 twice.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

y = np.genfromtxt("data/series.csv", delimiter=",", names=True)["value"]
n = y.size
half = 7
padded = np.pad(y, half, mode="edge")
rolling = np.array([np.median(padded[k : k + 2 * half + 1]) for k in range(n)])
dev = y - rolling
mad = 1.4826 * np.median(np.abs(dev))
clean = np.where(np.abs(dev) > 5 * mad, rolling, y)
csum, csum2 = np.r_[0, np.cumsum(clean)], np.r_[0, np.cumsum(clean**2)]


def cost(a, b):
    """Sum of squared deviations of clean[a:b] from its mean (vectorised over a)."""
    m = b - a
    s = csum[b] - csum[a]
    return csum2[b] - csum2[a] - s * s / m


def partition(penalty, min_size=30):
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    last = np.zeros(n + 1, int)
    for b in range(min_size, n + 1):
        a = np.arange(0, b - min_size + 1)
        a = a[np.isfinite(best[a])]
        total = best[a] + cost(a, b) + penalty
        k = int(np.argmin(total))
        best[b], last[b] = total[k], a[k]
    cuts, b = [], n
    while b > 0:
        cuts.append(b)
        b = last[b]
    return sorted(cuts)[:-1]


def levels(cuts):
    bounds = np.r_[0, cuts, n]
    return np.concatenate([np.full(b - a, clean[a:b].mean()) for a, b in zip(bounds[:-1], bounds[1:])])


phi, sigma = 0.5, np.std(np.diff(clean)) / np.sqrt(2)
for _ in range(3):
    long_run = sigma**2 / (1 - phi) ** 2
    cuts = partition(3.0 * long_run * np.log(n))
    resid = clean - levels(cuts)
    phi = float(np.sum(resid[1:] * resid[:-1]) / np.sum(resid[:-1] ** 2))
    sigma = float(np.std(resid[1:] - phi * resid[:-1]))

plt.switch_backend("Agg")
fig, ax = plt.subplots(figsize=(9, 4.5))
ax.plot(y, lw=0.5, color="0.6", label="record")
ax.plot(levels(cuts), lw=1.5, color="C3", label=f"segment levels ({len(cuts)} shifts)")
for cut in cuts:
    ax.axvline(cut, ls=":", lw=0.8, color="C0")
ax.set(xlabel="sample", ylabel="value", title=f"Change points; AR(1) noise phi = {phi:.2f}, sigma = {sigma:.3g}")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("segments.png", dpi=110)

np.save("count.npy", np.array([len(cuts)], dtype=np.int64))
np.save("level.npy", levels(cuts).astype(np.float64))
np.save("noise.npy", np.array([phi, sigma], dtype=np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
