"""Reference solver for medicine.sir_outbreak_inference.

Poisson maximum likelihood of an SIR model with a known mean reporting fraction and a day-of-week
reporting pattern. For given (beta, gamma, I0) the seven weekday factors have a closed-form maximum
(reported over expected, per weekday), rescaled to average one; the outer search over (beta, gamma, I0)
runs Nelder-Mead in log space from several starting recovery rates. The early growth rate
r = beta - gamma gives the starting values.
"""

import json
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
rows = np.genfromtxt("data/daily_reports.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
cases = rows["reported_cases"].astype(float)
weekday = np.array([WEEKDAYS.index(w) for w in rows["weekday"]])
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


def weekday_factors(base):
    f = np.array([cases[weekday == d].sum() / max(base[weekday == d].sum(), 1e-9) for d in range(7)])
    return f / f.mean()


def deviance(theta):
    beta, gamma, i0 = np.exp(theta)
    base = rho * incidence(beta, gamma, i0, days)
    mu = np.maximum(base * weekday_factors(base)[weekday], 1e-9)
    return float(np.sum(mu - cases * np.log(mu)))


smooth = np.convolve(cases, np.ones(7) / 7, mode="same")
early = slice(3, max(10, int(np.argmax(smooth)) // 2))
growth = np.polyfit(np.arange(days)[early], np.log(smooth[early] + 1.0), 1)[0]
best = None
for gamma0 in (0.1, 0.17, 0.28):
    beta0 = max(growth, 0.02) + gamma0
    i00 = max(smooth[3] / rho / max(beta0, 0.05), 1.0)
    fit = minimize(deviance, np.log([beta0, gamma0, i00]), method="Nelder-Mead",
                   options={"xatol": 1e-6, "fatol": 1e-6, "maxiter": 2000})
    if best is None or fit.fun < best.fun:
        best = fit
beta, gamma, i0 = np.exp(best.x)
full = rho * incidence(beta, gamma, i0, days + horizon)
factors = weekday_factors(full[:days])
future_weekday = (weekday[0] + np.arange(days, days + horizon)) % 7
forecast = full[days:] * factors[future_weekday]
np.save("parameters.npy", np.array([beta, gamma, beta / gamma], dtype=np.float64))
np.save("forecast.npy", forecast.astype(np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
