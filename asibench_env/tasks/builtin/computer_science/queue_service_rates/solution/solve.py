"""Reference solver for computer_science.queue_service_rates.

Service start times are not logged, but with FCFS a job starts when it arrives or when its server
finishes the previous job, whichever is later: start = max(arrival, previous departure on that server).
Each server's rate is the exponential MLE with right-censoring (completed services / total observed
service time, counting the unfinished services up to the end of the log); the arrival rate is the number
of arrivals over the log's span. Mean waits of the scenarios follow from Erlang C at the pooled rate.
"""

import json
import math
from pathlib import Path

import numpy as np

rows = np.genfromtxt("data/request_log.csv", delimiter=",", names=True)
scenarios = np.genfromtxt("data/scenarios.csv", delimiter=",", names=True)
end = json.loads(Path("data/log_info.json").read_text())["log_end_s"]
arrival, departure, server = rows["arrival_s"], rows["departure_s"], rows["server"].astype(int)
servers = np.unique(server)
rates = []
for s in servers:
    mine = np.nonzero(server == s)[0]
    a, d = arrival[mine], departure[mine]
    previous = np.r_[0.0, d[:-1]]
    started = np.isfinite(previous)  # behind an unfinished job, a job never started
    start = np.maximum(a, np.where(started, previous, end))
    done = np.isfinite(d)
    busy = np.where(done, d - start, np.where(started, end - start, 0.0))
    busy = np.clip(busy, 0.0, None)
    rates.append(done.sum() / busy.sum())
lam = (arrival.size - 1) / (arrival[-1] - arrival[0])
pooled = float(np.mean(rates))


def erlang_c_wait(lam, mu, c):
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top) / (c * mu - lam)


waits = [erlang_c_wait(lam * f, pooled, int(c)) for f, c in zip(scenarios["arrival_rate_factor"], scenarios["servers"])]
np.save("arrival_rate.npy", np.array([lam], dtype=np.float64))
np.save("service_rates.npy", np.array(rates, dtype=np.float64))
np.save("waits.npy", np.array(waits, dtype=np.float64))
Path("analysis.py").write_text(Path(__file__).read_text())
