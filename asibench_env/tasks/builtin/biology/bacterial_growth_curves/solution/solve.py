"""Reference solver for biology.bacterial_growth_curves.

Subtract the blanks' mean background from every read, then fit per well
OD = OD0 exp(Gompertz(t; lag, mu, A)) on the log scale (the noise is multiplicative), weighting out
reads too close to the background to carry information; OD0 is a free parameter.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import least_squares

rows = np.genfromtxt("data/plate_reads.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
blank = rows["content"] == "blank"
background = np.median(rows["od600"][blank])
wells = sorted(set(rows["well"][~blank]))


def gompertz(t, lag, mu, a):
    return a * np.exp(-np.exp(mu * np.e * (lag - t) / a + 1))


results, fitted = [], []  # fitted: (well, hours, corrected reads, fit parameters), for the figure
for well in wells:
    sel = rows["well"] == well
    t = rows["time_min"][sel] / 60.0
    od = rows["od600"][sel] - background
    keep = od > 0.004

    def residual(p):
        lag, mu, a, log_od0 = p
        return (log_od0 + gompertz(t[keep], lag, mu, a)) - np.log(od[keep])

    a0 = np.log(od[-5:].mean() / max(od[:4].mean(), 1e-3))
    fits = [
        least_squares(residual, [lag0, 0.6, max(a0, 1.0), np.log(max(od[:4].mean(), 1e-3))], loss="soft_l1", f_scale=0.1,
                      bounds=([0, 0.01, 0.1, -12], [20, 5, 10, 0]))
        for lag0 in (1.0, 3.0, 6.0)
    ]  # fmt: skip
    best = min(fits, key=lambda f: f.cost).x
    results.append(best[:3])
    fitted.append((well, t, od, best))
results = np.array(results)
plt.switch_backend("Agg")
fig, ax = plt.subplots(figsize=(8, 5))
for well, hours, reads, (lag, mu, a, log_od0) in fitted:
    above = reads > 0  # reads at or below the background have no place on a log scale
    dots = ax.semilogy(hours[above], reads[above], ".", ms=2, alpha=0.5)[0]
    grid = np.linspace(hours.min(), hours.max(), 300)
    ax.semilogy(grid, np.exp(log_od0 + gompertz(grid, lag, mu, a)), lw=0.9, color=dots.get_color(), label=well)
ax.set(xlabel="time (h)", ylabel="OD600 minus background", title="Gompertz fits per well")
ax.legend(fontsize=6, ncol=4)
fig.tight_layout()
fig.savefig("growth_fits.png", dpi=110)

np.save("lag.npy", results[:, 0].astype(np.float64))
np.save("mu_max.npy", results[:, 1].astype(np.float64))
np.save("asymptote.npy", results[:, 2].astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
