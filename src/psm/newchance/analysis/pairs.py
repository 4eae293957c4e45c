"""Equal follow-up per matched pair: ``Specification(follow_up="pair")``.

The published "total" outcome follows each treated woman from her referral to the extract date
(from about two weeks to three and a half years) but each comparison woman for about four and a
half years, so the comparison counts reoffending the treated had no time to commit. Cutting every
comparison woman at one horizon (the treated median, ``follow_up="median"``) still leaves bias,
because the chance of a first reoffence rises non-linearly with time and the treated horizons are
spread widely.

The per-pair construction evaluates each (treated i, control j) link of the matching on the
treated woman's own horizon f_i (days from her referral to the extract date):

    y_ij = 1 if control j reoffended within f_i days of her own index date, else 0.

With k > 1 neighbours or ties each link has its own horizon; the link weight is psmatch2's
w_ij = 1/n_i (n_i = matches of treated i). The counterfactual of treated i is
Ŷ0_i = Σ_j w_ij y_ij and ATT = mean_i (Y_i − Ŷ0_i) over the matched treated.

A link is unknown when the control's own follow-up is shorter than f_i and she had not reoffended
by its end (right censoring of the control's record). Such links are dropped and the remaining
links of that treated woman re-weighted to sum to 1; a treated woman left without a link is
dropped. Comparison women are followed longer than any treated woman in the evaluation, so this
rule exists for other extracts; the counts are reported.

Standard errors, on the per-link outcomes (the control outcome differs from link to link):

* psmatch2's approximation (Lechner 2001), SE² = Var1/N1 + Var0 Σ_j W_j² / N1², with Var1 the
  sample variance of the treated outcomes, W_j = Σ_i w_ij the control's psmatch2 weight, and Var0
  the sample variance, over the controls used (each once), of ȳ_j = Σ_i w_ij y_ij / W_j, her
  link outcomes averaged with the link weights. When no horizon binds (y_ij = Y_j) this is
  psmatch2 v4.0.12's formula exactly. The W_j² term treats all links of one control as perfectly
  correlated, which is what they nearly are: one woman's record read at nested horizons.
* Abadie–Imbens (2006, Theorem 7, homoskedastic σ², as :func:`psm.effect`) with the link
  differences d_ij = Y_i − y_ij in place of Y_i − Y_j, on the links that SE is defined on (with
  replacement every control as close as the k-th nearest, ties kept, whichever one psmatch2's sort
  order picked; :func:`ai_links`):
  V = [Σ_i (τ_i − ATT)² + σ² Σ_j (K_j² − KK_j)] / N1², τ_i = Σ_j w_ij d_ij, K_j = Σ_i w_ij,
  KK_j = Σ_i w_ij², σ² = ½ Σ w_ij (d_ij − ATT)² / N1. The first term carries the variation between
  treated women, the second the extra variance from reusing a control.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from psm._ai2006 import tie_aware_parts
from psm.effects import Effect, EffectRow
from psm.matching import Matching

PAIR_OUTCOME = "reoffended_pair"
"""Name of the outcome of the per-pair construction in tables."""


@dataclass(frozen=True)
class PairLinks:
    """The ATT links of a matching with their per-link outcomes.

    ``links``: one row per kept link — ``treated``, ``control`` (index labels), ``horizon`` (days,
    the treated woman's follow-up), ``y_treated``, ``y_control`` (reoffended within the horizon),
    ``weight`` (re-normalised 1/n_i). ``n_censored_links``: links dropped because the control's
    record ends before the horizon without a reoffence; ``n_treated_dropped``: treated women left
    without a link by that rule.
    """

    links: pd.DataFrame
    n_censored_links: int
    n_treated_dropped: int


def _read_links(sample: pd.DataFrame, treated: np.ndarray, control: np.ndarray, weight: np.ndarray,
                treated_outcome: str) -> PairLinks:
    """Each (treated, control) link read on the treated woman's horizon; unknown links dropped."""
    horizon = sample.loc[treated, "follow_up_days"].to_numpy(dtype=float)
    days = sample.loc[control, "days_to_reoffence"].to_numpy(dtype=float)
    control_follow_up = sample.loc[control, "follow_up_days"].to_numpy(dtype=float)
    reoffended = days <= horizon  # NaN days compare False
    known = reoffended | (control_follow_up >= horizon)
    links = pd.DataFrame({
        "treated": treated, "control": control, "horizon": horizon,
        "y_treated": sample.loc[treated, treated_outcome].to_numpy(dtype=float),
        "y_control": reoffended.astype(float), "weight": weight,
    })[known]
    links["weight"] = links["weight"] / links.groupby("treated")["weight"].transform("sum")
    n_before = len(np.unique(treated))
    return PairLinks(links.reset_index(drop=True), int((~known).sum()), int(n_before - links["treated"].nunique()))


def pair_links(sample: pd.DataFrame, matching: Matching, treated_outcome: str = "reoffended_total") -> PairLinks:
    """Per-link outcomes of the ATT pairs of ``matching`` (see the module docstring).

    ``sample`` needs ``days_to_reoffence`` (NaN = no reoffence) and ``follow_up_days`` for every
    matched person and ``treated_outcome`` for the treated.
    """
    pairs = matching.pairs[matching.pairs["direction"] == "ATT"]
    return _read_links(sample, pairs["treated"].to_numpy(), pairs["control"].to_numpy(),
                       pairs["weight"].to_numpy(dtype=float), treated_outcome)


def ai_links(sample: pd.DataFrame, matching: Matching, treated_outcome: str = "reoffended_total") -> PairLinks:
    """The links the Abadie–Imbens SE is computed on, as :func:`psm.effect` does: with replacement
    every control as close as the k-th nearest (ties kept, whichever one psmatch2's sort order
    picked), without replacement the greedy pairs; each read on its treated woman's horizon."""
    if not matching.replace:
        return pair_links(sample, matching, treated_outcome)
    index = matching.treated.index
    focal, match, weight, _ = tie_aware_parts(matching, np.zeros(len(index)), "ATT")
    return _read_links(sample, index[focal].to_numpy(), index[match].to_numpy(), weight, treated_outcome)


def _abadie_imbens(links: pd.DataFrame) -> float:
    """AI (2006) population SE, homoskedastic σ², on per-link differences (module docstring)."""
    w = links["weight"].to_numpy()
    d = (links["y_treated"] - links["y_control"]).to_numpy()
    n1 = links["treated"].nunique()
    att = np.sum(w * d) / n1
    tau = pd.Series(w * d).groupby(links["treated"].to_numpy()).sum().to_numpy()
    k = pd.Series(w).groupby(links["control"].to_numpy()).sum().to_numpy()
    kk = pd.Series(w * w).groupby(links["control"].to_numpy()).sum().to_numpy()
    sigma2 = 0.5 * np.sum(w * (d - att) ** 2) / n1
    return float(np.sqrt((np.sum((tau - att) ** 2) + sigma2 * np.sum(k**2 - kk)) / n1**2))


def pair_estimate(links: pd.DataFrame, se_links: pd.DataFrame | None = None) -> tuple[float, float, float, float, float]:
    """(treated mean, counterfactual mean, ATT, psmatch2-approximate SE, Abadie–Imbens SE) of the
    link table of :func:`pair_links`; the AI SE on ``se_links`` (default: the same links)."""
    w = links["weight"].to_numpy()
    treated = links.groupby("treated", sort=False)["y_treated"].first()
    n1 = len(treated)
    y1 = float(treated.mean())
    y0 = float(np.sum(w * links["y_control"].to_numpy()) / n1)
    by_control = links.assign(wy=w * links["y_control"]).groupby("control")[["weight", "wy"]].sum()
    big_w = by_control["weight"].to_numpy()
    var0 = float((by_control["wy"] / by_control["weight"]).var(ddof=1))
    se_approx = float(np.sqrt(treated.var(ddof=1) / n1 + var0 * np.sum(big_w**2) / n1**2))
    return y1, y0, y1 - y0, se_approx, _abadie_imbens(links if se_links is None else se_links)


def pair_effect(sample: pd.DataFrame, matching: Matching, base: Effect) -> tuple[Effect, PairLinks]:
    """The ATT with per-pair equal follow-up, as an :class:`~psm.effects.Effect`.

    ``base`` is the ordinary effect of the treated outcome on the same matching; its Unmatched row
    and support counts are kept (they do not depend on the control's horizon) and its ATT row and
    Abadie–Imbens SE are replaced by the per-link ones.
    """
    links = pair_links(sample, matching, base.outcome)
    y1, y0, att, se_approx, se_ai = pair_estimate(links.links, ai_links(sample, matching, base.outcome).links)
    row = EffectRow.build("ATT", y1, y0, att, se_approx, None, links.links["treated"].nunique(),
                          links.links["control"].nunique(), "approximate (psmatch2), per-link control outcomes")
    result = replace(base, outcome=PAIR_OUTCOME, rows={"ATT": row}, se_ai=se_ai,
                     ai_method=f"{base.ai_method}, per-link control outcomes")
    return result, links
