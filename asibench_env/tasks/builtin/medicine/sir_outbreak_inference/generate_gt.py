"""Generator for medicine.sir_outbreak_inference.

An outbreak follows the SIR model in a closed population; a known fraction of new infections is
reported, modulated by a day-of-week pattern (fewer reports at weekends, catch-up on Monday; the weekly
factors average to one), with Poisson noise. The agent sees the daily reports up to a little past the
peak and must infer the transmission and recovery rates and R0, and forecast the expected reports of the
next weeks, weekday pattern included.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

TASK_ID = "medicine.sir_outbreak_inference"
GENERATOR_VERSION = "2"
PARAMETERS = {"horizon": 28, "days_after_peak": 12}
HERE = Path(__file__).resolve().parent


def daily_incidence(beta: float, gamma: float, population: float, i0: float, days: int) -> np.ndarray:
    """New infections on days 1..days (S(d-1) - S(d)) of the deterministic SIR model."""

    def rhs(_t, y):
        s, i = y
        infection = beta * s * i / population
        return [-infection, infection - gamma * i]

    grid = np.arange(days + 1, dtype=float)
    sol = solve_ivp(rhs, (0.0, float(days)), [population - i0, i0], t_eval=grid, rtol=1e-9, atol=1e-6, method="LSODA")
    return -np.diff(sol.y[0])


def render(template: str, values: dict[str, object]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(values[m.group(1)]), template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--params", default="{}")
    args = parser.parse_args()
    given = json.loads(args.params)
    unknown = set(given) - set(PARAMETERS) - {"seed"}
    if unknown:
        raise SystemExit(f"unknown parameters: {sorted(unknown)}")
    params = {**PARAMETERS, "seed": 0, **given}
    rng = np.random.default_rng(int(params["seed"]))

    gamma = rng.uniform(0.1, 0.25)
    r0 = rng.uniform(1.8, 3.2)
    beta = r0 * gamma
    population = float(rng.integers(200_000, 2_000_000))
    i0 = float(rng.integers(10, 60))
    reporting = round(float(rng.uniform(0.2, 0.6)), 3)

    dip = rng.uniform(0.35, 0.6)
    raw = np.array([1 + 0.6 * dip, 1 + 0.25 * dip, 1.0, 1.0, 1.0, 1 - 0.6 * dip, 1 - dip])  # Mon..Sun
    week = raw / raw.mean()
    start = int(rng.integers(0, 7))  # weekday index of day 1

    long_run = daily_incidence(beta, gamma, population, i0, 400)
    peak_day = int(np.argmax(long_run)) + 1
    observed_days = peak_day + int(params["days_after_peak"])
    horizon = int(params["horizon"])
    factors = week[(start + np.arange(observed_days + horizon)) % 7]
    expected = reporting * factors * long_run[: observed_days + horizon]
    reported = rng.poisson(expected[:observed_days])
    tests = np.round(reported / reporting / factors[:observed_days] * rng.uniform(3, 6, observed_days)).astype(int)
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "daily_reports.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["day", "weekday", "reported_cases", "tests_performed"])
        for day in range(observed_days):
            writer.writerow([day + 1, weekdays[(start + day) % 7], int(reported[day]), int(tests[day])])
    info = {"population": int(population), "reporting_fraction": reporting, "first_day": 1, "forecast_days": horizon}
    (out / "data" / "outbreak_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    np.save(out / "reference" / "parameters_ref.npy", np.array([beta, gamma, r0], dtype=np.float64))
    np.save(out / "reference" / "forecast_ref.npy", expected[observed_days:].astype(np.float64))

    values = {
        "observed_days": observed_days,
        "horizon": horizon,
        "first_forecast_day": observed_days + 1,
        "last_forecast_day": observed_days + horizon,
    }
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/daily_reports.csv", "data/outbreak_info.json"],
        "reference_files": ["reference/parameters_ref.npy", "reference/forecast_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
