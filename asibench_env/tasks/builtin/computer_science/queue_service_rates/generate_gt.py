"""Generator for computer_science.queue_service_rates.

A multi-server queue (Poisson arrivals, exponential service at a different rate on each server, FCFS,
a waiting job goes to the lowest-numbered free server) is observed through a request log that holds
arrival and departure times and the serving server, but not when service started; requests still in
service when the log was cut have no departure. The agent must estimate the arrival rate and each
server's service rate, and predict mean waiting times of what-if configurations (Erlang C).

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from pathlib import Path

import numpy as np

TASK_ID = "computer_science.queue_service_rates"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_servers": 3, "n_jobs": 6000}
HERE = Path(__file__).resolve().parent


def erlang_c_wait(lam: float, mu: float, servers: int) -> float:
    """Mean waiting time in queue of an M/M/c queue (infinite if unstable)."""
    a = lam / mu
    rho = a / servers
    if rho >= 1:
        return math.inf
    top = a**servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers * mu - lam)


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
    c, n_jobs = int(params["n_servers"]), int(params["n_jobs"])

    mu = rng.uniform(0.8, 1.6, c)  # jobs per second
    mu[int(rng.integers(c))] *= rng.uniform(0.45, 0.7)  # one slow server
    lam = rng.uniform(0.6, 0.85) * mu.sum()
    arrivals = np.cumsum(rng.exponential(1 / lam, n_jobs))
    cut = arrivals[-1]
    free_at = np.zeros(c)
    starts, departures, servers = np.empty(n_jobs), np.empty(n_jobs), np.empty(n_jobs, int)
    for j, t in enumerate(arrivals):  # FCFS: the job waits for the earliest free server, lowest id first
        ready = np.maximum(free_at, t)
        earliest = ready.min()
        server = int(np.nonzero(ready == earliest)[0][0])
        starts[j] = earliest
        departures[j] = earliest + rng.exponential(1 / mu[server])
        free_at[server] = departures[j]
        servers[j] = server
    in_log = departures <= cut

    scenarios = [(1.0, c + 1), (1.2, c + 1), (0.8, c), (1.1, c + 2)]
    pooled = mu.mean()
    waits = [erlang_c_wait(lam * f, pooled, s) for f, s in scenarios]

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "request_log.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["request_id", "arrival_s", "departure_s", "server", "bytes_sent"])
        for j in range(n_jobs):
            departure = f"{departures[j]:.4f}" if in_log[j] else ""
            writer.writerow([j + 1, f"{arrivals[j]:.4f}", departure, servers[j] + 1, int(rng.integers(200, 90000))])
    with open(out / "data" / "scenarios.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arrival_rate_factor", "servers"])
        for factor, servers_count in scenarios:
            writer.writerow([factor, servers_count])
    (out / "data" / "log_info.json").write_text(json.dumps({"log_end_s": round(float(cut), 4)}, indent=2))
    np.save(out / "reference" / "arrival_rate_ref.npy", np.array([lam], dtype=np.float64))
    np.save(out / "reference" / "service_rates_ref.npy", mu.astype(np.float64))
    np.save(out / "reference" / "waits_ref.npy", np.array(waits, dtype=np.float64))

    values = {"n_servers": c, "n_scenarios": len(scenarios)}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/request_log.csv", "data/scenarios.csv", "data/log_info.json"],
        "reference_files": ["reference/arrival_rate_ref.npy", "reference/service_rates_ref.npy",
                            "reference/waits_ref.npy"],
    }  # fmt: skip
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
