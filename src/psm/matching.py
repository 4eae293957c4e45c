"""Nearest-neighbour matching on a one-dimensional score, as psmatch2 v4.0.12 does it.

Source: psmatch2.ado v4.0.12 (Leuven & Sianesi), Mata ``match_pscore`` and helpers
``next_unmatched``, ``match_ties``, ``match2``; sort order ``sort msup _treated _pscore order``.
Rules reproduced (for the focal group, treated under ATT; controls under ATU):

* **Sort order.** Candidates are sorted by (score, original row order); ``order="random"``
  replaces the row order by a seeded random permutation (psmatch2's help asks users to
  randomise the sort order themselves when scores are tied). Only units on common support
  are candidates.
* **Nearest neighbour** (k=1). psmatch2 scans forward from the previous match and moves
  only on a *strict* improvement of ``|p_i - p_j|``. With replacement this equals: the
  candidate with the smallest distance, and among equal distances the first in sort order
  (identical scores: the earliest row; a symmetric tie ``p_i - a == b - p_i``: the lower
  score ``a``). Here it is computed with one ``searchsorted`` of the focal scores into the
  sorted candidate scores (no Python loop over rows).
* **Caliper** in raw score units, strict: a match needs ``|p_i - p_j| < caliper``; a focal
  unit without one goes off support (psmatch2 ``_support = 0``).
* **ties**: every further candidate at the same distance as the nearest (psmatch2 walks
  forward adding ``dif <= dif0``); all share weight ``1/n_i``.
* **k neighbours** (``neighbor(k)``, ``match2``): expand outward from the nearest, each step
  taking the closer of the next-left and next-right candidate (left wins an equal
  distance), stopping at k or at the first candidate outside the caliper. With ``ties``
  psmatch2 appends this walk to the tie list, so a tied candidate the walk meets again is
  counted twice (weight ``2/n_i``); reproduced, and documented on :func:`match`.
* **Without replacement** (1:1 only): greedy over focal units in ascending score order
  (``descending=True``: descending), each taking the nearest *still unused* candidate that
  psmatch2's forward scan reaches from its pointer. The pointer only moves forward, so
  unused candidates it passed are not revisited until it reaches the last candidate, after
  which it scans backward (``forward = 0``). When the pointer runs off the candidate list
  the remaining focal units stay unmatched (off support). This is *not* the same as
  "nearest unused candidate", and is reproduced exactly.
* **Weights** (``_weight``): under ATT, treated on support 1 and each control the sum over
  treated that used it of ``1/n_i``; under ATE (psmatch2 ``ate``) both groups hold the
  weight from being used by the other group; units with weight 0 or off support get
  psmatch2's missing, stored here as 0.

The searches live in :mod:`psm._nn_sorted` (with replacement) and :mod:`psm._nn_greedy`
(without); this module sorts, validates and assembles the :class:`Matching` result.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psm._nn_greedy import match_without_replacement
from psm._nn_sorted import Links, match_with_replacement
from psm._validation import (
    column_label,
    drop_missing,
    numeric_values,
    require_both_groups,
    select_columns,
    treatment_indicator,
)
from psm.errors import NoControlsOnSupportError
from psm.kernel import KernelMatching, kernel_match
from psm.propensity import PropensityModel
from psm.summary import Summary, SummaryTable, format_number
from psm.support import (
    ESTIMAND_ALIASES,
    ESTIMANDS,
    support_mask,
    support_table,
    unit_frame,
    unit_series,
    unit_weights,
)

DIRECTIONS = ("ATT", "ATU")
_PASSES = {"ATT": ("ATT",), "ATU": ("ATU",), "ATE": ("ATU", "ATT")}  # psmatch2 runs ATU first


def _match_direction(p, rank_p, c, rank_c, *, k, replace, ties, caliper, descending) -> Links:
    """Match focal scores ``p`` to candidate scores ``c`` (both in row order).

    Returns links whose ``match`` are positions into ``c`` (row order, not sort order).
    """
    if not len(p) or not len(c):
        empty = np.zeros(0, dtype=np.int64)
        return Links(empty, empty, np.zeros(0))
    if descending:  # psmatch2 sorts by -pscore: the same algorithm on negated scores
        p, c = -p, -c
    c_order = _sort_order(c, rank_c)
    p_order = _sort_order(p, rank_p)  # psmatch2's processing order (and fast searchsorted)
    if replace:
        links = match_with_replacement(p[p_order], c[c_order], k=k, ties=ties, caliper=caliper)
    else:
        links = match_without_replacement(p[p_order], c[c_order], ties=ties, caliper=caliper)
    return Links(p_order[links.focal], c_order[links.match], links.weight)


def _sort_order(values: np.ndarray, rank: np.ndarray | None) -> np.ndarray:
    """Positions sorting ``values`` ascending, equal values by ``rank`` (psmatch2's
    ``order``; ``None``: by position)."""
    order = np.argsort(values)
    ranked = values[order]
    if np.any(ranked[1:] == ranked[:-1]):  # repeated scores: break ties by rank
        order = np.argsort(values, kind="stable") if rank is None else np.lexsort((rank, values))
    return order



# --------------------------------------------------------------------------------------
# result object


@dataclass(frozen=True)
class Matching:
    """Result of :func:`match`; every Series is aligned to the rows used (``data.index``
    minus the rows dropped by ``dropna=True``, listed in ``dropped``).

    Attributes
    ----------
    treated : bool Series named after the treatment column.
    score : float Series, the score matched on.
    within_common_support : bool Series, the ``common`` rule alone (all True without it).
    on_support : bool Series, psmatch2 ``_support``: False for focal units outside common
        support, without a match within the caliper, or left over without replacement.
        Under ATT all controls are on support (mirror under ATU).
    weights : float Series, psmatch2 ``_weight`` with missing stored as 0.
    pairs : DataFrame with columns ``treated``, ``control`` (index labels), ``distance``
        (``|score_t - score_c|``), ``weight`` (``1/n_i`` of the focal unit), ``direction``
        ("ATT": a treated unit's matches among controls; "ATU": a control's among treated).
        Rows come by direction (ATU first under ATE, psmatch2's order), then by focal unit
        in psmatch2's processing order (ascending score), then in psmatch2's match-list
        order (nearest, ties, further neighbours).
    estimand, k, replace, caliper, common_support, ties, order, seed, descending : options
        (``caliper`` in score units; ``std_caliper``: the caliper in SD units when so given).
    dropped : index labels dropped for missing values (``dropna=True``).
    """

    treated: pd.Series
    score: pd.Series
    within_common_support: pd.Series
    on_support: pd.Series
    weights: pd.Series
    pairs: pd.DataFrame
    estimand: str
    k: int
    replace: bool
    caliper: float | None
    common_support: bool
    ties: bool
    order: str | None
    seed: int | None
    descending: bool = False
    dropped: pd.Index = field(default_factory=lambda: pd.Index([]))
    metric: str = "pscore"  # "mahalanobis": from psm.mahalanobis_match (score is NaN there)
    std_caliper: float | None = None
    _links: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_dropped(self) -> int:
        """Number of rows dropped for missing values."""
        return len(self.dropped)

    def _direction_links(self, direction: str) -> Links:
        if direction not in self._links:
            raise ValueError(
                f"direction must be one of {tuple(self._links)} for a {self.estimand} matching, got {direction!r}"
            )
        return self._links[direction]

    def weights_for(self, direction: str) -> pd.Series:
        """Weights from one direction's matches only (K_M(i)/M-style).

        ATT: treated 1 if matched, each control ``sum_i 1/n_i`` over treated ``i`` that used
        it; ATU: the mirror. Equals ``weights`` for an ATT (ATU) matching.
        """
        links = self._direction_links(direction)
        w = np.bincount(links.match, weights=links.weight, minlength=len(self.score))
        w[links.focal] = 1.0
        return pd.Series(w, index=self.score.index, name="weight")

    def matched_outcome(self, y: pd.Series, direction: str | None = None) -> pd.Series:
        """psmatch2 ``_<outcome>``: mean outcome of each focal unit's matches (weights 1/n_i).

        ``direction`` "ATT" fills treated units, "ATU" controls; ``None`` fills the
        estimand's directions (both under ATE, as psmatch2 ``ate``). NaN elsewhere.
        ``y`` must be a Series carrying at least the matched rows' labels; a missing
        outcome among a unit's matches makes its value NaN.
        """
        if not isinstance(y, pd.Series):
            raise TypeError("y must be a pandas Series aligned to the data")
        missing = self.score.index.difference(y.index)
        if len(missing):
            raise ValueError(f"y lacks {len(missing)} rows of the matching, e.g. {missing[:5].tolist()}")
        values = y.reindex(self.score.index).to_numpy(dtype=float)
        out = np.full(len(values), np.nan)
        for name in _PASSES[self.estimand] if direction is None else (direction,):
            links = self._direction_links(name)
            sums = np.bincount(links.focal, weights=links.weight * values[links.match], minlength=len(values))
            out[links.focal] = sums[links.focal]
        return pd.Series(out, index=self.score.index, name=f"_{y.name}" if y.name is not None else None)

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``treated``, ``score``, ``on_support``, ``weight`` (psmatch2's ``_treated``,
        ``_pscore``, ``_support``, ``_weight``); the links are in ``pairs``."""
        return unit_frame(self)

    def matched_data(self, data: pd.DataFrame, *, pairs: bool = False) -> pd.DataFrame:
        """The matched sample as rows of ``data`` with ``weights`` and ``subclass`` (MatchIt's
        ``match.data`` and, with ``pairs=True``, ``get_matches``).

        ``pairs=False``: one row per unit in the matched sample (on support, weight > 0), in data
        order, with ``weights`` = ``weights`` (psmatch2 ``_weight``: 1 for a focal unit, the sum
        of ``1/n_i`` over the matched sets a match serves) -- the weights of an outcome regression,
        e.g. ``statsmodels.formula.api.wls("y ~ treat", data=md, weights=md["weights"])``, whose
        coefficient on the treatment is the matching estimate. ``subclass`` (the matched-set number,
        1, 2, ... in psmatch2's processing order) is added when every unit belongs to one matched set
        (no match reused), as MatchIt adds it only then.

        ``pairs=True``: one row per unit per matched set, so a control used by several treated units
        appears once for each; ``subclass`` numbers the sets, ``weights`` is 1 for the focal unit and
        its link weight ``1/n_i`` for each match. The index keeps ``data``'s labels (repeated for
        reused units): cluster standard errors on it.

        Examples
        --------
        >>> import psm
        >>> df = psm.datasets.lalonde()
        >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
        ...                         link="logit")
        >>> md = psm.match(df, "treat", ps, replace=False).matched_data(df)
        >>> len(md), md["subclass"].nunique(), md["weights"].unique().tolist()
        (370, 185, [1.0])
        """
        missing = self.score.index.difference(data.index)
        if len(missing):
            raise ValueError(f"data lacks {len(missing)} rows of the matching, e.g. {missing[:5].tolist()}")
        index = self.score.index
        focal_parts, match_parts, weight_parts = [], [], []
        for name in _PASSES[self.estimand]:
            links = self._links[name]
            focal_parts.append(links.focal)
            match_parts.append(links.match)
            weight_parts.append(links.weight)
        focal = np.concatenate(focal_parts)
        match = np.concatenate(match_parts)
        link_w = np.concatenate(weight_parts)
        starts = np.r_[True, focal[1:] != focal[:-1]]  # links of one focal unit are contiguous
        set_id = np.cumsum(starts)
        if not pairs:
            keep = (self.weights > 0).to_numpy()
            out = data.loc[index[keep]].copy()
            out["weights"] = self.weights.to_numpy()[keep]
            members = np.concatenate([focal[starts], match])
            if np.bincount(members, minlength=len(index)).max() <= 1:
                sub = np.zeros(len(index), dtype=np.int64)
                sub[focal[starts]] = set_id[starts]
                sub[match] = set_id
                out["subclass"] = sub[keep]
            return out
        rows = np.concatenate([focal[starts], match])
        sets = np.concatenate([set_id[starts], set_id])
        weights = np.concatenate([np.ones(int(starts.sum())), link_w])
        order = np.lexsort((np.r_[np.zeros(int(starts.sum())), np.ones(len(match))], sets))
        out = data.loc[index[rows[order]]].copy()
        out["subclass"] = sets[order]
        out["weights"] = weights[order]
        return out

    def summary(self) -> Summary:
        """The options, psmatch2's ``tab _treated _support`` and the matches' distances, as a
        :class:`~psm.summary.Summary`."""
        t = self.treated.to_numpy()
        s = self.on_support.to_numpy()
        cal = "none" if self.caliper is None else f"{self.caliper:g}"
        if self.std_caliper is not None:
            cal += f" ({self.std_caliper:g} SD)"
        head = [
            f"estimand {self.estimand}, k={self.k}, replace={self.replace}, ties={self.ties}, "
            f"caliper={cal}, common support={self.common_support}, order={self.order or 'data'}"
            + (f", seed={self.seed}" if self.order == "random" else "")
            + (", descending" if self.descending else ""),
        ]
        if self.n_dropped:
            head.append(f"rows dropped for missing values: {self.n_dropped}")
        support = support_table(t, s)
        rows = {}
        for name, links in self._links.items():
            dist = self.pairs.loc[self.pairs["direction"] == name, "distance"]
            rows[name] = {
                "Matched units": str(len(np.unique(links.focal))),
                "Distinct matches": str(len(np.unique(links.match))),
                "Links": str(len(links.focal)),
                "Mean distance": format_number(dist.mean(), 6, significant=True),
                "Max distance": format_number(dist.max(), 6, significant=True),
            }
        distances = pd.DataFrame.from_dict(rows, orient="index")
        distances.index.name = "Direction"
        on = "the Mahalanobis distance" if self.metric == "mahalanobis" else repr(self.score.name)
        title = f"Nearest-neighbour matching on {on} (psmatch2 v4.0.12 rules)"
        text = "\n".join([title, *head, SummaryTable(support).as_text(), SummaryTable(distances).as_text()])
        return Summary(title, [("Common support", support), ("Matches", distances)], head, text=text)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        n_t = int(self.treated.sum())
        return (
            f"Matching(estimand={self.estimand!r}, k={self.k}, replace={self.replace}, "
            f"caliper={self.caliper!r}, ties={self.ties}, treated={n_t}, controls={len(self.treated) - n_t}, "
            f"on_support={int(self.on_support.sum())}, pairs={len(self.pairs)})"
        )


# --------------------------------------------------------------------------------------
# public entry point


def match(
    data: pd.DataFrame,
    treatment: Hashable | pd.Series,
    score: Hashable | pd.Series | PropensityModel,
    *,
    k: int = 1,
    replace: bool = True,
    caliper: float | None = None,
    std_caliper: bool = False,
    common_support: bool = False,
    ties: bool = False,
    order: str | None = None,
    seed: int | None = None,
    estimand: str = "ATT",
    descending: bool = False,
    dropna: bool = False,
    method: str = "nearest",
    kernel: str = "epan",
    bandwidth: float | None = None,
) -> Matching | KernelMatching:
    """Nearest-neighbour matching on a one-dimensional score with psmatch2 v4.0.12 rules.

    ``method="kernel"`` (psmatch2 ``kernel``, with ``kernel`` and ``bandwidth``) and
    ``method="radius"`` (psmatch2 ``radius caliper()``) return a
    :class:`psm.KernelMatching` from :func:`psm.kernel_match` instead; the
    nearest-neighbour options ``k``, ``replace``, ``ties``, ``order``, ``seed`` and
    ``descending`` do not apply to them.

    Parameters
    ----------
    data : DataFrame holding the treatment and score (or aligned Series for them).
    treatment : column name or bool/0-1 Series.
    score : column name or Series (propensity score, index or log-odds: any real score), or a
        fitted :class:`psm.PropensityModel`, whose ``score`` (the probability) is used.
    k : neighbours per focal unit (psmatch2 ``neighbor(k)``); weights ``1/n_i``.
    replace : False is psmatch2 ``noreplacement`` (1:1 greedy, k must be 1).
    caliper : maximum distance in raw score units, strict ``<``; None = no caliper.
    std_caliper : the caliper is in standard-deviation units of the score (MatchIt ``std.caliper``):
        the distance limit is ``caliper * sqrt((s1^2 + s0^2) / 2)``, the pooled SD of the score over
        the treated and the controls matched on (Rosenbaum & Rubin 1985; Austin 2011, who recommends
        0.2 SD of the *logit* of the score: match on ``ps.linear_predictor`` of a logit model).
        ``Matching.caliper`` holds the limit in score units, ``Matching.std_caliper`` the SD units.
    common_support : psmatch2 ``common`` (see :func:`psm.common_support`).
    ties : also match every candidate as close as the nearest; all share ``1/n_i``.
        With ``k > 1`` psmatch2 appends the k-neighbour walk to the tie list, so a tied
        candidate may be listed twice and get weight ``2/n_i``; this is reproduced.
    order : None breaks ties between identical scores (and orders the greedy pass between
        units with identical scores) by data order, as psmatch2; ``"random"`` uses a random
        permutation drawn from ``seed`` instead (psmatch2's help advises randomising the
        sort order before matching).
    seed : integer seed for ``order="random"`` (required there, not allowed otherwise).
    estimand : "ATT" (treated matched to controls, psmatch2 default), "ATU" (controls
        matched to treated; MatchIt's name "ATC" is accepted), "ATE" (both, psmatch2 ``ate``).
    descending : without replacement, process focal units from the highest score down
        (psmatch2 ``descending``).
    dropna : drop rows with a missing treatment or score (reported in ``dropped``) instead
        of raising :class:`psm.MissingValuesError`.

    Raises
    ------
    ColumnNotFoundError, InvalidTreatmentError, MissingValuesError, EmptyGroupError,
    NoControlsOnSupportError (no focal unit of some direction could be matched),
    ValueError / TypeError for invalid options or a non-numeric score.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> m = psm.match(df, "treat", ps, ties=True)          # the fitted model, or a score column
    >>> int(m.on_support.sum()), float(m.weights[df["treat"] == 0].sum())
    (614, 185.0)
    >>> austin = psm.match(df, "treat", ps.linear_predictor, caliper=0.2, std_caliper=True)
    >>> austin.std_caliper, round(austin.caliper, 4)
    (0.2, 0.2693)
    """
    if isinstance(score, PropensityModel):
        score = score.score
    estimand = ESTIMAND_ALIASES.get(estimand, estimand) if isinstance(estimand, str) else estimand
    if method != "nearest":
        nearest_only = {"k": k != 1, "replace": not replace, "ties": ties, "order": order is not None,
                        "seed": seed is not None, "descending": descending, "std_caliper": std_caliper}
        given = [name for name, changed in nearest_only.items() if changed]
        if given:
            raise ValueError(f"method={method!r} does not take the nearest-neighbour option(s) {', '.join(given)}")
        return kernel_match(data, treatment, score, method=method, kernel=kernel, bandwidth=bandwidth,
                            caliper=caliper, common_support=common_support, estimand=estimand, dropna=dropna)
    if bandwidth is not None or kernel != "epan":
        raise ValueError("kernel= and bandwidth= apply to method='kernel' only")
    _check_options(k, replace, caliper, ties, order, seed, estimand, descending)
    if std_caliper and caliper is None:
        raise ValueError("std_caliper=True gives the caliper in SD units of the score: pass caliper= too")
    names = {"treatment": column_label(treatment), "score": column_label(score)}
    frame = select_columns(data, {"treatment": treatment, "score": score})
    frame, dropped = drop_missing(frame, dropna=dropna, names=names)
    treated = treatment_indicator(frame["treatment"].rename(names["treatment"]))
    require_both_groups(treated)
    scores = numeric_values(frame["score"].rename(names["score"]))
    t = treated.to_numpy()
    n = len(t)
    rank = None if order is None else np.random.default_rng(seed).permutation(n)
    common = support_mask(t, scores, estimand) if common_support else np.ones(n, dtype=bool)
    sd_units = float(caliper) if std_caliper else None
    if std_caliper:
        caliper = sd_units * float(np.sqrt((np.var(scores[t], ddof=1) + np.var(scores[~t], ddof=1)) / 2.0))
    cal = np.inf if caliper is None else float(caliper)

    links: dict[str, Links] = {}
    on_support = common.copy()
    for direction in _PASSES[estimand]:
        focal_group = t if direction == "ATT" else ~t
        focal = np.flatnonzero(focal_group & common)
        cands = np.flatnonzero(~focal_group & common)
        found = _match_direction(
            scores[focal], None if rank is None else rank[focal],
            scores[cands], None if rank is None else rank[cands],
            k=k, replace=replace, ties=ties, caliper=cal, descending=descending,
        )
        links[direction] = Links(focal[found.focal], cands[found.match], found.weight)
        matched = np.zeros(n, dtype=bool)
        matched[links[direction].focal] = True
        on_support[focal_group] &= matched[focal_group]
        if not matched.any():
            raise NoControlsOnSupportError(_no_match_message(direction, focal, cands, caliper, common_support))

    weights = np.zeros(n)
    for found in links.values():
        weights += np.bincount(found.match, weights=found.weight, minlength=n)
    unit_weights(weights, t, on_support, estimand)

    index = frame.index
    return Matching(
        treated=treated,
        **unit_series(index, scores, names["score"], common, on_support, weights),
        pairs=_pairs_frame(index, scores, links),
        estimand=estimand,
        k=k,
        replace=replace,
        caliper=caliper,
        common_support=common_support,
        ties=ties,
        order=order,
        seed=seed,
        descending=descending,
        dropped=dropped,
        std_caliper=sd_units,
        _links=links,
    )


def _pairs_frame(index: pd.Index, scores: np.ndarray, links: dict[str, Links]) -> pd.DataFrame:
    parts = []
    for direction, found in links.items():
        tr, co = (found.focal, found.match) if direction == "ATT" else (found.match, found.focal)
        parts.append((tr, co, found.weight, np.full(len(tr), DIRECTIONS.index(direction), dtype=np.int8)))
    tr, co, w, dcode = (np.concatenate(col) for col in zip(*parts))
    return pd.DataFrame(
        {
            "treated": index.take(tr),
            "control": index.take(co),
            "distance": np.abs(scores[tr] - scores[co]),
            "weight": w,
            "direction": pd.Categorical.from_codes(dcode, categories=list(DIRECTIONS)),
        },
        copy=False,
    )


def _no_match_message(direction, focal, cands, caliper, common_support) -> str:
    unit, other = ("treated", "control") if direction == "ATT" else ("control", "treated")
    if not len(focal):
        return (
            f"no {unit} unit lies within the common support of the {other} scores; "
            "check the propensity model or drop common_support=True"
        )
    return (
        f"none of the {len(focal)} {unit} units on support has a {other} match "
        f"within caliper={caliper!r} ({len(cands)} {other} candidates"
        f"{' on common support' if common_support else ''}); widen the caliper"
    )


def _check_options(k, replace, caliper, ties, order, seed, estimand, descending) -> None:
    problems = []
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        problems.append(f"k must be a positive integer, got {k!r}")
    elif not replace and k > 1:
        problems.append("matching without replacement is 1:1 only (psmatch2 noreplacement): use k=1")
    if caliper is not None and not (isinstance(caliper, (int, float, np.floating)) and caliper > 0):
        problems.append(f"caliper must be a positive number in score units or None, got {caliper!r}")
    if order not in (None, "random"):
        problems.append(f"order must be None (data order) or 'random', got {order!r}")
    if order == "random" and seed is None:
        problems.append("order='random' needs an integer seed, so the result can be reproduced")
    if order is None and seed is not None:
        problems.append("seed is only used with order='random'")
    if estimand not in ESTIMANDS:
        problems.append(f"estimand must be one of {ESTIMANDS} (or 'ATC' for ATU), got {estimand!r}")
    if descending and replace:
        problems.append("descending only applies to matching without replacement (replace=False)")
    for name, value in (("replace", replace), ("ties", ties), ("descending", descending)):
        if not isinstance(value, (bool, np.bool_)):
            problems.append(f"{name} must be True or False, got {value!r}")
    if problems:
        raise ValueError("invalid matching options: " + "; ".join(problems))
