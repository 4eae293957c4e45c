"""Common support: psmatch2's ``common`` rule on a one-dimensional score.

psmatch2 v4.0.12, program ``_Support_`` (ado l.603-611)::

    sum _pscore if _treated==0
    replace _support = 0 if (_pscore < r(min) | _pscore > r(max)) & _treated==1
    (with ate)  the same for controls against the treated min/max

i.e. a treated unit is off support when its score is *strictly* below the smallest or
strictly above the largest control score (units on the boundary stay on support). The
extremes are taken over all units of the other group. ``trim()`` is not implemented.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd

from psm._validation import treatment_and_score

ESTIMANDS = ("ATT", "ATU", "ATE")
#: other names of the estimands: MatchIt's and cobalt's "ATC" (average effect on the controls) is ATU.
ESTIMAND_ALIASES = {"ATC": "ATU"}


def canonical_estimand(estimand: str) -> str:
    """``estimand`` with its alias resolved ("ATC" -> "ATU"); ValueError naming the choices otherwise."""
    resolved = ESTIMAND_ALIASES.get(estimand, estimand) if isinstance(estimand, str) else estimand
    if resolved not in ESTIMANDS:
        raise ValueError(f"estimand must be one of {ESTIMANDS} (or 'ATC' for ATU), got {estimand!r}")
    return resolved


def support_mask(treated: np.ndarray, score: np.ndarray, estimand: str = "ATT") -> np.ndarray:
    """Array form of :func:`common_support` (bool arrays in, bool array out, no checks)."""
    keep = np.ones(len(score), dtype=bool)
    groups = {"ATT": (True,), "ATU": (False,), "ATE": (True, False)}[estimand]
    for focal in groups:
        is_focal = treated == focal
        other = score[~is_focal]
        lo, hi = other.min(), other.max()
        keep[is_focal] = (score[is_focal] >= lo) & (score[is_focal] <= hi)
    return keep


def common_support(
    data: pd.DataFrame,
    treatment: Hashable | pd.Series,
    score: Hashable | pd.Series,
    *,
    estimand: str = "ATT",
) -> pd.Series:
    """psmatch2 ``common``: which units lie inside the score range of the other group.

    ATT (psmatch2 default): treated with ``score < min(score | control)`` or
    ``score > max(score | control)`` are off support; controls always on support.
    ATU (or its MatchIt name "ATC"): the mirror (controls against the treated range). ATE (psmatch2
    ``ate``): both.

    Returns a bool Series aligned to ``data.index`` named ``"on_support"``.
    Missing values raise :class:`psm.MissingValuesError`; an empty group raises
    :class:`psm.EmptyGroupError`.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> psm.common_support(df, "treat", ps.score).groupby(df["treat"]).sum().to_dict()
    {0: 429, 1: 177}
    """
    estimand = canonical_estimand(estimand)
    treated, values, _, _ = treatment_and_score(data, treatment, score)
    return pd.Series(support_mask(treated.to_numpy(), values, estimand), index=data.index, name="on_support")


def support_table(treated: np.ndarray, on_support: np.ndarray) -> pd.DataFrame:
    """psmatch2's ``tab _treated _support``: units off and on support, and in total, by group (as text)."""
    t, s = np.asarray(treated, dtype=bool), np.asarray(on_support, dtype=bool)
    return pd.DataFrame(
        [[int(np.sum(g & ~s)), int(np.sum(g & s)), int(np.sum(g))] for g in (~t, t, np.ones_like(t))],
        index=pd.Index(["Untreated", "Treated", "Total"], name="Treatment"),
        columns=["Off support", "On support", "Total"],
    ).astype(str)


def unit_frame(matching) -> pd.DataFrame:
    """psmatch2's variables of a matching, one row per unit: ``treated`` (``_treated``), ``score``
    (``_pscore``), ``on_support`` (``_support``) and ``weight`` (``_weight``, 0 where psmatch2 has
    missing)."""
    return pd.DataFrame({"treated": matching.treated.astype(bool), "score": matching.score,
                         "on_support": matching.on_support, "weight": matching.weights})


def unit_weights(weights: np.ndarray, treated: np.ndarray, on_support: np.ndarray, estimand: str) -> np.ndarray:
    """psmatch2's ``_weight`` from the weights the matches received: focal units of an ATT or ATU
    weigh 1 (``_weight = _treated if _support``), units off support 0. Changes ``weights`` in place."""
    if estimand != "ATE":
        weights[treated if estimand == "ATT" else ~treated] = 1.0
    weights[~on_support] = 0.0
    return weights


def unit_series(
    index: pd.Index, scores: np.ndarray, score_name: Hashable, common: np.ndarray, on_support: np.ndarray,
    weights: np.ndarray,
) -> dict[str, pd.Series]:
    """The per-unit fields every matching result carries (``score``, ``within_common_support``,
    ``on_support``, ``weights``), as Series on the data's index."""
    return {
        "score": pd.Series(scores, index=index, name=score_name),
        "within_common_support": pd.Series(common, index=index, name="within_common_support"),
        "on_support": pd.Series(on_support, index=index, name="on_support"),
        "weights": pd.Series(weights, index=index, name="weight"),
    }

