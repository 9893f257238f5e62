"""Generator for earth_science.seismic_event_location.

A local earthquake in a uniform half-space is recorded by a network of surface stations: P and S
arrival times picked with noise, a few gross mispicks, and some stations with S missing. The agent
must locate the hypocentre (epicentre, depth, origin time), estimate the P velocity, and predict P
arrival times at stations that did not record it.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "earth_science.seismic_event_location"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_stations": 14, "pick_noise_s": 0.05, "n_bad_picks": 2, "n_query": 10}
HERE = Path(__file__).resolve().parent


def travel(x, y, sx, sy, depth, velocity):
    return np.sqrt((sx - x) ** 2 + (sy - y) ** 2 + depth**2) / velocity


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
    n, noise, n_bad, n_query = (int(params["n_stations"]), float(params["pick_noise_s"]),
                                int(params["n_bad_picks"]), int(params["n_query"]))  # fmt: skip

    east0, north0 = round(rng.uniform(200, 700)), round(rng.uniform(3000, 5500))  # a UTM-like map grid, km
    sx, sy = east0 + rng.uniform(0, 100, n), north0 + rng.uniform(0, 100, n)
    x, y = east0 + rng.uniform(25, 75), north0 + rng.uniform(25, 75)
    depth = rng.uniform(8.0, 25.0)
    origin = rng.uniform(2.0, 8.0)
    vp = rng.uniform(5.6, 6.6)
    vs = vp / rng.uniform(1.68, 1.80)

    picks = []
    for k in range(n):
        picks.append((k, "P", origin + travel(x, y, sx[k], sy[k], depth, vp) + rng.normal(0, noise)))
        if rng.random() < 0.8:
            picks.append((k, "S", origin + travel(x, y, sx[k], sy[k], depth, vs) + rng.normal(0, 2 * noise)))
    for index in rng.choice(len(picks), n_bad, replace=False):
        k, phase, t = picks[index]
        picks[index] = (k, phase, t + rng.choice([-1, 1]) * rng.uniform(0.8, 2.0))
    qx, qy = east0 + rng.uniform(-20, 120, n_query), north0 + rng.uniform(-20, 120, n_query)

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "stations.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["station", "x_km", "y_km", "elevation_m"])
        for k in range(n):
            writer.writerow([f"ST{k:02d}", f"{sx[k]:.3f}", f"{sy[k]:.3f}", int(rng.integers(40, 400))])
    with open(out / "data" / "picks.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["station", "phase", "arrival_s", "snr"])
        for k, phase, t in sorted(picks, key=lambda p: p[2]):
            writer.writerow([f"ST{k:02d}", phase, f"{t:.3f}", f"{rng.uniform(3, 40):.1f}"])
    with open(out / "data" / "query_stations.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["station", "x_km", "y_km"])
        for k in range(n_query):
            writer.writerow([f"Q{k:02d}", f"{qx[k]:.3f}", f"{qy[k]:.3f}"])
    np.save(out / "reference" / "event_ref.npy", np.array([x, y, depth, origin, vp], dtype=np.float64))
    np.save(out / "reference" / "arrivals_ref.npy", (origin + travel(x, y, qx, qy, depth, vp)).astype(np.float64))

    values = {"n_stations": n, "n_query": n_query}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/stations.csv", "data/picks.csv", "data/query_stations.csv"],
        "reference_files": ["reference/event_ref.npy", "reference/arrivals_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
