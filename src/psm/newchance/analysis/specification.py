"""The propensity-score analyses of the evaluation: the main one and the sub-groups.

Published specification (Part B §3.4 and §1.4; inferred details marked):

- probit propensity model (psmatch2's default; the report does not name the link) of treatment on the
  seven covariates of Table 1, offence type entered as the number 1/2/3;
- one-to-one nearest-neighbour matching on the probability with replacement, no caliper, ties broken
  by data order (psmatch2 defaults);
- ``common`` support — inferred: the matched treated means differ from the unmatched ones in Table 1,
  which 1:1 matching with replacement cannot produce unless treated were dropped
  (``docs/evaluation.md`` §6);
- listwise deletion of people with a missing covariate (psmatch2's ``marksample``);
- one run per follow-up window on the people eligible for it (:mod:`psm.newchance.preparation.outcomes`);
- sub-groups with the reduced covariate sets of footnote 8 (:func:`psm.newchance.published.numbers.subgroup_covariates`).

Each departure a reviewer may want — logit, offence type as categories, k neighbours, a caliper,
matching without replacement, equal follow-up (per matched pair, or a median cut), missing-data indicators,
kernel or radius matching, Stata's ``teffects psmatch`` — is a field of :class:`Specification`, so the
published run is ``Specification()`` and every alternative is named. :func:`interval_se` gives each run the
standard error valid for its estimator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from psm.balance import BalanceTable, balance
from psm.bootstrap import bootstrap_se
from psm.effects import Effect, effect
from psm.kernel import KernelMatching
from psm.matching import Matching, match
from psm.newchance.analysis.pairs import pair_effect
from psm.newchance.published import numbers as published
from psm.newchance.inputs.dataset import Dataset, load_dataset
from psm.newchance.preparation.outcomes import WINDOWS
from psm.newchance.preparation.rules import offence_type_categories
from psm.newchance.preparation.prepare import COVARIATES, AnalysisFile, prepare
from psm.propensity import PropensityModel, fit_propensity

COVARIATE_LABELS: dict[str, str] = {column: label for label, column in published.COVARIATE_COLUMNS.items()}
"""Row labels of Table 1 and A1–A5, in the published order."""

SUBGROUP_WINDOWS: tuple[str, ...] = ("total", "6m", "12m")
"""Windows of the sub-group table."""

METHODS: tuple[str, ...] = ("nearest", "kernel", "radius", "teffects")
"""The matching estimators of :class:`Specification` (``method``)."""

BOOTSTRAP_REPS, BOOTSTRAP_SEED = 200, 20200710
"""Replicates and fixed seed of the kernel and radius bootstrap SE (:func:`interval_se`)."""
"""Windows of the sub-group table."""


@dataclass(frozen=True)
class Specification:
    """How one propensity-score analysis is run. ``Specification()`` is the published one.

    link : "probit" (psmatch2 default, published) or "logit".
    offence_type : "numeric" (1 Other, 2 Violent, 3 Property entered as a number, as published) or
        "categories" (dummies, reference Other).
    k : number of nearest neighbours (published 1).
    caliper_sd : ``None`` (published) or a caliper in standard deviations of the logit of the score;
        matching is then on the logit score (psmatch2 ``odds``) with caliper ``caliper_sd * SD``,
        SD = sqrt((var_treated + var_control) / 2) the pooled SD of the logit score in the two groups —
        Austin (2011), Pharmaceutical Statistics 10(2):150-161, recommends 0.2 of this pooled SD.
    replace : matching with replacement (published) or without (greedy, ascending score).
    follow_up : how long the "total" outcome is followed (fixed windows are equal for both groups
        already, so this changes only "total"):
        "published" — each group's own follow-up (comparison women much longer than the treated);
        "median" — each comparison woman's outcome cut at the treated group's median follow-up
        (:func:`psm.newchance.preparation.prepare.prepare`); "equal" is the same, an older name;
        "pair" — recommended: each matched control's outcome read on the follow-up of the treated
        woman she is matched to, link by link (:mod:`psm.newchance.analysis.pairs`).
    missing : "complete_cases" (listwise deletion, published) or "indicators" (missing covariate set
        to 0 plus a 0/1 missing-indicator covariate).
    common_support : psmatch2 ``common`` (inferred for the published run).
    crime_precedence : which category a description matching several wins: "violent_first"
        (published reading) or "last_wins" (successive Stata ``replace``;
        :func:`psm.newchance.preparation.rules.classify_crime_type`); changes the offence type.
    method : the matching estimator, on the estimated probability:
        "nearest" — psmatch2's nearest-neighbour matching (published), SE for inference Abadie–Imbens
        (2006), ``Effect.se_ai``;
        "kernel" — psmatch2 ``kernel`` (Epanechnikov kernel, psmatch2's default) with bandwidth
        ``bandwidth``; "radius" — psmatch2 ``radius caliper(bandwidth)``: every comparison woman within
        ``bandwidth`` of the treated woman's score, equal weights (kernel matching with the uniform
        kernel and h = ``bandwidth``). Neither has an Abadie–Imbens SE; the bootstrap (which re-fits the
        score) is valid for them (:func:`interval_se`). They take ``k=1``, ``replace=True`` and no
        ``caliper_sd``;
        "teffects" — Stata's ``teffects psmatch (y) (treated x, probit), atet``: the nearest
        neighbour with replacement, keeping every comparison woman tied at that distance, no
        trimming (needs ``common_support=False``, as ``teffects`` has no such option), and the
        Abadie–Imbens (2016) SE adjusted for the estimation of the score, ``vce(robust, nn(2))``
        (``Effect.se_ai2016``); the ATT and SE equal :func:`psm.teffects_psmatch`'s. Takes
        ``k=1`` (with k > 1 psmatch2's list of ties, which :func:`psm.match` reproduces, is not
        teffects'), ``replace=True`` and no ``caliper_sd``. Per-pair follow-up (``follow_up="pair"``) is built on
        psmatch2's pairs and goes with "nearest" only.
    bandwidth : kernel bandwidth or radius on the probability scale for "kernel"/"radius" (psmatch2's
        default ``bwidth`` 0.06; psmatch2 has no default radius, the same width is used).
    """

    link: Literal["probit", "logit"] = "probit"
    offence_type: Literal["numeric", "categories"] = "numeric"
    k: int = 1
    caliper_sd: float | None = None
    replace: bool = True
    follow_up: Literal["published", "median", "equal", "pair"] = "published"
    missing: Literal["complete_cases", "indicators"] = "complete_cases"
    common_support: bool = True
    crime_precedence: Literal["violent_first", "last_wins"] = "violent_first"
    method: Literal["nearest", "kernel", "radius", "teffects"] = "nearest"
    bandwidth: float = 0.06

    def __post_init__(self) -> None:
        problems = []
        if self.method not in METHODS:
            problems.append(f"method must be one of {METHODS}, got {self.method!r}")
        if self.method != "nearest":
            if not self.replace:
                problems.append(f"method={self.method!r} matches with replacement (replace=True)")
            if self.caliper_sd is not None:
                problems.append(f"method={self.method!r} takes no caliper_sd (radius: use bandwidth)")
        if self.method in ("kernel", "radius") and self.k != 1:
            problems.append(f"method={self.method!r} has no k (k=1)")
        if self.method == "teffects" and self.k != 1:
            problems.append("method='teffects' is one neighbour (k=1): with k > 1 psmatch2's tie list differs from teffects'")
        if self.method != "nearest" and self.follow_up == "pair":
            problems.append(f"follow_up='pair' re-reads psmatch2's matched pairs: method='nearest' only, not {self.method!r}")
        if self.method == "teffects" and self.common_support:
            problems.append("method='teffects' does not trim to common support (common_support=False)")
        if not self.bandwidth > 0:
            problems.append(f"bandwidth must be positive, got {self.bandwidth!r}")
        if problems:
            raise ValueError("invalid Specification: " + "; ".join(problems))

    def changes(self) -> str:
        """What differs from the published specification, e.g. ``"logit; k=2"`` (``"published"`` if nothing)."""
        base = Specification()
        parts = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value != getattr(base, name):
                parts.append(f"{name}={value}")
        return "; ".join(parts) or "published"


PUBLISHED = Specification()


@dataclass(frozen=True)
class Subgroup:
    """A sub-group of footnote 8: people with ``column == value``, matched on ``covariates``."""

    key: str
    label: str
    column: str
    value: float
    covariates: tuple[str, ...]

    def select(self, data: pd.DataFrame) -> pd.Series:
        return data[self.column] == self.value


def subgroups() -> dict[str, Subgroup]:
    """The four sub-groups of §1.4.2, with the covariate sets of footnote 8 (from the published numbers)."""
    sets = published.subgroup_covariates()
    return {
        key: Subgroup(key, label, column, value, sets[key])
        for key, (label, column, value) in published.SUBGROUPS.items()
    }


@dataclass(frozen=True)
class AnalysisResult:
    """One propensity-score analysis: a window (and sub-group) under one specification.

    ``sample`` is the estimation sample (after listwise deletion); ``n_window`` the people eligible
    for the window (and in the sub-group) before deletion, the N printed in the published captions.
    """

    window: str
    outcome: str
    subgroup: str
    spec: Specification
    covariates: tuple[str, ...]
    n_window: int
    n_dropped: int
    sample: pd.DataFrame = field(repr=False)
    propensity: PropensityModel = field(repr=False)
    matching: Matching | KernelMatching = field(repr=False)
    effect: Effect = field(repr=False)
    balance: BalanceTable | None = field(repr=False)

    @property
    def n_treated_off_support(self) -> int:
        return int((self.matching.treated & ~self.matching.on_support).sum())


def load_files(data_dir, mapping=None, extract_date=None) -> dict[str, AnalysisFile]:
    """Load, validate (once) and prepare a data folder: :func:`prepare_files` of
    :func:`psm.newchance.inputs.dataset.load_dataset`."""
    return prepare_files(load_dataset(data_dir, mapping=mapping, extract_date=extract_date))


def prepare_files(dataset: Dataset) -> dict[str, AnalysisFile]:
    """A validated dataset prepared for every ``follow_up`` and ``crime_precedence`` of :class:`Specification`.

    ``{"published": af, "median": af_median, "equal": af_median, "pair": af, "last_wins": af_last}``:
    the median cut and the other crime-type precedence need their own preparation; the per-pair
    construction works on the published file after matching. The notebooks get theirs from
    :func:`psm.newchance.report.session.open_notebook`.
    """
    published_file = prepare(dataset)
    median = prepare(dataset, equal_follow_up="median")
    return {"published": published_file, "median": median, "equal": median, "pair": published_file,
            "last_wins": prepare(dataset, crime_precedence="last_wins")}


def _design(data: pd.DataFrame, covariates: Sequence[str], spec: Specification) -> tuple[pd.DataFrame, list[str]]:
    """The columns the score model uses under ``spec`` (missing indicators, offence categories)."""
    frame = data.copy()
    columns = list(covariates)
    if spec.missing == "indicators":
        for name in covariates:
            gaps = frame[name].isna()
            if gaps.any():
                frame[name] = frame[name].fillna(0.0)
                frame[f"{name}_missing"] = gaps.astype(float)
                columns.append(f"{name}_missing")
    if spec.offence_type == "categories" and "offence_type" in columns:
        frame["offence_type"] = offence_type_categories(frame["offence_type"])
    return frame, columns


def run_analysis(
    files: AnalysisFile | Mapping[str, AnalysisFile],
    window: str,
    *,
    spec: Specification = PUBLISHED,
    subgroup: Subgroup | None = None,
    outcome_window: str | None = None,
    with_balance: bool = True,
) -> AnalysisResult:
    """Run one propensity-score analysis as the evaluation did (psmatch2, then pstest).

    files : the analysis file, or the mapping of :func:`load_files` (needed for
        ``follow_up="median"``, whose file comes from ``prepare(..., equal_follow_up="median")``).
    window : the follow-up window whose eligible people form the sample.
    outcome_window : the outcome to analyse (default: the same window). The published sub-group rows
        for 6 and 12 months appear to use the window's sample with the *total* outcome
        (``docs/evaluation.md`` §3); ``outcome_window="total"`` reproduces that construction.
    with_balance : compute the pstest balance table (``balance`` is None otherwise; the specification
        grid skips it for speed).
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    af = _pick_file(files, spec)
    data = af.window(window)
    covariates = subgroup.covariates if subgroup else tuple(COVARIATES)
    if subgroup is not None:
        data = data[subgroup.select(data)]
    outcome = f"reoffended_{outcome_window or window}"
    frame, columns = _design(data, covariates, spec)
    needed = ["treated", *columns, outcome]
    complete = frame[needed].notna().all(axis=1)
    sample = frame[complete]
    categorical = ["offence_type"] if spec.offence_type == "categories" and "offence_type" in columns else []
    propensity = fit_propensity(sample, "treated", columns, link=spec.link, categorical=categorical)
    score, caliper = propensity.score, None
    if spec.caliper_sd is not None:
        score = np.log(score / (1 - score)).rename("logit_score")
        treated = sample["treated"] == 1
        pooled_sd = np.sqrt((score[treated].var(ddof=1) + score[~treated].var(ddof=1)) / 2)
        caliper = spec.caliper_sd * float(pooled_sd)
    if spec.method in ("kernel", "radius"):
        size = {"bandwidth": spec.bandwidth} if spec.method == "kernel" else {"caliper": spec.bandwidth}
        matching = match(sample, "treated", score, method=spec.method, common_support=spec.common_support, **size)
    else:
        matching = match(sample, "treated", score, k=spec.k, replace=spec.replace, caliper=caliper,
                         common_support=spec.common_support, ties=spec.method == "teffects")
    result_effect = effect(sample, outcome, matching, propensity=propensity if spec.method == "teffects" else None)
    if spec.follow_up == "pair" and outcome == "reoffended_total":
        result_effect, _ = pair_effect(sample, matching, result_effect)
    table = None
    if with_balance:
        labels = {c: COVARIATE_LABELS.get(c, c) for c in columns}
        balance_frame = sample.assign(offence_type=data.loc[sample.index, "offence_type"]) if categorical else sample
        table = balance(balance_frame, list(covariates), matching, labels=labels, categorical="numeric")
        if spec.missing == "indicators":
            table = _observed_rows(table, data.loc[sample.index], covariates, matching, labels)
    return AnalysisResult(
        window=window, outcome=outcome, subgroup=subgroup.key if subgroup else "all", spec=spec,
        covariates=tuple(columns), n_window=len(data), n_dropped=int((~complete).sum()), sample=sample,
        propensity=propensity, matching=matching, effect=result_effect, balance=table,
    )


def interval_se(run: AnalysisResult, *, reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> tuple[str, float]:
    """``(name, se)``: the standard error valid for the run's estimator, the one its intervals use.

    "ai2006" — Abadie & Imbens (2006, Econometrica 74(1)) for nearest-neighbour matching
    (``Effect.se_ai``); "ai2016" — Abadie & Imbens (2016, Econometrica 84(2)), adjusted for the
    estimated score, for ``method="teffects"`` (``Effect.se_ai2016``); "bootstrap" — for kernel and
    radius matching, :func:`psm.bootstrap_se` with ``reps`` replicates from the fixed ``seed``, each
    re-fitting the score model (Abadie & Imbens 2008 show the bootstrap fails for nearest-neighbour
    matching, not for these smooth estimators).
    """
    if run.spec.method == "teffects":
        return "ai2016", float(run.effect.se_ai2016)
    if run.spec.method in ("kernel", "radius"):
        boot = bootstrap_se(run.sample, run.outcome, run.matching, propensity=run.propensity, reps=reps, seed=seed)
        return "bootstrap", boot.se
    return "ai2006", float(run.effect.se_ai)


def _observed_rows(table: BalanceTable, observed: pd.DataFrame, covariates: Sequence[str], matching: Matching,
                   labels: Mapping[str, str]) -> BalanceTable:
    """With missing-data indicators the score model sees 0 where a covariate is missing; balance must
    describe the values observed. The row of each covariate with gaps is recomputed on the people
    whose value is observed, with their matching weights (the summary block, pstest's probit on
    all covariates, stays that of the model's design)."""
    rows = table.table.copy()
    for name in covariates:
        seen = observed[name].notna()
        if seen.all():
            continue
        part = balance(observed.loc[seen], [name], matching.weights[seen], treatment=matching.treated[seen].astype(int),
                       on_support=matching.on_support[seen], labels=labels, categorical="numeric")
        rows.loc[name] = part.table.loc[name]
    return replace(table, table=rows)


def _pick_file(files: AnalysisFile | Mapping[str, AnalysisFile], spec: Specification) -> AnalysisFile:
    """The prepared file ``spec`` needs ("pair" reads the published one; "equal" = "median"; the
    "last_wins" crime-type precedence its own file, with the published or per-pair follow-up)."""
    wanted = {"pair": "published", "equal": "median"}.get(spec.follow_up, spec.follow_up)
    if spec.crime_precedence != "violent_first":
        if wanted != "published":
            raise ValueError(f"crime_precedence={spec.crime_precedence!r} is prepared with the published "
                             f"follow-up only (use follow_up='published' or 'pair', not {spec.follow_up!r})")
        if isinstance(files, AnalysisFile) or spec.crime_precedence not in files:
            raise ValueError(f"crime_precedence={spec.crime_precedence!r} needs the mapping of load_files(), "
                             f"with a {spec.crime_precedence!r} file from prepare(..., crime_precedence=...)")
        return files[spec.crime_precedence]
    if isinstance(files, AnalysisFile):
        if wanted != "published":
            raise ValueError(f"spec.follow_up={spec.follow_up!r} needs the mapping of load_files(), "
                             "with a 'median' file from prepare(..., equal_follow_up='median')")
        return files
    for key in (spec.follow_up, wanted):
        if key in files:
            return files[key]
    raise ValueError(f"no analysis file for follow_up={spec.follow_up!r}; have {sorted(files)}")


def main_analyses(files: AnalysisFile | Mapping[str, AnalysisFile], spec: Specification = PUBLISHED) -> dict[str, AnalysisResult]:
    """Table 2 and Tables 1, A1–A5: one analysis per window, keyed by window."""
    return {w: run_analysis(files, w, spec=spec) for w in WINDOWS}


def subgroup_analyses(
    files: AnalysisFile | Mapping[str, AnalysisFile],
    spec: Specification = PUBLISHED,
    *,
    outcome: Literal["window", "total"] = "window",
) -> dict[tuple[str, str], AnalysisResult]:
    """The sub-group table: each sub-group x (total, 6m, 12m), keyed by ``(subgroup, window)``.

    ``outcome="window"`` analyses each window's own outcome (correct); ``"total"`` the total outcome
    on each window's sample, the construction the published rows appear to use.
    """
    runs = {}
    for key, group in subgroups().items():
        for w in SUBGROUP_WINDOWS:
            runs[(key, w)] = run_analysis(files, w, spec=spec, subgroup=group,
                                          outcome_window="total" if outcome == "total" else None)
    return runs
