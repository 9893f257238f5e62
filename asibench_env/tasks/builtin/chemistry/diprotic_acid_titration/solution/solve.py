"""Reference solver for chemistry.diprotic_acid_titration.

The exact charge balance of H2A + NaOH gives pH as a function of titrant volume for (pKa1, pKa2,
concentration); fitting it together with an electrode offset to the whole curve uses every point
(the strong-base tail pins the offset, the buffer regions the pKa values, the jumps the
concentration). Starting values: equivalence volumes from the steepest rises, pKa from the pH at half
and one-and-a-half equivalence.
"""

import json
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, least_squares

data = np.genfromtxt("data/titration.csv", delimiter=",", names=True)
setup = json.loads(Path("data/setup.json").read_text())
query = np.load("data/query_volumes_ml.npy")
v, ph = data["naoh_added_ml"], data["ph_reading"]
v0, cb, kw = setup["sample_volume_ml"], setup["naoh_concentration_m"], 10.0 ** -setup["pkw"]


def curve(volumes, pka1, pka2, acid):
    k1, k2 = 10.0**-pka1, 10.0**-pka2
    result = []
    for vol in volumes:
        na, total = cb * vol / (v0 + vol), acid * v0 / (v0 + vol)

        def balance(log_h):
            h = 10.0**log_h
            return na + h - kw / h - total * (k1 * h + 2 * k1 * k2) / (h * h + k1 * h + k1 * k2)

        result.append(-brentq(balance, -14.5, 0.5, xtol=1e-12))
    return np.array(result)


vs, first = np.unique(v, return_index=True)
phs = ph[first]
slope = np.gradient(phs, vs)
ve2 = vs[np.argmax(np.where(vs > 0.6 * vs.max(), slope, 0))]
acid0 = ve2 * cb / (2 * v0)
ve1 = ve2 / 2
pka1_0 = np.interp(ve1 / 2, vs, phs)
pka2_0 = np.interp(1.5 * ve1, vs, phs)


def residual(p):
    return curve(v, p[0], p[1], np.exp(p[2])) + p[3] - ph


fit = least_squares(residual, [pka1_0, pka2_0, np.log(acid0), 0.0], loss="soft_l1", f_scale=0.03)
pka1, pka2, acid = fit.x[0], fit.x[1], np.exp(fit.x[2])
ve1 = acid * v0 / cb
np.save("acid.npy", np.array([pka1, pka2, acid], dtype=np.float64))
np.save("equivalence.npy", np.array([ve1, 2 * ve1], dtype=np.float64))
np.save("ph_pred.npy", curve(query, pka1, pka2, acid).astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
