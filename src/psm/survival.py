"""Frequency of events and time to first event for matched samples.

The Ministry of Justice's Justice Data Lab reports three headline reoffending outcomes:
the rate (a binary outcome, :func:`psm.effect`), the *frequency* (events per person,
:func:`event_frequency`) and the *time to first event* (:func:`kaplan_meier`,
:func:`log_rank_test`, :func:`plot_kaplan_meier`). Everything here is generic: durations,
event indicators, a group and optional weights. For a matched sample pass the matching
weights (psmatch2 ``_weight``: treated 1, each control the number of treated that used it,
fractional with ties); every estimator treats them as frequency weights, so a control used
twice counts twice, and a unit with weight 0 does not count.

Follow-up differs between people (censoring at the extract date): :func:`time_to_event`
turns "days to first event (missing if none)" and "days of follow-up" into the censored
pair (duration, event) the estimators need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

from psm.errors import EmptyGroupError, InvalidValuesError, MissingValuesError
from psm.plots import style
from psm.summary import Summary, format_frame

__all__ = [
    "time_to_event",
    "KaplanMeier",
    "kaplan_meier",
    "LogRankTest",
    "log_rank_test",
    "FrequencyComparison",
    "event_frequency",
    "plot_kaplan_meier",
]


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
def _series(values, name: str, index: pd.Index | None = None) -> pd.Series:
    """``values`` as a Series; a Series given with ``index`` must carry exactly those labels."""
    if not isinstance(values, pd.Series):
        return pd.Series(np.asarray(values), index=index, name=name)
    if index is not None and not values.index.equals(index):
        absent, extra = index.difference(values.index), values.index.difference(index)
        if len(absent) or len(extra):
            rows = {f"{name} (labels missing)": absent.tolist(), f"{name} (labels extra)": extra.tolist()}
            raise InvalidValuesError({k: v for k, v in rows.items() if v},
                                     "the same index labels as the first argument")
        values = values.reindex(index)
    return values.rename(name)


# numeric columns and their allowed values; ``group`` may hold any labels
_RULES = {
    "duration": (lambda s: s >= 0, "durations >= 0"),
    "event": (lambda s: s.isin([0, 1]), "events 0/1 (or False/True)"),
    "count": (lambda s: s >= 0, "counts >= 0"),
    "treated": (lambda s: s.isin([0, 1]), "treated 0/1 (or False/True)"),
    "weight": (lambda s: (s >= 0) & np.isfinite(s), "finite weights >= 0"),
}


def _frame(**columns) -> pd.DataFrame:
    """Align the columns on the first one's index, check them (all problems at once),
    and keep the units with positive weight (a missing ``weight`` column means 1)."""
    names = list(columns)
    first = _series(columns[names[0]], names[0])
    frame = pd.DataFrame({n: _series(v, n, first.index) for n, v in columns.items() if v is not None})
    if "weight" not in frame:
        frame["weight"] = 1.0
    missing = {c: frame.index[frame[c].isna()].tolist() for c in frame.columns}
    missing = {c: rows for c, rows in missing.items() if rows}
    if missing:
        raise MissingValuesError(missing)
    bad, allowed = {}, []
    for col in frame.columns.intersection(list(_RULES)):
        rule, text = _RULES[col]
        values = pd.to_numeric(frame[col], errors="coerce")
        ok = rule(values).fillna(False).astype(bool)
        if not ok.all():
            bad[col], allowed = frame.index[~ok].tolist(), allowed + [text]
        frame[col] = values.astype(float)
    if bad:
        raise InvalidValuesError(bad, "; ".join(allowed))
    frame = frame[frame["weight"] > 0]
    if frame.empty:
        raise EmptyGroupError("no unit has a positive weight")
    return frame


def time_to_event(days_to_event, follow_up, *, horizon: float | None = None) -> pd.DataFrame:
    """Censored durations from "time to first event" and "follow-up available".

    ``event = 1`` if the first event happened within the person's follow-up (and within
    ``horizon`` if given, e.g. 365 days), and then ``duration`` is its time; otherwise
    ``event = 0`` and ``duration = min(follow_up, horizon)`` (right-censored at the
    extract date, or at the horizon). ``days_to_event`` is missing (NaN) for people with
    no event. Returns a DataFrame with columns ``duration`` and ``event`` on the same index.
    """
    t = _series(days_to_event, "days_to_event")
    f = _series(follow_up, "follow_up", t.index)
    missing = f.index[f.isna()].tolist()
    if missing:
        raise MissingValuesError({"follow_up": missing})
    bad = {name: s.index[s < 0].tolist() for name, s in (("days_to_event", t), ("follow_up", f))}
    bad = {k: v for k, v in bad.items() if v}
    if bad:
        raise InvalidValuesError(bad, "times >= 0 (days_to_event may be missing: no event)")
    limit = f if horizon is None else np.minimum(f, float(horizon))
    event = t.notna() & (t <= limit)
    duration = t.where(event, limit).astype(float)
    return pd.DataFrame({"duration": duration, "event": event.astype(int)})


# --------------------------------------------------------------------------------------
# Kaplan–Meier
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan–Meier estimates by group.

    ``table``: one row per group and event time with ``n_risk`` and ``n_events`` (weighted),
    ``survival`` Ŝ(t) = Π_{t_j <= t} (1 - d_j / n_j) and its Greenwood standard error
    ``se = Ŝ(t) sqrt(Σ_{t_j <= t} d_j / (n_j (n_j - d_j)))`` (NaN once Ŝ reaches 0).
    ``censored``: the censoring times with Ŝ there (for the ticks of the plot).
    ``median``: per group the smallest event time with Ŝ(t) < 0.5 (statsmodels' and
    SAS's strict rule; NaN if not reached). ``counts``: units, weighted units and
    weighted events per group.
    """

    table: pd.DataFrame
    censored: pd.DataFrame
    median: pd.Series
    counts: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The survival table (a copy): one row per group and event time."""
        return self.table.copy()

    def survival_at(self, times) -> pd.DataFrame:
        """Ŝ(t) at the given times, one column per group (1 before the first event)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        out = {g: _step_value(part["time"].to_numpy(), part["survival"].to_numpy(), times)
               for g, part in self.table.groupby("group", sort=False)}
        for g in self.counts.index:
            out.setdefault(g, np.ones_like(times))
        return pd.DataFrame(out, index=pd.Index(times, name="time"))[list(self.counts.index)]

    def summary(self) -> Summary:
        """Units, weighted units, events and median survival per group (a :class:`~psm.summary.Summary`)."""
        lines = ["Kaplan-Meier estimates (weights as frequencies)",
                 f"{'group':<16} {'units':>7} {'weighted':>10} {'events':>10} {'median':>10}"]
        for g, row in self.counts.iterrows():
            med = self.median[g]
            lines.append(f"{str(g):<16} {int(row['units']):>7d} {row['weighted']:>10.6g} "
                         f"{row['events']:>10.6g} {'not reached' if np.isnan(med) else f'{med:.6g}':>10}")
        table = format_frame(self.counts.assign(median=self.median))
        table["median"] = table["median"].replace("", "not reached")
        return Summary(lines[0], [("", table)], text="\n".join(lines))


def _step_value(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Right-continuous step function (value 1 before the first time)."""
    idx = np.searchsorted(times, at, side="right") - 1
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], 1.0)


def _km_group(part: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    sf = SurvfuncRight(part["duration"].to_numpy(), part["event"].to_numpy(),
                       freq_weights=part["weight"].to_numpy())
    n, d, s = sf.n_risk.astype(float), sf.n_events.astype(float), sf.surv_prob
    # Greenwood with weights as frequencies (statsmodels' weighted se is Tsiatis' se of the
    # cumulative hazard, not of Ŝ, so it is recomputed here)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n > d, d / (n * (n - d)), np.nan)
    se = s * np.sqrt(np.cumsum(terms))
    table = pd.DataFrame({"time": sf.surv_times, "n_risk": n, "n_events": d, "survival": s, "se": se})
    return table, float(sf.quantile(0.5))


def kaplan_meier(durations, events, group=None, weights=None) -> KaplanMeier:
    """Kaplan–Meier survival curves (statsmodels ``SurvfuncRight`` with ``freq_weights``).

    Parameters
    ----------
    durations : array-like or Series
        Time to the event or to censoring (>= 0).
    events : array-like or Series
        1 if the event was observed at ``durations``, 0 if censored there.
    group : array-like or Series, optional
        Group labels (e.g. the treatment indicator); one curve per group, sorted by label.
    weights : array-like or Series, optional
        Frequency weights (e.g. matching weights); units with weight 0 are left out.
    """
    frame = _frame(duration=durations, event=events, group=group, weight=weights)
    if "group" not in frame:
        frame["group"] = "all"
    tables, medians, censored, counts = [], {}, [], {}
    for g, part in frame.groupby("group", sort=True):
        table, medians[g] = _km_group(part)
        tables.append(table.assign(group=g))
        cens = np.sort(part.loc[part["event"] == 0, "duration"].unique())
        censored.append(pd.DataFrame({
            "group": g, "time": cens,
            "survival": _step_value(table["time"].to_numpy(), table["survival"].to_numpy(), cens),
        }))
        counts[g] = {"units": len(part), "weighted": part["weight"].sum(),
                     "events": (part["weight"] * part["event"]).sum()}
    cols = ["group", "time", "n_risk", "n_events", "survival", "se"]
    return KaplanMeier(
        table=pd.concat(tables, ignore_index=True)[cols],
        censored=pd.concat(censored, ignore_index=True),
        median=pd.Series(medians, name="median"),
        counts=pd.DataFrame(counts).T.rename_axis("group"),
    )


# --------------------------------------------------------------------------------------
# log-rank test
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogRankTest:
    """Two-group log-rank test: ``chisq = (O_1 - E_1)² / V`` on 1 df."""

    chisq: float
    pvalue: float
    observed: pd.Series
    expected: pd.Series
    variance: float
    df: int = 1

    def to_frame(self) -> pd.DataFrame:
        """Observed and expected (weighted) events per group."""
        return pd.DataFrame({"observed": self.observed, "expected": self.expected})

    def summary(self) -> Summary:
        """Observed and expected events per group and the chi-square test (a :class:`~psm.summary.Summary`)."""
        rows = "\n".join(f"{str(g):<16} {o:>10.6g} {e:>10.6g}"
                         for g, o, e in zip(self.observed.index, self.observed, self.expected))
        test = f"chi2({self.df}) = {self.chisq:.4f}, p = {self.pvalue:.4g}"
        text = (f"Log-rank test (weights as frequencies)\n{'group':<16} {'observed':>10} {'expected':>10}\n"
                f"{rows}\n{test}")
        return Summary("Log-rank test (weights as frequencies)", [("", format_frame(self.to_frame()))],
                       [test], text=text)


def log_rank_test(durations, events, group, weights=None) -> LogRankTest:
    """Log-rank (Mantel–Cox) test of equal survival in two groups, with frequency weights.

    At each distinct event time t_j with (weighted) ``n_j`` at risk, ``d_j`` events, and
    ``n_1j`` at risk in the first group (sorted labels):
    ``E_1 = Σ d_j n_1j / n_j``,
    ``V = Σ d_j (n_1j / n_j)(1 - n_1j / n_j)(n_j - d_j) / (n_j - 1)``,
    ``chisq = (O_1 - E_1)² / V`` ~ χ²(1) (Collett 2015, *Modelling Survival Data in
    Medical Research*, §2.6.2). Without weights this equals
    ``statsmodels.duration.survfunc.survdiff`` (which takes no weights); with whole-number
    weights it equals ``survdiff`` on the data with each unit repeated ``w`` times. With
    matching weights the variance treats reused controls as independent units (as
    psmatch2's and pstest's weighted t-tests do), so the p-value is approximate.
    """
    frame = _frame(duration=durations, event=events, group=group, weight=weights)
    labels = np.sort(frame["group"].unique())
    if len(labels) != 2:
        raise InvalidValuesError({"group": frame.index.tolist()[:10]},
                                 f"exactly two groups, found {len(labels)}: {labels.tolist()}")
    t = frame["duration"].to_numpy()
    w = frame["weight"].to_numpy()
    first = (frame["group"] == labels[0]).to_numpy()
    we = w * frame["event"].to_numpy()
    times, inv = np.unique(t, return_inverse=True)
    k = len(times)
    at_risk = np.cumsum(np.bincount(inv, weights=w, minlength=k)[::-1])[::-1]
    at_risk_1 = np.cumsum(np.bincount(inv, weights=w * first, minlength=k)[::-1])[::-1]
    d = np.bincount(inv, weights=we, minlength=k)
    d1 = np.bincount(inv, weights=we * first, minlength=k)
    keep = d > 0
    n, n1, d, d1 = at_risk[keep], at_risk_1[keep], d[keep], d1[keep]
    share = n1 / n
    expected_1 = float(np.sum(d * share))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, d * share * (1 - share) * (n - d) / (n - 1), 0.0)
    variance = float(v.sum())
    if variance <= 0:
        raise EmptyGroupError("the log-rank variance is 0: no event time has both groups at risk")
    observed_1 = float(d1.sum())
    chisq = (observed_1 - expected_1) ** 2 / variance
    total = float(d.sum())
    return LogRankTest(
        chisq=chisq, pvalue=float(stats.chi2.sf(chisq, 1)),
        observed=pd.Series([observed_1, total - observed_1], index=labels, name="observed"),
        expected=pd.Series([expected_1, total - expected_1], index=labels, name="expected"),
        variance=variance,
    )


# --------------------------------------------------------------------------------------
# frequency (events per person)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrequencyComparison:
    """Weighted mean count per person in each group and their difference (treated − control)."""

    mean_treated: float
    mean_control: float
    difference: float
    se: float
    t: float
    p: float
    df: float
    counts: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row: the two means, their difference, its S.E., t, p and df."""
        return pd.DataFrame([{k: getattr(self, k) for k in
                              ("mean_treated", "mean_control", "difference", "se", "t", "p", "df")}])

    def summary(self) -> Summary:
        """The comparison in one line (a :class:`~psm.summary.Summary`)."""
        text = (f"Events per person: treated {self.mean_treated:.4g}, control {self.mean_control:.4g}; "
                f"difference {self.difference:.4g} (S.E. {self.se:.4g}, t = {self.t:.3f}, "
                f"p = {self.p:.4g}, df = {self.df:.6g})")
        return Summary("Events per person", [("", format_frame(self.to_frame()))], text=text)


def event_frequency(counts, treated, weights=None) -> FrequencyComparison:
    """Events per person (e.g. proven reoffences) by group, with a weighted t-test.

    ``mean_g = Σ w_i y_i / Σ w_i`` over group g; the difference, its S.E. and t come from
    the regression ``y = a + b·treated`` with frequency weights (statsmodels ``GLM``,
    Gaussian, ``freq_weights``): residual variance ``Σ w e² / (Σ w − 2)``, ``df = Σ w − 2``,
    two-sided p from Student's t. This is Stata ``regress y treated [iweight=w]``, the test
    pstest and psmatch2 use for matched means; like them it ignores that matched controls
    are reused (see the Abadie–Imbens standard errors in ``psm.effects`` for binary and
    continuous outcomes).
    """
    frame = _frame(count=counts, treated=treated, weight=weights)
    y, t = frame["count"], frame["treated"]
    if t.nunique() < 2:
        raise EmptyGroupError("event_frequency needs treated and control units with positive weight")
    w = frame["weight"]
    fit = sm.GLM(y.to_numpy(float), sm.add_constant(t.to_numpy(float)), family=sm.families.Gaussian(),
                 freq_weights=w.to_numpy()).fit()
    b, se, df = float(fit.params[1]), float(fit.bse[1]), float(fit.df_resid)
    tstat = b / se
    means = (y * w).groupby(t).sum() / w.groupby(t).sum()
    return FrequencyComparison(
        mean_treated=float(means[1]), mean_control=float(means[0]), difference=b, se=se, t=tstat,
        p=float(2 * stats.t.sf(abs(tstat), df)), df=df,
        counts=pd.DataFrame({"units": t.groupby(t).size(), "weighted": w.groupby(t).sum()}),
    )


# --------------------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------------------
def plot_kaplan_meier(km: KaplanMeier, *, ax=None, labels: dict | None = None,
                      xlabel: str = "Days", ylabel: str = "Proportion without event",
                      min_events: float | None = None, grid: float = 30.0) -> Figure:
    """Step curves Ŝ(t) per group, starting at (0, 1), with small light ``|`` ticks at censoring times.

    Groups 0/1 (control/treated) take psm's colours (``psm.plots.style.TREATED`` solid,
    ``psm.plots.style.CONTROL`` dashed), as in every other psm figure.

    ``min_events`` (for confidential data): no step shows fewer events than this, and no time is a
    single person's. Event times are pooled into intervals of ``grid`` (days), consecutive intervals
    are merged until they hold at least ``min_events`` (weighted) events, and the curve drops only at
    the end of each merged interval, to Ŝ there; events after the last full interval are not drawn,
    and there are no censoring ticks (each one is a person's follow-up time).
    """
    if ax is None:
        fig = Figure(figsize=(7, 4.5))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    labels = labels or {}
    treated_control = set(km.counts.index) <= {0, 1}  # psm's 0/1 treatment: its colours and line styles
    for g in km.counts.index:
        part = km.table[km.table["group"] == g]
        look = {}
        if treated_control:
            look = {"color": style.TREATED, "linestyle": "-"} if g == 1 else {"color": style.CONTROL, "linestyle": "--"}
        if min_events is not None:
            x, y = _grouped_steps(part, float(min_events), float(grid))
            ax.step(x, y, where="post", label=labels.get(g, str(g)), linewidth=1.8, **look)
            continue
        x = np.r_[0.0, part["time"].to_numpy()]
        y = np.r_[1.0, part["survival"].to_numpy()]
        cens = km.censored[km.censored["group"] == g]
        last = cens["time"].max() if len(cens) else x[-1]
        x, y = np.r_[x, max(last, x[-1])], np.r_[y, y[-1]]
        (line,) = ax.step(x, y, where="post", label=labels.get(g, str(g)), linewidth=1.8, **look)
        # small, light ticks: many censoring times must not hide the curve
        ax.plot(cens["time"], cens["survival"], linestyle="none", marker="|", markersize=4, markeredgewidth=0.6,
                alpha=0.45, color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    return fig


def _grouped_steps(part: pd.DataFrame, min_events: float, grid: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a curve whose drops each hold >= ``min_events`` events, at multiples of ``grid``."""
    x, y = [0.0], [1.0]
    pending = 0.0
    ends = np.ceil(part["time"].to_numpy(float) / grid) * grid
    for end in np.unique(ends):
        inside = ends == end
        pending += float(part.loc[inside, "n_events"].sum())
        if pending >= min_events:
            x.append(float(end))
            y.append(float(part.loc[inside, "survival"].iloc[-1]))
            pending = 0.0
    if len(x) > 1:  # hold the last level for one more interval, so the last drop is visible
        x.append(x[-1] + grid)
        y.append(y[-1])
    return np.asarray(x), np.asarray(y)
