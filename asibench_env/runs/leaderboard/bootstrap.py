"""Hierarchical bootstrap of a mean score: resample tasks, then instances within each task (numpy, seeded)."""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

DEFAULT_RESAMPLES = 2000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def row_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one estimate: the board's seed and a stable key, so adding a row changes no other."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def instance_means(instance: IntArray, scores: FloatArray) -> tuple[FloatArray, IntArray]:
    """(mean score, count) per instance code 0..n-1 (every code present in ``instance``)."""
    counts = np.bincount(instance)
    sums = np.bincount(instance, weights=scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def hierarchical_mean(task: IntArray, instance: IntArray, scores: FloatArray) -> float | None:
    """Mean over tasks of each task's mean over its instances (each instance: the mean of its episodes).

    ``task`` and ``instance`` are integer codes per episode (an instance belongs to one task).
    """
    if scores.size == 0:
        return None
    _, inst, inst_task = _compact(task, instance)
    means, _ = instance_means(inst, scores)
    task_of = np.zeros(means.size, dtype=np.int64)
    task_of[inst] = inst_task
    task_sum = np.bincount(task_of, weights=means)
    task_n = np.bincount(task_of)
    return float(np.mean(task_sum / task_n))


def _compact(task: IntArray, instance: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Renumber tasks and instances 0..n-1; returns (task codes, instance codes, task code per episode)."""
    _, task_c = np.unique(task, return_inverse=True)
    _, inst_c = np.unique(instance, return_inverse=True)
    return task_c.astype(np.int64), inst_c.astype(np.int64), task_c.astype(np.int64)


def hierarchical_interval(
    task: IntArray,
    instance: IntArray,
    scores: FloatArray,
    rng: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES,
) -> tuple[float, float] | None:
    """95% percentile interval of :func:`hierarchical_mean` by a two-stage bootstrap.

    Stage 1 draws, per task, its instances with replacement (``resamples`` x n_t) and takes the mean of
    their instance means; stage 2 draws tasks with replacement and averages those task means. None when
    there are no scores.
    """
    if scores.size == 0:
        return None
    _, inst, inst_task = _compact(task, instance)
    means, _ = instance_means(inst, scores)
    task_of = np.zeros(means.size, dtype=np.int64)
    task_of[inst] = inst_task
    order = np.argsort(task_of, kind="stable")
    sorted_means = means[order]
    bounds = np.searchsorted(task_of[order], np.arange(task_of.max() + 2))
    n_tasks = bounds.size - 1
    per_task = np.empty((resamples, n_tasks))
    for t in range(n_tasks):
        block = sorted_means[bounds[t] : bounds[t + 1]]
        if block.size == 1:
            per_task[:, t] = block[0]
        else:
            per_task[:, t] = block[rng.integers(0, block.size, size=(resamples, block.size))].mean(axis=1)
    picks = rng.integers(0, n_tasks, size=(resamples, n_tasks))
    boot = np.take_along_axis(per_task, picks, axis=1).mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return float(low), float(high)
