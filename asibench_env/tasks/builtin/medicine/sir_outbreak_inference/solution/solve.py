"""Reference solver for medicine.sir_outbreak_inference: Poisson maximum likelihood on an SIR model.

Starting values come from the early exponential growth rate (r = beta - gamma); the fit minimises the
Poisson deviance of the reported counts over (beta, gamma, I0) from several starting recovery rates.
"""

import json
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

rows = np.genfromtxt("data/daily_reports.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
cases = rows["reported_cases"].astype(float)
info = json.loads(Path("data/outbreak_info.json").read_text())
population, rho, horizon = info["population"], info["reporting_fraction"], info["forecast_days"]
days = cases.size


def incidence(beta, gamma, i0, n_days):
    def rhs(_t, y):
        s, i = y
        infection = beta * s * i / population
        return [-infection, infection - gamma * i]

    sol = solve_ivp(rhs, (0.0, float(n_days)), [population - i0, i0], t_eval=np.arange(n_days + 1.0),
                    rtol=1e-8, atol=1e-6, method="LSODA")
    return -np.diff(sol.y[0])


def deviance(theta):
    beta, gamma, i0 = np.exp(theta)
    mu = np.maximum(rho * incidence(beta, gamma, i0, days), 1e-9)
    return float(np.sum(mu - cases * np.log(mu)))


early = slice(0, max(5, int(np.argmax(cases)) // 2))
growth = np.polyfit(np.arange(days)[early], np.log(cases[early] + 1.0), 1)[0]
best = None
for gamma0 in (0.08, 0.12, 0.18, 0.25, 0.35):
    beta0 = max(growth, 0.02) + gamma0
    i00 = max(cases[0] / rho / max(beta0, 0.05), 1.0)
    fit = minimize(deviance, np.log([beta0, gamma0, i00]), method="Nelder-Mead",
                   options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 4000})
    if best is None or fit.fun < best.fun:
        best = fit
beta, gamma, i0 = np.exp(best.x)
forecast = rho * incidence(beta, gamma, i0, days + horizon)[days:]
np.save("parameters.npy", np.array([beta, gamma, beta / gamma], dtype=np.float64))
np.save("forecast.npy", forecast.astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
