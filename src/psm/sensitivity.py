"""Rosenbaum bounds: how much hidden bias would explain away a binary-outcome effect?

Two families, both for a binary outcome (1 = event, e.g. reoffended):

* :func:`mh_bounds` — Mantel–Haenszel bounds as printed by Stata's ``mhbounds``
  (Becker & Caliendo 2007, *Stata Journal* 7(1):71-83), on a table of strata counts
  (:func:`matched_set_counts` for matched sets, :func:`weighted_counts` for a
  weighted matched sample as ``mhbounds`` reads psmatch2's ``_weight``).
  With matching *with* replacement the one-stratum-per-treated sets of
  :func:`matched_set_counts` share controls and are not independent;
  :func:`component_counts` builds independent strata (the connected components of the
  matched graph) and is the input to use then.
* :func:`mcnemar_bounds` — the exact sign-test (McNemar) bounds for 1:1 matched pairs
  (Rosenbaum 2002, *Observational Studies*, 2nd ed., §4.3.2; R ``rbounds::binarysens``);
  :func:`pair_outcomes` extracts the pairs from a matching.

Γ (``gamma``) is the largest factor by which two units matched on the observed
covariates may differ in their odds of treatment because of an unobserved covariate.
Γ = 1 is "no hidden bias"; the *critical* Γ is the smallest Γ at which the worst-case
one-sided p-value reaches ``alpha`` (the effect stops being significant).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.stats import nchypergeom_fisher

from psm.errors import ColumnNotFoundError, EmptyGroupError, InvalidValuesError, MissingValuesError
from psm.summary import Summary, format_frame

__all__ = [
    "DEFAULT_GAMMA",
    "COUNT_COLUMNS",
    "MHBounds",
    "McNemarBounds",
    "matched_set_counts",
    "component_counts",
    "weighted_counts",
    "pair_outcomes",
    "mh_bounds",
    "mcnemar_bounds",
]

#: Γ = 1.0, 1.1, …, 3.0 (the grid of the New Chance robustness notebook).
DEFAULT_GAMMA: tuple[float, ...] = tuple(float(g) for g in np.round(np.linspace(1.0, 3.0, 21), 10))
#: Columns of a strata-count table, one row per stratum.
COUNT_COLUMNS = ("n_treated", "n_control", "events_treated", "events_control")
_GAMMA_SEARCH_MAX = 1e6


# --------------------------------------------------------------------------------------
# input checks and builders
# --------------------------------------------------------------------------------------
def _binary(values: pd.Series, name: str) -> pd.Series:
    """Return ``values`` as float 0/1, raising typed errors for missing or other values."""
    values = pd.Series(values)
    missing = values.index[values.isna()].tolist()
    if missing:
        raise MissingValuesError({name: missing})
    numeric = pd.to_numeric(values, errors="coerce")
    bad = values.index[~numeric.isin([0, 1])].tolist()
    if bad:
        raise InvalidValuesError({name: bad}, "0/1 (or False/True)")
    return numeric.astype(float)


def _pairs_of(matching) -> pd.DataFrame:
    """The pairs table of a ``Matching`` (or the table itself), checked for its columns."""
    pairs = getattr(matching, "pairs", matching)
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(
            f"expected a Matching or its pairs DataFrame, got {type(matching).__name__}"
        )
    missing = [c for c in ("treated", "control", "direction") if c not in pairs.columns]
    if missing:
        raise ColumnNotFoundError(missing, pairs.columns)
    return pairs


def _direction_pairs(matching, direction: str) -> tuple[pd.DataFrame, str, str]:
    """Rows of one direction and the names of its focal and matched columns."""
    if direction not in ("ATT", "ATU"):
        raise ValueError(f"direction must be 'ATT' or 'ATU', got {direction!r}")
    pairs = _pairs_of(matching)
    rows = pairs[pairs["direction"] == direction]
    if rows.empty:
        found = sorted(pairs["direction"].astype(str).unique().tolist())
        raise EmptyGroupError(f"no {direction!r} pairs in the matching (directions present: {found})")
    focal, other = ("treated", "control") if direction == "ATT" else ("control", "treated")
    return rows, focal, other


def _lookup(outcome: pd.Series, labels: pd.Series, name: str) -> np.ndarray:
    """Outcome values of the given unit labels (every label must be in the outcome's index)."""
    absent = pd.Index(labels.unique()).difference(outcome.index)
    if len(absent):
        raise InvalidValuesError({name: absent.tolist()}, "unit labels present in the outcome's index")
    return outcome.reindex(labels.to_numpy()).to_numpy(dtype=float)


def matched_set_counts(matching, outcome: pd.Series, *, direction: str = "ATT") -> pd.DataFrame:
    """One stratum per matched set: the focal unit and all its matches.

    For ``direction="ATT"`` each matched treated unit forms a set with its
    ``k`` (or, with ties, more) matched controls: ``n_treated = 1``,
    ``n_control`` = number of its pair rows, ``events_*`` the outcome sums.
    ``"ATU"`` is the mirror (a control and its matched treated).

    With matching *with* replacement a control reused by several treated units appears in
    each of their sets, as in Rosenbaum's matched sets with reuse; the sets are then not
    independent, so the bounds are approximate (as ``mhbounds`` warns: it is "suited for
    k-nearest neighbor matching without replacement").

    Parameters
    ----------
    matching : Matching or DataFrame
        A :class:`psm.matching.Matching` or its ``pairs`` table (columns ``treated``,
        ``control``, ``direction``).
    outcome : pd.Series
        Binary outcome (0/1) indexed by unit label; must cover every unit in the pairs.
    """
    rows, focal, other = _direction_pairs(matching, direction)
    y = _binary(pd.Series(outcome), getattr(outcome, "name", None) or "outcome")
    y_focal = pd.Series(_lookup(y, rows[focal], focal), index=rows.index)
    y_other = pd.Series(_lookup(y, rows[other], other), index=rows.index)
    grouped = pd.DataFrame({"set": rows[focal].to_numpy(), "y_focal": y_focal.to_numpy(),
                            "y_other": y_other.to_numpy()}).groupby("set", sort=False)
    n_other = grouped.size().astype(float)
    focal_events = grouped["y_focal"].first()
    other_events = grouped["y_other"].sum()
    ones = pd.Series(1.0, index=n_other.index)
    if direction == "ATT":
        columns = (ones, n_other, focal_events, other_events)
    else:
        columns = (n_other, ones, other_events, focal_events)
    counts = pd.DataFrame(dict(zip(COUNT_COLUMNS, columns)))
    counts.index.name = "matched_set"
    return counts


def component_counts(matching, outcome: pd.Series, *, direction: str = "ATT") -> pd.DataFrame:
    """Independent strata for matching with replacement: the connected components of the
    matched graph, each analysed as one matched set.

    Units are nodes and every pair of ``direction`` is an edge; a component holds every unit
    linked to another through a chain of matches. After 1:1 matching with replacement (no ties)
    each component is one control with every treated unit matched to her; ties or ``k > 1``
    join such stars. Each unit appears in exactly one component, counted once
    (``n_treated``/``n_control`` distinct units, ``events_*`` their outcome sums), so the
    strata are disjoint and the randomisation model of Rosenbaum's bounds — independent
    assignment across strata, with treatment odds within a stratum differing by at most Γ —
    applies to them. The per-treated sets of :func:`matched_set_counts` count a reused
    control once per use, as if she were a new person each time, and overstate the evidence.
    Use exact moments (:func:`mh_bounds` ``moments="exact"``): the counts are whole numbers.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows, _, _ = _direction_pairs(matching, direction)
    y = _binary(pd.Series(outcome), getattr(outcome, "name", None) or "outcome")
    units = pd.Index(pd.unique(np.concatenate([rows["treated"].to_numpy(), rows["control"].to_numpy()])))
    values = pd.Series(_lookup(y, pd.Series(units), "unit"), index=units)
    t, c = units.get_indexer(rows["treated"]), units.get_indexer(rows["control"])
    graph = coo_matrix((np.ones(len(rows)), (t, c)), shape=(len(units), len(units)))
    _, label = connected_components(graph, directed=False)
    is_treated = units.isin(rows["treated"])
    frame = pd.DataFrame({"component": label, "t": is_treated, "y": values.to_numpy()})
    counts = pd.DataFrame({
        "n_treated": frame["t"].groupby(frame["component"]).sum().astype(float),
        "n_control": (~frame["t"]).groupby(frame["component"]).sum().astype(float),
        "events_treated": frame["y"].where(frame["t"], 0.0).groupby(frame["component"]).sum(),
        "events_control": frame["y"].where(~frame["t"], 0.0).groupby(frame["component"]).sum(),
    })
    counts.index.name = "component"
    return counts


def weighted_counts(
    treated: pd.Series,
    outcome: pd.Series,
    weights: pd.Series,
    *,
    stratum: pd.Series | None = None,
) -> pd.DataFrame:
    """Weighted counts per stratum, as ``mhbounds`` builds them after psmatch2.

    ``mhbounds`` reads psmatch2's ``_treated``, ``_weight`` ("the frequency with which the
    observation is used as a match") and ``_support``, with one stratum unless
    ``stratum()`` is given. Here a unit enters its stratum with its weight as a frequency:
    ``n_treated = Σ w_i`` over treated units, ``events_treated = Σ w_i y_i``, and likewise
    for controls. Units with weight 0 (unmatched, off support) contribute nothing. This
    weighting is how the ado file is believed to use ``_weight`` (its source was not
    available to check; methodology.md §6.1 marks it UNVERIFIED). Counts may be fractional
    (ties), which only the ``moments="mhbounds"`` variant of :func:`mh_bounds` accepts.
    """
    frame = pd.DataFrame({"treated": pd.Series(treated), "outcome": pd.Series(outcome),
                          "weight": pd.Series(weights)})
    if stratum is not None:
        frame["stratum"] = pd.Series(stratum)
    missing = {c: frame.index[frame[c].isna()].tolist() for c in frame.columns}
    missing = {c: rows for c, rows in missing.items() if rows}
    if missing:
        raise MissingValuesError(missing)
    frame = frame[frame["weight"] > 0]  # weight-0 units (unmatched, off support) carry no information
    t = _binary(frame["treated"], "treated").astype(bool)
    y = _binary(frame["outcome"], getattr(outcome, "name", None) or "outcome")
    w = frame["weight"].astype(float)
    key = frame["stratum"] if stratum is not None else pd.Series(1, index=frame.index, name="stratum")
    parts = pd.DataFrame({
        "n_treated": w.where(t, 0.0), "n_control": w.where(~t, 0.0),
        "events_treated": (w * y).where(t, 0.0), "events_control": (w * y).where(~t, 0.0),
    })
    counts = parts.groupby(key.to_numpy()).sum()
    counts.index.name = "stratum"
    return counts


def pair_outcomes(matching, outcome: pd.Series, *, direction: str = "ATT") -> pd.DataFrame:
    """Treated and control outcome of each 1:1 matched pair (for :func:`mcnemar_bounds`).

    Raises ``InvalidValuesError`` naming the focal units that have more than one match
    (``k > 1`` or ties): the sign-test bounds need pairs; use :func:`mh_bounds` on
    :func:`matched_set_counts` for matched sets.
    """
    rows, focal, _ = _direction_pairs(matching, direction)
    sizes = rows.groupby(focal).size()
    multi = sizes.index[sizes > 1].tolist()
    if multi:
        raise InvalidValuesError(
            {f"{direction} matched sets with more than one match": multi},
            "exactly one match per unit (1:1 pairs); use mh_bounds(matched_set_counts(...)) otherwise",
        )
    y = _binary(pd.Series(outcome), getattr(outcome, "name", None) or "outcome")
    out = pd.DataFrame(
        {"y_treated": _lookup(y, rows["treated"], "treated"),
         "y_control": _lookup(y, rows["control"], "control")},
        index=pd.Index(rows[focal].to_numpy(), name="pair"),
    )
    return out


def _check_counts(counts: pd.DataFrame, *, integer: bool) -> pd.DataFrame:
    missing = [c for c in COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise ColumnNotFoundError(missing, counts.columns)
    c = counts[list(COUNT_COLUMNS)].astype(float)
    problems: dict[str, list[object]] = {}
    for col in COUNT_COLUMNS:
        bad = c.index[~np.isfinite(c[col]) | (c[col] < 0)].tolist()
        if bad:
            problems[col] = bad
    for ev, n in (("events_treated", "n_treated"), ("events_control", "n_control")):
        bad = c.index[c[ev] > c[n] + 1e-9].tolist()
        if bad:
            problems[f"{ev} > {n}"] = bad
    if integer:
        frac = c.index[(c != np.round(c)).any(axis=1)].tolist()
        if frac:
            problems["non-integer counts (moments='exact')"] = frac
    if problems:
        raise InvalidValuesError(problems, "finite counts >= 0 with events <= units"
                                 + (", whole numbers" if integer else ""))
    total = c["events_treated"] + c["events_control"]
    informative = (c["n_treated"] > 0) & (c["n_control"] > 0) & (total > 0) & (
        total < c["n_treated"] + c["n_control"])
    if not informative.any():
        raise EmptyGroupError(
            "no stratum has both treated and control units and both outcomes, so the "
            "Mantel-Haenszel statistic is undefined (every stratum is concordant)"
        )
    return c


def _gamma_grid(gamma: Sequence[float] | float) -> np.ndarray:
    g = np.atleast_1d(np.asarray(gamma, dtype=float))
    if np.any(~np.isfinite(g)) or np.any(g < 1):
        raise ValueError(f"gamma values must be finite and >= 1, got {g.tolist()}")
    return np.unique(np.concatenate(([1.0], g)))  # mhbounds always adds Gamma = 1


def _critical_gamma(p_upper: Callable[[float], float], alpha: float) -> float:
    """Smallest Γ >= 1 with ``p_upper(Γ) >= alpha`` (p_upper increases with Γ).

    1.0 if the effect is not significant even without hidden bias; ``inf`` if it stays
    significant up to Γ = 1e6. Brent's method on ``p_upper(Γ) - alpha``.
    """
    if p_upper(1.0) >= alpha:
        return 1.0
    hi = 2.0
    while p_upper(hi) < alpha:
        if hi >= _GAMMA_SEARCH_MAX:
            return float("inf")
        hi *= 2.0
    return float(optimize.brentq(lambda g: p_upper(g) - alpha, hi / 2 if hi > 2 else 1.0, hi,
                                 xtol=1e-10, rtol=1e-12))


# --------------------------------------------------------------------------------------
# Mantel–Haenszel bounds
# --------------------------------------------------------------------------------------
def _mh_moments_approx(c: pd.DataFrame, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-stratum mean and variance of treated events, ``mhbounds`` style.

    Γ = 1: hypergeometric mean ``N1 Y / N`` and variance ``N1 N0 Y (N - Y) / (N² (N - 1))``.
    Γ ≠ 1: ``E`` is the root in ``[max(0, Y + N1 - N), min(Y, N1)]`` of
    ``E² (Γ - 1) - E [(Γ - 1)(N1 + Y) + N] + Γ Y N1 = 0`` (the count at which the
    stratum's odds ratio equals Γ) and ``Var = [1/E + 1/(Y - E) + 1/(N1 - E) +
    1/(N - Y - N1 + E)]⁻¹`` (Becker & Caliendo 2007, eq. 6 and footnote 5; Rosenbaum 2002
    §4.4). Strata without variation (no events, all events, or one group empty) have
    their fixed count as mean and variance 0.
    """
    n1, n0 = c["n_treated"].to_numpy(), c["n_control"].to_numpy()
    y = (c["events_treated"] + c["events_control"]).to_numpy()
    n = n1 + n0
    informative = (n1 > 0) & (n0 > 0) & (y > 0) & (y < n)
    mean = np.where(n > 0, n1 * y / np.where(n > 0, n, 1.0), 0.0)
    var = np.zeros_like(mean)
    i = informative
    if gamma == 1.0:
        var[i] = n1[i] * n0[i] * y[i] * (n[i] - y[i]) / (n[i] ** 2 * (n[i] - 1))
        return mean, var
    a = gamma - 1.0
    b = -(a * (n1[i] + y[i]) + n[i])
    cc = gamma * y[i] * n1[i]
    disc = np.sqrt(b * b - 4 * a * cc)
    # the smaller root when Γ > 1, the larger when Γ < 1 (a < 0); both = 2c / (-b + disc)
    e = 2 * cc / (-b + disc)
    mean[i] = e
    var[i] = 1.0 / (1 / e + 1 / (y[i] - e) + 1 / (n1[i] - e) + 1 / (n[i] - y[i] - n1[i] + e))
    return mean, var


def _mh_moments_exact(c: pd.DataFrame, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and variance of Fisher's noncentral hypergeometric with odds ratio Γ.

    The treated-event count of a stratum with ``N`` units, ``Y`` events and ``N1``
    treated, under the bounding assignment model with odds Γ (Rosenbaum 2002 §4.4;
    R ``sensitivity2x2xk::mhLS``; Stata ``rmhbounds``), via
    :data:`scipy.stats.nchypergeom_fisher`. For a 1:1 pair with one event this is the
    Bernoulli(Γ/(1+Γ)) of the sign test.
    """
    n1 = c["n_treated"].to_numpy().astype(int)
    y = (c["events_treated"] + c["events_control"]).to_numpy().astype(int)
    n = n1 + c["n_control"].to_numpy().astype(int)
    mean, var = nchypergeom_fisher.stats(n, y, n1, gamma, moments="mv")
    return np.asarray(mean, dtype=float), np.asarray(var, dtype=float)


_MOMENTS = {"mhbounds": _mh_moments_approx, "exact": _mh_moments_exact}


@dataclass(frozen=True)
class MHBounds:
    """Mantel–Haenszel bounds over a grid of Γ.

    ``q_plus``/``q_minus`` and ``p_plus``/``p_minus`` are ``mhbounds``' columns
    Q_mh+, Q_mh-, p_mh+, p_mh-: ``Q = (|Y1 - Σ E_s| - 0.5) / sqrt(Σ Var_s)`` with the
    moments at Γ ("+": hidden bias that *over*-states a positive effect) and at 1/Γ ("-"),
    and ``p = 1 - Φ(Q)``. Because of the absolute value these p-values fall again once
    Σ E_s passes Y1; ``p_worst`` is the signed worst-case bound for the observed
    direction of the effect, ``1 - Φ(s (Y1 - Σ E_s) - 0.5) / sd)`` with the "+" moments
    if the effect is positive (s = +1) and the "-" moments if negative (s = -1) — the
    quantity ``critical_gamma`` is solved for. With ``moments="mhbounds"`` the variance
    formula switches from hypergeometric (Γ = 1) to the large-sample one (Γ > 1), so
    ``p_worst`` can dip just above Γ = 1 for small strata; with exact moments it rises
    monotonically with Γ.
    """

    gamma: np.ndarray
    q_plus: np.ndarray
    q_minus: np.ndarray
    p_plus: np.ndarray
    p_minus: np.ndarray
    p_worst: np.ndarray
    observed: float          # Y1: treated events (weighted)
    expected: float          # Σ E_s at Γ = 1
    effect_sign: int         # +1 more events among treated than expected, -1 fewer
    critical_gamma: float
    alpha: float
    n_strata: int
    moments: str

    def to_frame(self) -> pd.DataFrame:
        """One row per Γ: q_mh_plus, q_mh_minus, p_mh_plus, p_mh_minus, p_worst."""
        return pd.DataFrame(
            {"q_mh_plus": self.q_plus, "q_mh_minus": self.q_minus, "p_mh_plus": self.p_plus,
             "p_mh_minus": self.p_minus, "p_worst": self.p_worst},
            index=pd.Index(self.gamma, name="gamma"),
        )

    def summary(self) -> Summary:
        """Text like ``mhbounds``' output, plus the critical Γ (a :class:`~psm.summary.Summary`)."""
        head = f"{'Gamma':>8} {'Q_mh+':>10} {'Q_mh-':>10} {'p_mh+':>10} {'p_mh-':>10} {'p_worst':>10}"
        lines = [f"Mantel-Haenszel (1959) bounds ({self.moments} moments, {self.n_strata} strata)",
                 head, "-" * len(head)]
        for row in self.to_frame().itertuples():
            lines.append(f"{row.Index:>8.3g} {row.q_mh_plus:>10.6g} {row.q_mh_minus:>10.6g} "
                         f"{row.p_mh_plus:>10.6g} {row.p_mh_minus:>10.6g} {row.p_worst:>10.6g}")
        direction = "more" if self.effect_sign > 0 else "fewer"
        lines += [
            f"Treated events {self.observed:.6g} vs {self.expected:.6g} expected without hidden bias "
            f"({direction} than expected).",
            _critical_gamma_text(self.critical_gamma, self.alpha, "worst-case p"),
        ]
        return Summary(lines[0], [("", format_frame(self.to_frame()))], lines[-2:], text="\n".join(lines))


def mh_bounds(
    counts: pd.DataFrame,
    gamma: Sequence[float] | float = DEFAULT_GAMMA,
    *,
    alpha: float = 0.05,
    moments: Literal["mhbounds", "exact"] = "mhbounds",
) -> MHBounds:
    """Mantel–Haenszel bounds for a binary outcome (Stata ``mhbounds``).

    Parameters
    ----------
    counts : DataFrame
        One row per stratum with columns ``n_treated``, ``n_control``, ``events_treated``,
        ``events_control`` (from :func:`matched_set_counts`, :func:`weighted_counts`, or
        built by hand).
    gamma : float or sequence of float
        Values of Γ >= 1; Γ = 1 is always included (as in ``mhbounds``).
    alpha : float
        Level for the critical Γ.
    moments : {"mhbounds", "exact"}
        ``"mhbounds"`` reproduces Stata's output: the hypergeometric variance at Γ = 1
        and the large-sample approximation above (see ``_mh_moments_approx``). That
        approximation is poor for small strata (for a 1:1 pair it gives E = √Γ/(1+√Γ)
        instead of Γ/(1+Γ)), so for matched sets prefer ``"exact"``, the exact moments of
        the noncentral hypergeometric (whole-number counts only).

    Formula (Becker & Caliendo 2007, eq. 5-6): ``Q = (|Y1 - Σ_s E_s| - 0.5) /
    sqrt(Σ_s Var(E_s))``, ``p = 1 - Φ(Q)``.

    Examples
    --------
    Rosenbaum (2002, Table 4.11), allopurinol and rash, two strata: Γ = 1 gives
    Q = 4.18665, p = 0.000014; Γ = 2 gives Q+ = 1.80445, p+ = 0.035581:

    >>> import pandas as pd, psm
    >>> counts = pd.DataFrame({"n_treated": [38, 29], "n_control": [681, 576], "events_treated": [5, 10], "events_control": [36, 58]})
    >>> psm.mh_bounds(counts, [1, 2]).q_plus.round(5).tolist()
    [4.18665, 1.80445]
    """
    if moments not in _MOMENTS:
        raise ValueError(f"moments must be one of {sorted(_MOMENTS)}, got {moments!r}")
    c = _check_counts(counts, integer=moments == "exact")
    grid = _gamma_grid(gamma)
    observed = float(c["events_treated"].sum())
    moment_fn = _MOMENTS[moments]
    expected = float(moment_fn(c, 1.0)[0].sum())
    sign = 1 if observed >= expected else -1

    def stat(g: float) -> tuple[float, float]:
        """(signed deviation Y1 - ΣE, sd) at odds g."""
        mean, var = moment_fn(c, g)
        return observed - float(mean.sum()), float(np.sqrt(var.sum()))

    def q_abs(g: float) -> float:
        dev, sd = stat(g)
        return (abs(dev) - 0.5) / sd

    def p_worst(g: float) -> float:
        dev, sd = stat(g if sign > 0 else 1.0 / g)
        return float(stats.norm.sf((sign * dev - 0.5) / sd))

    q_plus = np.array([q_abs(g) for g in grid])
    q_minus = np.array([q_abs(1.0 / g) for g in grid])
    return MHBounds(
        gamma=grid, q_plus=q_plus, q_minus=q_minus,
        p_plus=stats.norm.sf(q_plus), p_minus=stats.norm.sf(q_minus),
        p_worst=np.array([p_worst(g) for g in grid]),
        observed=observed, expected=expected, effect_sign=sign,
        critical_gamma=_critical_gamma(p_worst, alpha), alpha=alpha,
        n_strata=len(c), moments=moments,
    )


# --------------------------------------------------------------------------------------
# McNemar / sign-test bounds for 1:1 pairs
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class McNemarBounds:
    """Sign-test bounds for matched pairs with a binary outcome.

    Of the ``m`` discordant pairs, ``treated_only`` have the event in the treated unit
    only and ``control_only`` in the control only. ``D = max(treated_only,
    control_only)`` (the observed direction, as ``binarysens``). Under hidden bias Γ the
    number of discordant pairs in that direction is bounded by ``Binomial(m, p)`` with
    ``p⁺ = Γ/(1+Γ)`` (upper bound) and ``p⁻ = 1/(1+Γ)`` (lower bound), and the one-sided
    p-values are ``P(X >= D)`` (Rosenbaum 2002 §4.3.2). R ``rbounds`` 2.2 ``binarysens``
    sums ``dbinom(D:m)``, the same ``P(X >= D)``; the form ``1 - pbinom(D, m, p)`` quoted in
    methodology.md §6.2 would be ``P(X > D)``, one term short — we use ``P(X >= D)``.
    """

    gamma: np.ndarray
    p_upper: np.ndarray
    p_lower: np.ndarray
    n_pairs: int
    treated_only: int
    control_only: int
    effect_sign: int        # +1 if treated_only > control_only, -1 if fewer, +1 on a tie
    critical_gamma: float
    alpha: float

    @property
    def discordant(self) -> int:
        """Number of discordant pairs ``m = treated_only + control_only``."""
        return self.treated_only + self.control_only

    def to_frame(self) -> pd.DataFrame:
        """One row per Γ: p_lower, p_upper."""
        return pd.DataFrame({"p_lower": self.p_lower, "p_upper": self.p_upper},
                            index=pd.Index(self.gamma, name="gamma"))

    def summary(self) -> Summary:
        """Text like ``binarysens``' output, plus counts and the critical Γ (a :class:`~psm.summary.Summary`)."""
        lines = [
            "Rosenbaum sensitivity test (sign test / McNemar, matched pairs)",
            f"pairs {self.n_pairs}; discordant {self.discordant} "
            f"(event in treated only {self.treated_only}, in control only {self.control_only})",
            f"{'Gamma':>8} {'Lower bound p':>14} {'Upper bound p':>14}",
        ]
        lines += [f"{g:>8.3g} {lo:>14.6g} {up:>14.6g}"
                  for g, lo, up in zip(self.gamma, self.p_lower, self.p_upper)]
        lines.append(_critical_gamma_text(self.critical_gamma, self.alpha, "upper bound p"))
        return Summary(lines[0], [("", format_frame(self.to_frame()))], [lines[1], lines[-1]], text="\n".join(lines))


def _pair_vector(values: object, name: str) -> pd.Series:
    """``values`` as a Series of per-pair outcomes; TypeError saying what to pass otherwise."""
    how = ("pass one outcome per pair for each side, e.g. pairs = psm.pair_outcomes(matching, df['y']); "
           "psm.mcnemar_bounds(pairs['y_treated'], pairs['y_control'])")
    if isinstance(values, pd.DataFrame):
        raise TypeError(f"{name} is a DataFrame; {how}")
    array = np.asarray(values) if not isinstance(values, pd.Series) else values.to_numpy()
    if array.ndim != 1:
        raise TypeError(f"{name} must be a one-dimensional sequence of 0/1 outcomes, got "
                        f"{type(values).__name__}; {how}")
    return pd.Series(array)


def _critical_gamma_text(critical_gamma: float, alpha: float, p_name: str) -> str:
    """The critical-Γ line of a summary, worded for its three cases."""
    if critical_gamma == 1.0:
        return (f"Not significant at {alpha:g} even without hidden bias ({p_name} at Gamma = 1 "
                f"is >= {alpha:g}): no critical Gamma.")
    if np.isinf(critical_gamma):
        return f"Still significant at {alpha:g} for every Gamma up to {_GAMMA_SEARCH_MAX:g}."
    return f"Critical Gamma ({p_name} reaches {alpha:g}): {critical_gamma:.4g}"


def mcnemar_bounds(
    y_treated: Sequence[float] | pd.Series,
    y_control: Sequence[float] | pd.Series,
    gamma: Sequence[float] | float = DEFAULT_GAMMA,
    *,
    alpha: float = 0.05,
) -> McNemarBounds:
    """Sign-test (McNemar) Rosenbaum bounds for 1:1 matched pairs, binary outcome.

    ``y_treated[i]``, ``y_control[i]`` are the outcomes (0/1) of pair ``i`` (see
    :func:`pair_outcomes`). ``p(Γ) = Σ_{x=D}^{m} C(m, x) p^x (1-p)^{m-x}`` with
    ``p = Γ/(1+Γ)`` (upper bound) or ``1/(1+Γ)`` (lower bound); see :class:`McNemarBounds`.
    """
    yt = _binary(_pair_vector(y_treated, "y_treated"), "y_treated").to_numpy()
    yc = _binary(_pair_vector(y_control, "y_control"), "y_control").to_numpy()
    if len(yt) != len(yc):
        raise ValueError(f"y_treated has {len(yt)} pairs but y_control has {len(yc)}")
    if len(yt) == 0:
        raise EmptyGroupError("no matched pairs")
    treated_only = int(np.sum((yt == 1) & (yc == 0)))
    control_only = int(np.sum((yt == 0) & (yc == 1)))
    m = treated_only + control_only
    d = max(treated_only, control_only)
    grid = _gamma_grid(gamma)

    def tail(p: float) -> float:  # P(X >= D), X ~ Bin(m, p); 1 when there are no discordant pairs
        return float(stats.binom.sf(d - 1, m, p))

    def upper(g: float) -> float:
        return tail(g / (1.0 + g))

    return McNemarBounds(
        gamma=grid,
        p_upper=np.array([upper(g) for g in grid]),
        p_lower=np.array([tail(1.0 / (1.0 + g)) for g in grid]),
        n_pairs=len(yt), treated_only=treated_only, control_only=control_only,
        effect_sign=1 if treated_only >= control_only else -1,
        critical_gamma=_critical_gamma(upper, alpha), alpha=alpha,
    )
