"""Generator for chemistry.consecutive_reaction_kinetics.

Mechanism A -> B -> C. The first step has rate k1 [A]^n with an order n of 1 or 2 (drawn per instance);
the second step is first order, k2 [B]. Three runs at different initial [A] are sampled at irregular
times; [A] and [B] carry proportional and additive noise; [C] is not measured. The agent must find the
order of the first step, k1 and k2, and predict a fourth, unseen run that starts with more A than any
measured run and with some B already present: its [B](t) on a grid and the time at which [B] peaks.

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
from scipy.optimize import brentq

TASK_ID = "chemistry.consecutive_reaction_kinetics"
GENERATOR_VERSION = "2"
PARAMETERS = {"n_per_run": 40, "noise": 0.02, "n_eval": 300}
HERE = Path(__file__).resolve().parent
RUN_SCALES = (0.5, 1.0, 2.0)


def simulate(times: np.ndarray, a0: float, b0: float, order: int, k1: float, k2: float):
    """[A] and [B] at `times`, plus the dense solution, from tightly integrated rate equations."""

    def rhs(_t, y):
        a, b = y
        r1 = k1 * max(a, 0.0) ** order
        return [-r1, r1 - k2 * b]

    sol = solve_ivp(rhs, (0.0, float(times.max())), [a0, b0], method="LSODA", dense_output=True, rtol=1e-11, atol=1e-13)
    values = sol.sol(times)
    return values[0], values[1], sol


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

    order = int(rng.integers(1, 3))
    a_base = round(float(rng.uniform(0.8, 2.0)), 2)
    initial_rate = rng.uniform(0.12, 0.8)  # k1 a_base^(order-1), 1/min
    k1 = initial_rate / a_base ** (order - 1)
    ratio = rng.uniform(0.2, 0.55) if rng.random() < 0.5 else rng.uniform(1.8, 4.0)  # away from k2 = k1
    k2 = initial_rate * ratio
    horizon = round(6.0 / min(initial_rate, k2), 1)

    n = int(params["n_per_run"])
    noise = float(params["noise"])
    rows = []
    runs_info = []
    for run, scale in enumerate(RUN_SCALES, start=1):
        a0 = round(a_base * scale, 3)
        t = np.sort(np.concatenate([[0.0], horizon * rng.beta(0.8, 1.5, n - 1)]))
        a, b, _ = simulate(t, a0, 0.0, order, k1, k2)
        a_obs = a * (1 + rng.normal(0, noise, n)) + rng.normal(0, 0.5 * noise * a_base, n)
        b_obs = b * (1 + rng.normal(0, noise, n)) + rng.normal(0, 0.5 * noise * a_base, n)
        temperature = 298.15 + rng.normal(0, 0.05, n) + 0.1 * (run - 2)
        rows += [(run, *row) for row in zip(t, a_obs, b_obs, temperature, strict=True)]
        runs_info.append({"run": run, "A0_mM": a0, "B0_mM": 0.0})

    # The run to predict: more A than any measured run, some B already present, [B] still rising at t = 0.
    target_a0 = round(a_base * rng.uniform(2.6, 3.4), 3)
    rate0 = k1 * target_a0**order
    target_b0 = round(min(rng.uniform(0.15, 0.35) * target_a0, 0.6 * rate0 / k2), 3)
    eval_times = np.linspace(0.0, horizon, int(params["n_eval"]))
    _, b_target, sol = simulate(eval_times, target_a0, target_b0, order, k1, k2)

    def db_dt(tt: float) -> float:
        a, b = sol.sol(tt)
        return k1 * max(a, 0.0) ** order - k2 * b

    grid = np.linspace(0.0, horizon, 4001)
    states = sol.sol(grid)
    slopes = k1 * np.clip(states[0], 0.0, None) ** order - k2 * states[1]
    cross = int(np.argmax(slopes < 0))
    t_max = brentq(db_dt, grid[cross - 1], grid[cross], xtol=1e-12)

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "runs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["run", "time_min", "A_mM", "B_mM", "temperature_K"])
        for run, t, a, b, temp in rows:
            writer.writerow([run, f"{t:.4f}", f"{a:.5f}", f"{b:.5f}", f"{temp:.3f}"])
    conditions = {"measured_runs": runs_info, "target_run": {"A0_mM": target_a0, "B0_mM": target_b0}}
    (out / "data" / "conditions.json").write_text(json.dumps(conditions, indent=2), encoding="utf-8")
    np.save(out / "data" / "eval_times.npy", eval_times)

    ref = {"order_A": order, "k1": float(k1), "k2": float(k2), "t_max_min": float(t_max)}
    (out / "reference" / "rate_law_ref.json").write_text(json.dumps(ref, indent=2), encoding="utf-8")
    np.save(out / "reference" / "b_prediction_ref.npy", b_target.astype(np.float64))

    values = {
        "n_rows": len(rows),
        "n_per_run": n,
        "n_eval": eval_times.size,
        "horizon": f"{horizon:g}",
        "target_a0": f"{target_a0:g}",
        "target_b0": f"{target_b0:g}",
    }
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/runs.csv", "data/conditions.json", "data/eval_times.npy"],
        "reference_files": ["reference/rate_law_ref.json", "reference/b_prediction_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
