"""Reference solver for earth_science.seismic_event_location.

Joint P and S location in a uniform half-space: a coarse grid over the epicentre and depth (origin time
and velocities solved per node) gives the start; nonlinear least squares with a robust loss refines
(x, y, depth, origin, vp, vs); picks with residuals beyond 4 robust standard deviations are dropped and
the fit repeated. P arrivals at the query stations follow from the fitted model.
"""

from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

stations = np.genfromtxt("data/stations.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
picks = np.genfromtxt("data/picks.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
query = np.genfromtxt("data/query_stations.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
where = {name: (x, y) for name, x, y in zip(stations["station"], stations["x_km"], stations["y_km"])}
px = np.array([where[s][0] for s in picks["station"]])
py = np.array([where[s][1] for s in picks["station"]])
is_s = picks["phase"] == "S"
t_obs = picks["arrival_s"]


def predicted(p, px=px, py=py, is_s=is_s):
    x, y, z, t0, vp, vs = p
    dist = np.sqrt((px - x) ** 2 + (py - y) ** 2 + z**2)
    return t0 + dist / np.where(is_s, vs, vp)


def solve(keep, start):
    fit = least_squares(
        lambda p: predicted(p, px[keep], py[keep], is_s[keep]) - t_obs[keep],
        start,
        loss="soft_l1",
        f_scale=0.1,
        bounds=([lo_x - 50, lo_y - 50, 0.0, -50, 3.0, 1.5], [hi_x + 50, hi_y + 50, 60, 50, 9.0, 6.0]),
    )
    return fit.x


lo_x, hi_x = stations["x_km"].min(), stations["x_km"].max()
lo_y, hi_y = stations["y_km"].min(), stations["y_km"].max()
best = None
for x in np.linspace(lo_x, hi_x, 11):
    for y in np.linspace(lo_y, hi_y, 11):
        for z in (5.0, 15.0, 25.0):
            start = [x, y, z, np.min(t_obs) - 3, 6.0, 3.5]
            res = predicted(start) - t_obs
            cost = np.sum(np.abs(res - np.median(res)))
            if best is None or cost < best[0]:
                best = (cost, start[:3] + [start[3] - np.median(res)] + start[4:])
keep = np.ones_like(t_obs, bool)
p = solve(keep, best[1])
for _ in range(2):
    resid = predicted(p) - t_obs
    mad = 1.4826 * np.median(np.abs(resid - np.median(resid)))
    keep = np.abs(resid) < max(4 * mad, 0.15)
    p = solve(keep, p)
x, y, z, t0, vp, vs = p
np.save("event.npy", np.array([x, y, z, t0, vp], dtype=np.float64))
arrivals = predicted(p, query["x_km"], query["y_km"], np.zeros(query.size, bool))
np.save("predicted_p.npy", arrivals.astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
