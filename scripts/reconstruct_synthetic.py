"""Offline search for the reconstruction of ``data/synthetic`` (not used at run time).

Run: ``PYTHONPATH=src nice -n 19 python scripts/reconstruct_synthetic.py --minutes 60 --seed 1``
(``--resume`` continues from the checkpoint, ``--from-stored`` from the stored permutations,
``--window-means`` first fixes A1-A5's unmatched means, ``--outcomes N`` first runs N sweeps of
:meth:`Search.outcome_pass`).
It prints progress, checkpoints its best state to ``--checkpoint`` (an ``.npz``); ``--write`` (or
``--write-only``) stores the checkpoint's permutations in ``src/psm/newchance/data/reconstruction.yaml``, which
:func:`psm.newchance.synthetic.reconstruction.reconstruct` applies to the structural simulation of
:data:`psm.newchance.synthetic.DEFAULT_SEED`.

The search (simulated annealing, deterministic given ``--seed`` and the number of steps):

* **State.** The analysed people of the structural simulation, in the prepared file's order. A move
  swaps one matching covariate (age, ethnicity, substance marker, MH marker, employment, offence type or
  offending history; each with its raw code) between two people of the same group, or swaps the whole
  reoffending history (first reoffence and later offences) between two people of the same group (the
  treated: of the same engagement class, so that the rates of section 3.4.1 stay; both histories must fit
  inside both follow-ups; the treated window rates stay within RATE_BAND of Table 2's). Every move keeps
  each group's unmatched means and variances of Table 1 and its total number of reoffenders (22.0% and
  44.5%), and changes the scores, the matches or the matched outcomes. A move that would give someone an
  offending history longer than ``4 (age - 15) + 4`` is refused. Treated ethnicity moves stay inside a
  referral-date stratum (the White-only Ns of every window); with ``--window-means`` the treated values
  of the other covariates are first placed in the strata that give A1-A5's unmatched means
  (:meth:`Search.fix_window_means`), and treated moves then stay inside a stratum too.
* **Objective.** The number of published cells of Table 1, A1–A5, Table 2 and the sub-group table
  (twice: window and total outcome) within the published rounding, minus a small penalty on the
  distance of the missed cells to their interval (a slope for the search), computed by
  :class:`Evaluator`, a stripped numpy copy of the published pipeline: probit by Fisher scoring (warm
  started), psmatch2 ``common`` and 1:1 nearest neighbour with replacement, pstest ``both`` statistics
  and psmatch2's Unmatched and ATT rows. A covariate move refits only the runs whose sample holds one
  of the two people; a reoffending move keeps the matches and recomputes only the outcome rows.
* **Check.** ``--verify`` runs the project's own pipeline
  (:func:`psm.newchance.analysis.agreement.matching_agreement`) on the written folder and prints the
  counts per table beside the evaluator's.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import special

from psm.newchance.analysis import tables
from psm.newchance.analysis.specification import COVARIATES, subgroups
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.preparation.prepare import prepare
from psm.newchance.published import compare
from psm.newchance.synthetic import reconstruction
from psm.newchance.synthetic.design import START_WINDOW
from psm.newchance.synthetic.simulation import DEFAULT_SEED, _streams
from psm.newchance.synthetic.texts import _earlier_offence_days, person_streams

LIMITS = {"total": math.inf, "30d": 30, "60d": 60, "90d": 90, "6m": 182, "12m": 365}
WINDOWS = tuple(LIMITS)
SUBGROUP_WINDOWS = ("total", "6m", "12m")
EFFECT = list(tables.EFFECT_COLUMNS)  # treated, control, difference, star, se, t
BALANCE = list(tables.BALANCE_COLUMNS)
RATE_BAND = 0.0125  # treated window rates kept this close to Table 2 (the calibration allows 0.015)
PENALTY = 0.01  # weight of the distance to the interval (in tolerances, capped at 10) per missed cell


def _interval(text) -> tuple[float, float]:
    value, tol, _, _ = compare._published_cell(text, None)
    slack = compare._FLOAT_SLACK * max(1.0, abs(value))
    return value - tol - slack, value + tol + slack


def _targets(frame, columns) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.empty((len(frame), len(columns))), np.empty((len(frame), len(columns)))
    for i, (_, row) in enumerate(frame.iterrows()):
        for j, c in enumerate(columns):
            lo[i, j], hi[i, j] = _interval(row[c])
    return lo.ravel(), hi.ravel()


def _stages(frame, key):
    """The before- and after-matching rows of one window (and sub-group), in that order."""
    return frame.loc[[(*key, stage) for stage in ("before_matching", "after_matching")]]


class Run:
    """One propensity-score analysis of the published specification: a window, maybe a sub-group."""

    def __init__(self, name, window, covariates, outcomes, with_balance, member=None):
        self.name, self.window, self.cols = name, window, np.array(covariates)
        self.outcomes, self.with_balance, self.member = outcomes, with_balance, member
        self.beta = None
        self.lo = self.hi = None
        self.cache = None

    def sample(self, ev) -> np.ndarray:
        keep = ev.eligible[self.window].copy()
        if self.member is not None:
            column, value = self.member
            keep &= ev.X[:, column] == value
        return np.flatnonzero(keep)


class Evaluator:
    """The published pipeline on arrays (prepared order): ``X`` (n x 7, :data:`COVARIATES`),
    ``treated``, ``eligible`` per window and ``days`` to the first reoffence (inf: none)."""

    def __init__(self, X, treated, eligible, days, order_key=None):
        self.X, self.treated, self.eligible = X.astype(float), treated.astype(bool), eligible
        self.days = days.astype(float)
        # data order of the people (ties in the score go to the earlier one); a history move can change it
        self.key = np.arange(len(days), dtype=float) if order_key is None else order_key.astype(float)
        self.runs: list[Run] = []
        pub_balance = {w: tables.published_balance_table(w) for w in WINDOWS}
        t2 = tables.published_effect_table("table_2")
        for w in WINDOWS:
            run = Run(w, w, range(7), [w], True)
            blo, bhi = _targets(pub_balance[w], BALANCE)
            elo, ehi = _targets(_stages(t2, (w,)), EFFECT)
            run.lo, run.hi = np.concatenate([blo, elo]), np.concatenate([bhi, ehi])
            run.before = np.r_[np.zeros(49, bool), np.ones(6, bool), np.zeros(6, bool)]
            self.runs.append(run)
        sub = tables.published_effect_table("subgroups")
        for key, group in subgroups().items():
            cols = [COVARIATES.index(c) for c in group.covariates]
            for w in SUBGROUP_WINDOWS:
                run = Run(f"{key}/{w}", w, cols, [w, "total"], False, (COVARIATES.index(group.column), group.value))
                lo, hi = _targets(_stages(sub, (key, w)), EFFECT)
                run.lo, run.hi = np.concatenate([lo, lo]), np.concatenate([hi, hi])
                run.before = np.tile(np.r_[np.ones(6, bool), np.zeros(6, bool)], 2)
                self.runs.append(run)
        self.Y = self._outcomes()
        for run in self.runs:
            self.refit(run)

    # -- pieces -------------------------------------------------------------------------------------
    def _outcomes(self) -> dict[str, np.ndarray]:
        return {w: (self.days <= lim).astype(float) if math.isfinite(lim) else np.isfinite(self.days).astype(float)
                for w, lim in LIMITS.items()}

    def outcome(self, w, idx):
        lim = LIMITS[w]
        d = self.days[idx]
        return (d <= lim).astype(float) if math.isfinite(lim) else np.isfinite(d).astype(float)

    @staticmethod
    def probit(X1, y, beta):
        if beta is None or beta.shape[0] != X1.shape[1]:
            beta = np.zeros(X1.shape[1])
        for _ in range(50):
            eta = X1 @ beta
            mu = np.clip(special.ndtr(eta), 1e-12, 1 - 1e-12)
            pdf = np.maximum(np.exp(-0.5 * eta * eta) / math.sqrt(2 * math.pi), 1e-300)
            w = pdf * pdf / (mu * (1 - mu))
            z = eta + (y - mu) / pdf
            XtW = X1.T * w
            new = np.linalg.solve(XtW @ X1, XtW @ z)
            done = np.max(np.abs(new - beta)) < 1e-11 * (1 + np.max(np.abs(beta)))
            beta = new
            if done:
                break
        return beta

    def refit(self, run: Run) -> None:
        """Score, support, matches and every cell of ``run``."""
        idx = run.sample(self)
        t = self.treated[idx]
        Xs = self.X[np.ix_(idx, run.cols)]
        X1 = np.column_stack([Xs, np.ones(len(idx))])
        run.beta = self.probit(X1, t.astype(float), run.beta)
        p = special.ndtr(X1 @ run.beta)
        tpos, cpos = np.flatnonzero(t), np.flatnonzero(~t)
        pt, pc = p[tpos], p[cpos]
        on = (pt >= pc.min()) & (pt <= pc.max())
        order = np.lexsort((self.key[idx[cpos]], pc))
        cs = pc[order]
        q = pt[on]
        right = np.clip(np.searchsorted(cs, q, side="left"), 0, len(cs) - 1)
        left = np.clip(right - 1, 0, len(cs) - 1)
        left = np.searchsorted(cs, cs[left], side="left")  # first of a run of equal scores
        pick = np.where(np.abs(cs[right] - q) < np.abs(q - cs[left]), right, left)
        w = np.bincount(order[pick], minlength=len(cpos)).astype(float)
        run.cache = (idx, tpos, cpos, on, w)
        run.values = self.cells(run)

    def cells(self, run: Run, reuse: bool = False) -> np.ndarray:
        """Every cell of ``run`` (``reuse``: the balance rows of the last call, for an outcome move)."""
        idx, tpos, cpos, on, w = run.cache
        parts = []
        if run.with_balance and reuse:
            parts.append(run.balance)
        elif run.with_balance:
            Xs = self.X[idx]
            x1, x0 = Xs[tpos], Xs[cpos]
            n1 = on.sum()
            m1u, m0u = x1.mean(0), x0.mean(0)
            v1u, v0u = x1.var(0, ddof=1), x0.var(0, ddof=1)
            x1on = x1[on]
            m1 = x1on.mean(0)
            m0 = w @ x0 / n1
            ss = ((x1on - m1) ** 2).sum(0) + w @ (x0 - m0) ** 2
            s2 = ss / (2 * n1 - 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                tt = (m1 - m0) / np.sqrt(s2 * 2 / n1)
            pp = 2 * special.stdtr(2 * n1 - 2, -np.abs(tt))
            bias = 100 * (m1 - m0) / np.sqrt((v1u + v0u) / 2)
            run.balance = np.column_stack([m1u, m0u, m1, m0, bias, tt, pp]).ravel()
            parts.append(run.balance)
        for w_name in run.outcomes:
            y = self.outcome(w_name, idx)
            parts.append(self._effect_rows(y[tpos], y[cpos], on, w))
        return np.concatenate(parts)

    @staticmethod
    def _effect_rows(y1, y0, on, w) -> np.ndarray:
        n1, n0 = len(y1), len(y0)
        a, b = y1.mean(), y0.mean()
        sp2 = (((y1 - a) ** 2).sum() + ((y0 - b) ** 2).sum()) / (n1 + n0 - 2)
        se_u = math.sqrt(sp2 * (1 / n1 + 1 / n0))
        t_u = (a - b) / se_u if se_u > 0 else math.nan
        y1on = y1[on]
        N1 = len(y1on)
        m1, m0 = y1on.mean(), (w @ y0) / N1
        used = y0[w > 0]
        var1 = y1on.var(ddof=1) if N1 > 1 else 0.0
        var0 = used.var(ddof=1) if len(used) > 1 else 0.0
        se_m = math.sqrt(var1 / N1 + var0 * (w @ w) / N1**2)
        t_m = (m1 - m0) / se_m if se_m > 0 else math.nan
        return np.array([a, b, a - b, float(abs(t_u) >= 1.96), se_u, t_u,
                         m1, m0, m1 - m0, float(abs(t_m) >= 1.96), se_m, t_m])

    # -- objective ----------------------------------------------------------------------------------
    @staticmethod
    def run_score(run: Run, only_before: bool = False) -> tuple[int, float]:
        v, lo, hi = run.values, run.lo, run.hi
        if only_before:
            v, lo, hi = v[run.before], lo[run.before], hi[run.before]
        hit = (v >= lo) & (v <= hi)
        tol = np.maximum((hi - lo) / 2, 1e-9)
        miss = np.where(hit, 0.0, np.minimum(np.maximum(lo - v, v - hi) / tol, 10.0))
        miss = np.where(np.isnan(miss), 10.0, miss)
        return int(hit.sum()), float(miss.sum())

    def score(self, only_before: bool = False) -> tuple[int, float]:
        """Cells within rounding and the objective (cells minus the penalty); ``only_before``: the
        before-matching rows alone (they depend on the counts only)."""
        hits, miss = 0, 0.0
        for run in self.runs:
            h, m = self.run_score(run, only_before)
            hits, miss = hits + h, miss + m
        return hits, hits - PENALTY * miss

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for run in self.runs:
            hit = (run.values >= run.lo) & (run.values <= run.hi)
            if run.with_balance:
                out[run.name] = int(hit[:49].sum())
                out["table_2"] = out.get("table_2", 0) + int(hit[49:].sum())
            else:
                out["subgroup"] = out.get("subgroup", 0) + int(hit[:12].sum())
                out["subgroup_total"] = out.get("subgroup_total", 0) + int(hit[12:].sum())
        return out


# --- the problem from the structural simulation ----------------------------------------------------
def load_problem():
    """The structural simulation of the default seed in the reconstruction's layout, prepared through the
    project's own path, and the table of each comparison woman's order key by offending history."""
    data = reconstruction.reconstruct({})
    with tempfile.TemporaryDirectory() as tmp:
        reconstruction.write_folder(data, Path(tmp))
        af = prepare(load_dataset(Path(tmp)))
    people = data.people.set_index("person_id")
    prepared = af.data
    rows = people.index.get_indexer(prepared.index)
    X = prepared[COVARIATES].to_numpy(float)
    eligible = {w: prepared[f"eligible_{w}"].to_numpy(bool) for w in WINDOWS}
    days = prepared["days_to_reoffence"].fillna(np.inf).to_numpy(float)
    keys = order_keys(data, rows, prepared)
    key = np.where(prepared["treated"].to_numpy() == 1, np.arange(len(rows)),
                   keys[np.arange(len(rows)), X[:, 6].astype(int)])
    ev = Evaluator(X, prepared["treated"].to_numpy(), eligible, days, key)
    check = np.lexsort((np.arange(len(rows)), key))
    assert (check[prepared["treated"].to_numpy()[check] == 0] == np.flatnonzero(prepared["treated"].to_numpy() == 0)).all()
    ev.keys = keys
    return data, rows, ev, prepared


MAX_HISTORY = 101


def order_keys(data, rows, prepared) -> np.ndarray:
    """``keys[r, h]``: the sort key of control ``r`` in the police extract if her offending history were
    ``h``: her first row is her earliest offence (:func:`_earlier_offence_days` of her own stream), ties
    by person id. Treated rows get 0 (their order is the referral file's, which no move changes)."""
    people = data.people
    comparison = people[people["group"] == "comparison"].reset_index(drop=True)
    streams = person_streams(_streams(DEFAULT_SEED)[4], len(comparison))
    where = {pid: k for k, pid in enumerate(comparison["person_id"])}
    id_rank = {pid: k for k, pid in enumerate(sorted(people["person_id"]))}
    keys = np.zeros((len(rows), MAX_HISTORY))
    for r, pid in enumerate(prepared.index):
        if pid not in where:
            continue
        k = where[pid]
        start = comparison.at[k, "index_date"]
        first_back = (start - START_WINDOW[0]).days + 3
        for h in range(1, MAX_HISTORY):
            g = copy.deepcopy(streams[k])
            g.integers(1, 364)
            back = _earlier_offence_days(g, h, first_back)
            earliest = (start - dt.timedelta(days=max(back))) if back else start
            keys[r, h] = earliest.toordinal() * 1e4 + id_rank[pid]
    return keys


class Search:
    def __init__(self, ev: Evaluator, data, rows, rng):
        self.ev, self.rng = ev, rng
        people = data.people
        self.follow = people["follow_up_days"].to_numpy(float)[rows]
        later = [max(x) if len(x) else -np.inf for x in people["later_days"]]
        last = np.asarray(later, float)[rows]
        self.last = np.where(np.isfinite(ev.days), np.maximum(ev.days, last), -np.inf)
        engaged = (people["engagement_level"].to_numpy(object)[rows] == "ongoing")
        self.klass = np.where(ev.treated, np.where(engaged, 1, 2), 0)
        self.groups = [np.flatnonzero(~ev.treated), np.flatnonzero(ev.treated)]
        # referral-date stratum (how many windows a woman is eligible for): ethnicity moves stay inside
        # it, so that the White-only Ns of every window and the A1-A5 ethnicity means stay as published
        self.stratum = sum(ev.eligible[w].astype(int) for w in WINDOWS)
        self.fixed_strata = False  # True once fix_window_means has placed every covariate in its strata
        self.targets = {w: float(tables.published_effect_table("table_2").loc[(w, "before_matching"), "treated"])
                        for w in WINDOWS if w != "total"}
        self.classes = [np.flatnonzero(self.klass == k) for k in (0, 1, 2)]
        n = len(ev.days)
        self.origin = np.tile(np.arange(n)[:, None], (1, 8))  # 7 covariates + reoffending
        self.hits, self.value = ev.score()

    def _violations(self, idx) -> int:
        X = self.ev.X
        return int((X[idx, 6] > 4 * (X[idx, 0] - 15) + 4).sum())

    def fix_window_means(self, steps: int = 100_000) -> dict[str, float]:
        """Place the treated covariate values in the referral-date strata so that every window's unmatched
        treated mean (A1-A5) lies within its published rounding: a hill climb over swaps between two
        treated women of different strata, one covariate at a time (ethnicity excepted: its strata are
        fixed by the White-only Ns). Returns the remaining violation per covariate (0 = all met);
        afterwards treated moves stay inside a stratum, which keeps every window mean."""
        ev, rng = self.ev, self.rng
        treated = np.flatnonzero(ev.treated)
        windows = [w for w in WINDOWS if w != "total"]
        member = np.array([ev.eligible[w][treated] for w in windows], dtype=float)
        n = member.sum(1)
        left = {}
        for c, label in enumerate(tables.published_balance_table("total").index):
            if c == 1:
                continue
            bounds = np.array([_interval(tables.published_balance_table(w).loc[label, "unmatched_treated"])
                               for w in windows])
            lo, hi = bounds[:, 0] * n, bounds[:, 1] * n
            v = ev.X[treated, c].copy()
            sums = member @ v

            def excess(s, lo=lo, hi=hi) -> float:
                return float(np.sum(np.maximum(0, lo - s) + np.maximum(0, s - hi)))

            now = excess(sums)
            for _ in range(steps):
                if now == 0:
                    break
                a, b = rng.integers(len(treated), size=2)
                if self.stratum[treated[a]] == self.stratum[treated[b]] or v[a] == v[b]:
                    continue
                d = v[b] - v[a]
                trial = sums + member[:, a] * d - member[:, b] * d
                new = excess(trial)
                if new > now:
                    continue
                i, j = treated[a], treated[b]
                before = self._violations([i, j]) if c in (0, 6) else 0
                ev.X[[i, j], c] = ev.X[[j, i], c]
                if c in (0, 6) and self._violations([i, j]) > before:
                    ev.X[[i, j], c] = ev.X[[j, i], c]
                    continue
                v[[a, b]] = v[[b, a]]
                self.origin[[i, j], c] = self.origin[[j, i], c]
                sums, now = trial, new
            left[label] = now
        for run in ev.runs:
            ev.refit(run)
        self.hits, self.value = ev.score()
        self.fixed_strata = True
        return left

    def fix_before_rows(self, steps: int = 40_000) -> int:
        """Greedy reoffending moves for the before-matching rows alone (Table 2 and the sub-group table):
        who reoffends among each group's women decides every sub-group's counts. Returns the cells of
        those rows within rounding; the full objective is recomputed afterwards."""
        ev = self.ev
        _, value = ev.score(only_before=True)
        for _ in range(steps):
            klass = self.classes[self.rng.integers(3)]
            i, j = self.rng.choice(klass, 2, replace=False)
            if np.isfinite(ev.days[i]) == np.isfinite(ev.days[j]):
                continue  # only moves that change who reoffends
            if self.last[i] >= self.follow[j] or self.last[j] >= self.follow[i]:
                continue
            before = self.rate_violation() if ev.treated[i] else 0.0
            ev.days[[i, j]] = ev.days[[j, i]]
            self.last[[i, j]] = self.last[[j, i]]
            runs = [r for r in ev.runs if ev.eligible[r.window][i] or ev.eligible[r.window][j]]
            saved = [(r, r.values) for r in runs]
            for r in runs:
                r.values = ev.cells(r)
            _, new = ev.score(only_before=True)
            if new >= value and not (ev.treated[i] and self.rate_violation() > before + 1e-12):
                value = new
                self.origin[[i, j], 7] = self.origin[[j, i], 7]
                continue
            ev.days[[i, j]] = ev.days[[j, i]]
            self.last[[i, j]] = self.last[[j, i]]
            for r, values in saved:
                r.values = values
        self.hits, self.value = ev.score()
        return ev.score(only_before=True)[0]

    def outcome_pass(self) -> int:
        """One deterministic sweep of reoffending moves with the matches fixed: every pair of women of
        the same class (comparison, engaged, non-engaged) whose swap changes an outcome of some window
        is tried, and kept if the objective rises (a hill climb on the small integer problem of who,
        among the matched and unmatched people, reoffends in which window). Returns the moves kept."""
        ev, kept = self.ev, 0
        bins = np.stack([ev.outcome(w, np.arange(len(ev.days))) for w in WINDOWS], 1)
        members = [np.isin(np.arange(len(ev.days)), r.cache[0]) for r in ev.runs]
        for klass in self.classes:
            for a in range(len(klass)):
                i = klass[a]
                for j in klass[a + 1:]:
                    if (bins[i] == bins[j]).all():
                        continue
                    if self.last[i] >= self.follow[j] or self.last[j] >= self.follow[i]:
                        continue
                    before = self.rate_violation() if ev.treated[i] else 0.0
                    ev.days[[i, j]] = ev.days[[j, i]]
                    if ev.treated[i] and self.rate_violation() > before + 1e-12:
                        ev.days[[i, j]] = ev.days[[j, i]]
                        continue
                    runs = [r for r, m in zip(ev.runs, members) if m[i] or m[j]]
                    saved = [(r, r.values) for r in runs]
                    for r in runs:
                        r.values = ev.cells(r, reuse=True)
                    hits, value = ev.score()
                    if value > self.value + 1e-9:
                        self.hits, self.value = hits, value
                        self.last[[i, j]] = self.last[[j, i]]
                        self.origin[[i, j], 7] = self.origin[[j, i], 7]
                        bins[[i, j]] = bins[[j, i]]
                        kept += 1
                        continue
                    ev.days[[i, j]] = ev.days[[j, i]]
                    for r, values in saved:
                        r.values = values
        return kept

    def rate_violation(self) -> float:
        """How far the treated reoffending rates of the windows lie outside RATE_BAND of Table 2's
        before-matching rates (the calibration targets; 0 when all are inside)."""
        ev, out = self.ev, 0.0
        for w, target in self.targets.items():
            treated = ev.eligible[w] & ev.treated
            rate = float((ev.days[treated] <= LIMITS[w]).mean())
            out += max(0.0, abs(rate - target) - RATE_BAND)
        return out

    def _rekey(self, i, j, column) -> None:
        """A control's place in the extract follows her offending history (:func:`order_keys`)."""
        if column == 6:
            for r in (i, j):
                if not self.ev.treated[r]:
                    self.ev.key[r] = self.ev.keys[r, int(self.ev.X[r, 6])]

    def _affected(self, i, j, column) -> list[Run]:
        out = []
        for run in self.ev.runs:
            el = self.ev.eligible[run.window]
            if not (el[i] or el[j]):
                continue
            if run.member is not None:
                c, v = run.member
                if not (self.ev.X[i, c] == v or self.ev.X[j, c] == v or (column == c)):
                    continue
            out.append(run)
        return out

    def step(self, temperature: float) -> bool:
        ev, rng = self.ev, self.rng
        if rng.random() < 0.45:
            group = self.groups[rng.integers(2)]
            i, j = rng.choice(group, 2, replace=False)
            column = int(rng.integers(7))
            if ev.treated[i] and self.stratum[i] != self.stratum[j] and (column == 1 or self.fixed_strata):
                return False
            if ev.X[i, column] == ev.X[j, column]:
                return False
            before = self._violations([i, j]) if column in (0, 6) else 0
            runs = self._affected(i, j, column)
            ev.X[[i, j], column] = ev.X[[j, i], column]
            if column in (0, 6) and self._violations([i, j]) > before:
                ev.X[[i, j], column] = ev.X[[j, i], column]
                return False
            runs = list({id(r): r for r in runs + self._affected(i, j, column)}.values())
            saved = [(r, r.beta, r.cache, r.values) for r in runs]
            self._rekey(i, j, column)
            for r in runs:
                ev.refit(r)

            def undo():
                ev.X[[i, j], column] = ev.X[[j, i], column]
                self._rekey(i, j, column)
        else:
            klass = self.classes[rng.integers(3)]
            i, j = rng.choice(klass, 2, replace=False)
            if np.isfinite(ev.days[i]) == np.isfinite(ev.days[j]) and ev.days[i] == ev.days[j]:
                return False
            if self.last[i] >= self.follow[j] or self.last[j] >= self.follow[i]:
                return False
            column = 7
            before = self.rate_violation() if ev.treated[i] else 0.0
            ev.days[[i, j]] = ev.days[[j, i]]
            self.last[[i, j]] = self.last[[j, i]]
            if ev.treated[i] and self.rate_violation() > before + 1e-12:
                ev.days[[i, j]] = ev.days[[j, i]]
                self.last[[i, j]] = self.last[[j, i]]
                return False
            runs = [r for r in ev.runs if ev.eligible[r.window][i] or ev.eligible[r.window][j]]
            saved = [(r, r.beta, r.cache, r.values) for r in runs]
            for r in runs:
                r.values = ev.cells(r)

            def undo():
                ev.days[[i, j]] = ev.days[[j, i]]
                self.last[[i, j]] = self.last[[j, i]]
        hits, value = ev.score()
        if value >= self.value or rng.random() < math.exp((value - self.value) / temperature):
            self.hits, self.value = hits, value
            self.origin[[i, j], column] = self.origin[[j, i], column]
            return True
        undo()
        for r, beta, cache, values in saved:
            r.beta, r.cache, r.values = beta, cache, values
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--t0", type=float, default=1.5)
    parser.add_argument("--t1", type=float, default=0.05)
    parser.add_argument("--checkpoint", type=Path, default=Path("reconstruction_checkpoint.npz"))
    parser.add_argument("--resume", action="store_true", help="start from the checkpoint's state")
    parser.add_argument("--from-stored", action="store_true", help="start from the stored permutations")
    parser.add_argument("--outcomes", type=int, default=0,
                        help="first run this many sweeps of the outcome pass (reoffending moves, matches fixed)")
    parser.add_argument("--write", action="store_true", help="write the best state to the package data file")
    parser.add_argument("--before-rows", action="store_true",
                        help="first move reoffending greedily for the before-matching rows (counts only)")
    parser.add_argument("--window-means", action="store_true",
                        help="first place the treated covariates in the strata that give A1-A5's unmatched means")
    parser.add_argument("--write-only", action="store_true", help="no search: write the checkpoint's state")
    parser.add_argument("--verify", action="store_true", help="run the project's pipeline on the stored reconstruction")
    args = parser.parse_args()
    data, rows, ev, prepared = load_problem()
    if args.write_only or args.verify:
        if args.write_only:
            write_result(args.checkpoint, data, rows, prepared)
        if args.verify:
            verify()
        return
    search = Search(ev, data, rows, np.random.default_rng(args.seed))
    if args.resume and args.checkpoint.exists():
        state = np.load(args.checkpoint)
        ev.X[:], ev.days[:] = state["X"], state["days"]
        search.origin[:] = state["origin"]
        search.last = np.where(np.isfinite(ev.days), state["last"], -np.inf)
        control = ~ev.treated
        ev.key[control] = ev.keys[np.flatnonzero(control), ev.X[control, 6].astype(int)]
        for run in ev.runs:
            ev.refit(run)
        search.hits, search.value = ev.score()
    if args.from_stored:
        apply_stored(search, data, rows, prepared)
    if args.window_means:
        print(f"window means: remaining violation {search.fix_window_means()}", flush=True)
    if args.before_rows:
        print(f"before-matching rows: {search.fix_before_rows()} cells within rounding", flush=True)
    for sweep in range(args.outcomes):
        moved = search.outcome_pass()
        _save(args.checkpoint, ev, search)
        print(f"outcome sweep {sweep}: {moved} moves, {search.hits} cells {ev.counts()}", flush=True)
        if not moved:
            break
    best = (search.hits, search.value)
    print(f"start: {search.hits} cells {ev.counts()}", flush=True)
    start, steps, accepted, saved_at = time.time(), 0, 0, 0.0
    total = args.minutes * 60
    while (elapsed := time.time() - start) < total:
        temperature = args.t0 * (args.t1 / args.t0) ** (elapsed / total)
        accepted += search.step(temperature)
        steps += 1
        if search.value > best[1]:
            best = (search.hits, search.value)
            if time.time() - saved_at > 30:
                _save(args.checkpoint, ev, search)
                saved_at = time.time()
        if steps % 2000 == 0:
            print(f"{elapsed / 60:6.1f} min  step {steps}  T {temperature:.3f}  accepted {accepted}  "
                  f"now {search.hits}  best {best[0]}  {ev.counts()}", flush=True)
    if search.value >= best[1] or not args.checkpoint.exists():
        _save(args.checkpoint, ev, search)
    print(f"done: {steps} steps, best {best[0]} cells", flush=True)
    if args.write:
        write_result(args.checkpoint, data, rows, prepared)


def apply_stored(search: Search, data, rows, prepared) -> None:
    """Put the search in the state of the stored permutations (``reconstruction.yaml``)."""
    ev, people = search.ev, data.people
    x0, days0, last0 = ev.X.copy(), ev.days.copy(), search.last.copy()
    prepared_row = {row: r for r, row in enumerate(rows)}
    stored = reconstruction.load_moves()["permutations"]
    for group in reconstruction.GROUPS:
        analysed = np.flatnonzero(((people["group"] == group) & people["analysed"]).to_numpy())
        position = {row: k for k, row in enumerate(analysed)}
        for c, name in enumerate(reconstruction.MOVABLE):
            perm = stored.get(group, {}).get(name)
            if perm is None:
                continue
            for r in np.flatnonzero(prepared["group"].to_numpy() == group):
                search.origin[r, c] = prepared_row[analysed[perm[position[rows[r]]]]]
    for c in range(7):
        ev.X[:, c] = x0[search.origin[:, c], c]
    ev.days[:], search.last[:] = days0[search.origin[:, 7]], last0[search.origin[:, 7]]
    control = ~ev.treated
    ev.key[control] = ev.keys[np.flatnonzero(control), ev.X[control, 6].astype(int)]
    for run in ev.runs:
        ev.refit(run)
    search.hits, search.value = ev.score()
    print(f"stored permutations: {search.hits} cells {ev.counts()}", flush=True)


def _save(path: Path, ev: Evaluator, search: Search) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, X=ev.X, days=ev.days, origin=search.origin, last=search.last, hits=search.hits,
             value=search.value)
    tmp.replace(path)


def write_result(checkpoint: Path, data, rows, prepared) -> None:
    """Turn the checkpoint's moves (prepared order) into permutations of each group's analysed people
    (people order) and store them in the package data file."""
    state = np.load(checkpoint)
    origin = state["origin"]
    people = data.people
    permutations = {}
    for group in reconstruction.GROUPS:
        analysed = np.flatnonzero(((people["group"] == group) & people["analysed"]).to_numpy())
        position = {row: k for k, row in enumerate(analysed)}
        perms = {}
        for c, name in enumerate(reconstruction.MOVABLE):
            perm = np.arange(len(analysed))
            for r in np.flatnonzero(prepared["group"].to_numpy() == group):
                perm[position[rows[r]]] = position[rows[origin[r, c]]]
            if np.any(perm != np.arange(len(analysed))):
                perms[name] = perm.tolist()
        permutations[group] = perms
    path = reconstruction.write_moves(permutations, int(state["hits"]))
    print(f"wrote {path}", flush=True)


def verify() -> None:
    """The counts per table of the project's own pipeline on the stored reconstruction."""
    from psm.newchance.analysis.agreement import matching_agreement
    from psm.newchance.analysis.specification import load_files

    with tempfile.TemporaryDirectory() as tmp:
        reconstruction.write_reconstruction(Path(tmp))
        counts = compare.agreement_counts(matching_agreement(load_files(Path(tmp))))
    print(counts.to_string(), flush=True)


if __name__ == "__main__":
    main()
