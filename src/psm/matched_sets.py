"""Matched sets and pairs of a matching, as the sensitivity analyses of :mod:`psm.sensitivity` read them.

A matching (:class:`psm.Matching`) links each focal unit to its matches. For a binary outcome the
Rosenbaum bounds need, per stratum, the numbers of treated and control units and of events in each
(:data:`COUNT_COLUMNS`):

* :func:`psm.matched_set_counts` — one stratum per focal unit and its matches (Stata ``mhbounds`` after
  ``psmatch2``). With replacement those sets share controls and are not independent;
* :func:`psm.component_counts` — one stratum per connected component of the matched graph (a reused
  control with every unit matched to her), independent strata: the input to use with replacement;
* :func:`psm.weighted_counts` — a weighted matched sample as ``mhbounds`` reads psmatch2's ``_weight``;
* :func:`psm.pair_outcomes` — the treated and control outcome of each 1:1 pair, for the sign-test bounds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psm.errors import ColumnNotFoundError, EmptyGroupError, InvalidValuesError, MissingValuesError

__all__ = ["COUNT_COLUMNS", "matched_set_counts", "component_counts", "weighted_counts", "pair_outcomes"]

#: Columns of a strata-count table, one row per stratum.
COUNT_COLUMNS = ("n_treated", "n_control", "events_treated", "events_control")


def binary_outcome(values: pd.Series, name: str) -> pd.Series:
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

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> employed = (df["re78"] > 0).astype(int)
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> counts = psm.matched_set_counts(psm.match(df, "treat", ps), employed)
    >>> counts.shape  # one stratum per treated woman
    (185, 4)
    """
    rows, focal, other = _direction_pairs(matching, direction)
    y = binary_outcome(pd.Series(outcome), getattr(outcome, "name", None) or "outcome")
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
    applies to them. The per-treated sets of :func:`psm.matched_set_counts` count a reused
    control once per use, as if she were a new person each time, and overstate the evidence.
    Use exact moments (:func:`psm.mh_bounds` ``moments="exact"``): the counts are whole numbers.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> employed = (df["re78"] > 0).astype(int)
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> strata = psm.component_counts(psm.match(df, "treat", ps), employed)
    >>> len(strata), int(strata["n_treated"].sum())  # 185 treated in 80 independent strata
    (80, 185)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows, _, _ = _direction_pairs(matching, direction)
    y = binary_outcome(pd.Series(outcome), getattr(outcome, "name", None) or "outcome")
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
    weighting is how the ado file is believed to use ``_weight``; its source was not
    available to check, so this reading is unverified. Counts may be fractional
    (ties), which only the ``moments="mhbounds"`` variant of :func:`psm.mh_bounds` accepts.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> employed = (df["re78"] > 0).astype(int)
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> m = psm.match(df, "treat", ps)
    >>> psm.weighted_counts(df["treat"], employed, m.weights).iloc[0].tolist()
    [185.0, 185.0, 140.0, 140.0]
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
    t = binary_outcome(frame["treated"], "treated").astype(bool)
    y = binary_outcome(frame["outcome"], getattr(outcome, "name", None) or "outcome")
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
    """Treated and control outcome of each 1:1 matched pair (for :func:`psm.mcnemar_bounds`).

    Raises ``InvalidValuesError`` naming the focal units that have more than one match
    (``k > 1`` or ties): the sign-test bounds need pairs; use :func:`psm.mh_bounds` on
    :func:`psm.matched_set_counts` for matched sets.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> employed = (df["re78"] > 0).astype(int)
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> pairs = psm.pair_outcomes(psm.match(df, "treat", ps, replace=False), employed)
    >>> len(pairs), pairs.mean().round(3).tolist()
    (185, [0.757, 0.746])
    """
    rows, focal, _ = _direction_pairs(matching, direction)
    sizes = rows.groupby(focal).size()
    multi = sizes.index[sizes > 1].tolist()
    if multi:
        raise InvalidValuesError(
            {f"{direction} matched sets with more than one match": multi},
            "exactly one match per unit (1:1 pairs); use mh_bounds(matched_set_counts(...)) otherwise",
        )
    y = binary_outcome(pd.Series(outcome), getattr(outcome, "name", None) or "outcome")
    out = pd.DataFrame(
        {"y_treated": _lookup(y, rows["treated"], "treated"),
         "y_control": _lookup(y, rows["control"], "control")},
        index=pd.Index(rows[focal].to_numpy(), name="pair"),
    )
    return out
