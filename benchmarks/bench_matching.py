"""Speed and memory of psm.match against baselines timed in the same run.

    PYTHONPATH=src python benchmarks/bench_matching.py [--n 1000000] [--repeat 3]

Data: n treated and n control scores, uniform on (0, 1), fixed seed. Rows timed (best of
``--repeat`` runs, the Matching result complete with weights and pairs):

* floor: ``np.argsort`` of all 2n scores (producing index pairs needs at least a sort);
* psm.match 1:1 with replacement (targets: <= 3x the floor, >= 5x faster than
  scikit-learn ``NearestNeighbors(n_neighbors=1)`` on the same scores);
* k=5 with ties, a caliper, without replacement (target < 10 s at 1M + 1M);
* anything registered in ``EXTRAS`` (see :func:`time_callable`), e.g. the Abadie–Imbens SE;
* kernel matching (epan, biweight at the default bandwidth 0.06) and radius matching
  (caliper 0.06): weights and the matched outcome, target within 10x the floor for epan.
  These kernels are polynomials inside their window, so prefix sums make the cost
  O(n log n) whatever the bandwidth; the tricube kernel is evaluated pair by pair, so its
  row uses a bandwidth of 10/n (about 20 controls per window) and its cost grows with
  n * n * 2h; the normal kernel (no window, n * n pairs) is not timed at this size.

Peak memory is the tracemalloc peak of one 1:1 match at n/4 and n: bytes per row staying
flat shows memory linear in n (no n_t x n_c array).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd

import psm

#: Extra rows: (label, fn(data, matching)) pairs, timed and reported as a ratio to the
#: 1:1 matching time (target for the Abadie-Imbens SE: under 3x).
EXTRAS: list[tuple[str, Callable[[pd.DataFrame, psm.Matching], object]]] = [
    ("ATT with psmatch2 + Abadie-Imbens SE", lambda d, m: psm.effect(d, "y", m).se_ai),
]


def time_callable(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall-clock time in seconds of ``repeat`` calls of ``fn()``."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def make_data(n: int, seed: int = 20200701) -> pd.DataFrame:
    """n treated and n controls with uniform scores and an outcome (for EXTRAS)."""
    rng = np.random.default_rng(seed)
    treated = np.repeat(np.array([1, 0], dtype=np.int8), n)
    score = rng.random(2 * n)
    return pd.DataFrame({"t": treated, "p": score, "y": rng.normal(size=2 * n) + treated})


def full_match(data: pd.DataFrame, **options) -> psm.Matching:
    """psm.match with the result's weights and pairs materialised."""
    m = psm.match(data, "t", "p", **options)
    assert len(m.pairs) and m.weights.sum() > 0
    return m


def kernel_result(data: pd.DataFrame, **options) -> pd.Series:
    """Kernel or radius matching with its weights and the matched outcome of every treated."""
    m = psm.match(data, "t", "p", **options)
    assert m.weights.sum() > 0
    return m.matched_outcome(data["y"])


def nearest_neighbors_baseline(data: pd.DataFrame) -> None:
    from sklearn.neighbors import NearestNeighbors

    treated = data["t"].to_numpy() == 1
    score = data["p"].to_numpy()
    nn = NearestNeighbors(n_neighbors=1).fit(score[~treated, None])
    nn.kneighbors(score[treated, None])


def peak_bytes(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(n: int, repeat: int) -> list[tuple[str, float, str]]:
    data = make_data(n)
    scores = data["p"].to_numpy()
    rows: list[tuple[str, float, str]] = []
    floor = time_callable(lambda: np.argsort(scores), repeat)
    rows.append((f"np.argsort of {2 * n:,} scores (floor)", floor, "1.00x floor"))
    t11 = time_callable(lambda: full_match(data), repeat)
    rows.append(("psm.match 1:1 with replacement", t11, f"{t11 / floor:.2f}x floor (target <= 3)"))
    tnn = time_callable(lambda: nearest_neighbors_baseline(data), 1)
    rows.append(("sklearn NearestNeighbors(n_neighbors=1)", tnn, f"{tnn / t11:.1f}x slower than psm (target >= 5)"))
    gap = 1 / n  # mean spacing of the control scores
    for label, options, note in [
        ("psm.match k=5, ties", {"k": 5, "ties": True}, ""),
        ("psm.match caliper=0.5/n", {"caliper": 0.5 * gap}, ""),
        ("psm.match without replacement", {"replace": False}, " (target < 10 s)"),
        ("psm.match without replacement, ties", {"replace": False, "ties": True}, ""),
    ]:
        runs = repeat if options.get("replace", True) else 1
        seconds = time_callable(lambda options=options: full_match(data, **options), runs)
        rows.append((label, seconds, f"{seconds / floor:.2f}x floor{note}"))
    for label, options, note in [
        ("psm.match kernel epan, bandwidth 0.06", {"method": "kernel"}, " (target <= 10)"),
        ("psm.match kernel biweight, bandwidth 0.06", {"method": "kernel", "kernel": "biweight"}, ""),
        ("psm.match radius, caliper 0.06", {"method": "radius", "caliper": 0.06}, ""),
        ("psm.match kernel tricube, bandwidth 10/n", {"method": "kernel", "kernel": "tricube", "bandwidth": 10 / n},
         " (pair by pair)"),
    ]:
        seconds = time_callable(lambda options=options: kernel_result(data, **options), repeat)
        rows.append((label, seconds, f"{seconds / floor:.2f}x floor{note}"))
    if EXTRAS:
        matching = full_match(data)
        for label, fn in EXTRAS:
            seconds = time_callable(lambda fn=fn: fn(data, matching), repeat)
            rows.append((label, seconds, f"{seconds / t11:.2f}x the 1:1 matching"))
    small = make_data(n // 4)
    peaks = [peak_bytes(lambda d=d: full_match(d)) for d in (small, data)]
    per_row = [peak / len(d) for peak, d in zip(peaks, (small, data))]
    rows.append(
        ("peak memory of 1:1 match (MiB, tracemalloc)", peaks[1] / 2**20,
         f"{per_row[0]:.0f} B/row at n/4, {per_row[1]:.0f} B/row at n (flat = linear in n)")
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="treated (= controls) count")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    rows = run(args.n, args.repeat)
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'seconds':>9}  ratio")
    for label, seconds, note in rows:
        print(f"{label:<{width}}  {seconds:9.3f}  {note}")


if __name__ == "__main__":
    main()
