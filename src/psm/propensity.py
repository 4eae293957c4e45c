"""Propensity-score model: probit (psmatch2's default) or logit, unpenalised MLE.

psmatch2 v4.0.12 fits ``probit treat indepvars`` unless the ``logit`` option is given
(psmatch2.ado l.130-133: ``if ("`logit'"=="") local logit "probit"``) and stores the
predicted probability ``_pscore = Phi(x'b)`` (``predict, pr``). :func:`fit_propensity`
does the same by Newton-Raphson maximum likelihood, no penalty (unlike scikit-learn's
``LogisticRegression``, which is L2-penalised by default), with the iterations, stopping rule and
coefficients of statsmodels' ``Probit``/``Logit`` ``.fit(method="newton")`` (see
:mod:`psm._binary_mle`); statsmodels itself is only loaded for :meth:`PropensityModel.summary`:

    probit:  P(T=1 | x) = Phi(x'b)            (Phi = standard normal CDF)
    logit:   P(T=1 | x) = 1 / (1 + exp(-x'b))

The link is always explicit: ``link="probit"`` reproduces psmatch2; ``link="logit"``
reproduces Stata's ``teffects psmatch`` and R's MatchIt defaults.

Covariates are either a list of column names or a formula (patsy syntax,
``"treated ~ age + C(offence_type)"``). In the list form, string, ``category`` and
object columns -- and numeric columns named in ``categorical`` -- are expanded to
0/1 dummies with one reference level left out: by default the first category of a
``category`` column, otherwise the first level in sorted order; ``reference=`` picks
another. Dummy columns are named ``"<column>[T.<level>]"`` like patsy's.

Rows with a missing treatment or covariate raise :class:`~psm.errors.MissingValuesError`
listing them; ``dropna=True`` drops them (listwise deletion, as psmatch2's
``marksample``/``markout`` do) and reports the count in ``n_dropped``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from psm import _binary_mle
from psm._design import INTERCEPT, Design, Spec, formula_design, list_design, parse_covariates
from psm._validation import (
    check_covariate_values,
    drop_missing,
    require_both_groups,
    select_columns,
    treatment_indicator,
)
from psm.summary import Summary, format_number
from psm.errors import (
    ConstantCovariateError,
    SeparationError,
    SingularDesignError,
)

LINKS = ("probit", "logit")

# |b_k| * sd(x_k) above this means a one-SD change in x_k moves the index by more
# than 8 units (probit: from 0.5 to 1 - 6e-16) -- only seen when the MLE diverges.
_DIVERGENT_STD_COEF = 8.0


@dataclass(frozen=True)
class PropensityModel:
    """A fitted propensity-score model.

    Attributes
    ----------
    score : pd.Series
        Fitted probability P(T=1|x), aligned to ``data.index`` (NaN for rows dropped
        with ``dropna=True``). psmatch2's ``_pscore``.
    linear_predictor : pd.Series
        The index x'b (psmatch2's ``index`` option), aligned like ``score``.
    params : pd.Series
        Coefficients, indexed by ``design_columns``.
    bse : pd.Series
        Model-based standard errors ``sqrt(diag(H(b)^-1))``, ``H`` the observed information at the
        estimate (statsmodels' ``bse`` after ``method="newton"``); computed on first access.
    link : {"probit", "logit"}
    treatment : str
    covariates : tuple of str or str
        The covariates as given (column names, or the formula).
    design_columns : tuple of str
        Columns of the design matrix, ``"Intercept"`` first.
    reference : dict
        Reference (left-out) level of each expanded categorical column.
    n_dropped : int
        Rows dropped for missing values (``dropna=True``); ``dropped`` lists their labels.
    nobs : int
        Number of rows in the estimation sample.
    result : statsmodels ``BinaryResults``
        statsmodels' fit of the same model, started at ``params`` (it stops after one step that
        moves no coefficient by more than 1e-8); built on first access, for its summary table.

    ``bse`` and ``result`` rebuild the design matrix from the estimation sample when first asked for,
    so the model does not hold an n x p matrix between the fit and those calls.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> ps.score.round(4).loc[["NSW1", "PSID1"]].tolist()
    [0.6388, 0.0261]
    """

    score: pd.Series
    linear_predictor: pd.Series
    params: pd.Series
    link: str
    treatment: str
    covariates: tuple[str, ...] | str
    design_columns: tuple[str, ...]
    reference: Mapping[str, object]
    n_dropped: int
    dropped: tuple[Hashable, ...]
    nobs: int
    _inputs: Callable[[], tuple[Design, pd.Series]] = field(repr=False, compare=False)

    @cached_property
    def bse(self) -> pd.Series:
        """Model-based standard errors ``sqrt(diag(H^-1))`` (see the class docstring)."""
        design, treated = self._inputs()
        information = _binary_mle.observed_information(
            design.x, treated.to_numpy(dtype=float), self.link, self.params.to_numpy()
        )
        covariance = scipy.linalg.cho_solve(scipy.linalg.cho_factor(information), np.eye(len(information)))
        return pd.Series(np.sqrt(np.diag(covariance)), index=self.params.index)

    @cached_property
    def result(self):
        """statsmodels' ``Probit``/``Logit`` results for the same fit (started at these coefficients), for
        anything statsmodels offers beyond this class."""
        import statsmodels.api as sm

        design, treated = self._inputs()
        model_cls = sm.Probit if self.link == "probit" else sm.Logit
        exog = pd.DataFrame(design.x, index=treated.index, columns=list(design.columns), copy=False)
        endog = treated.astype(float).rename(self.treatment)
        return model_cls(endog, exog).fit(start_params=self.params.to_numpy(), method="newton", disp=False)

    def design(self) -> pd.DataFrame:
        """The design matrix X of the estimation sample (``"Intercept"`` first), rebuilt from the data."""
        design, treated = self._inputs()
        return pd.DataFrame(design.x, index=treated.index, columns=list(design.columns))

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """The coefficient table as numbers: ``coef``, ``se``, ``z = coef / se``, two-sided normal ``p``
        and the ``level`` Wald interval ``ci_lower``, ``ci_upper`` (``coef -/+ z_{(1+level)/2} se``)."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        z = self.params / self.bse
        half = stats.norm.ppf(0.5 + level / 2.0) * self.bse
        return pd.DataFrame({"coef": self.params, "se": self.bse, "z": z, "p": 2.0 * stats.norm.sf(np.abs(z)),
                             "ci_lower": self.params - half, "ci_upper": self.params + half})

    def summary(self, level: float = 0.95) -> Summary:
        """The fit (observations, log-likelihoods, McFadden's pseudo-R2, LR test) and the coefficient
        table: coefficient, model-based SE, ``z = b / se``, two-sided normal p and the ``level``
        Wald interval ``b -/+ z_{(1+level)/2} se`` -- the numbers of statsmodels' ``Probit``/``Logit``
        summary and Stata's ``probit``/``logit`` output -- with the link, reference levels and drops noted.

        Examples
        --------
        >>> import psm
        >>> df = psm.datasets.lalonde()
        >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "re74"], link="logit")
        >>> s = ps.summary()
        >>> s.tables[1].frame.loc["race[T.white]", ["coef", "P>|z|"]].tolist()
        ['-3.209', '0.000']
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        res = self.result
        lr = 2.0 * (res.llf - res.llnull)
        fit = pd.DataFrame(
            {"": [self.link, str(self.nobs), f"{res.llf:.4f}", f"{res.llnull:.4f}", f"{res.prsquared:.4f}",
                  f"{lr:.2f} ({int(res.df_model)} df)", f"{res.llr_pvalue:.4g}"]},
            index=pd.Index(["Link", "Observations", "Log-likelihood", "LL-Null", "Pseudo R2 (McFadden)",
                            "LR chi2", "p > chi2"], name="Model"),
        )
        frame = self.to_frame(level)
        lo, hi = f"[{(1 - level) / 2:g}", f"{(1 + level) / 2:g}]"
        cells = {col: [format_number(v, 3) if col in ("z", "p") else format_number(v, 4, significant=True)
                       for v in frame[col]] for col in frame.columns}
        coefficients = pd.DataFrame(dict(zip(["coef", "std err", "z", "P>|z|", lo, hi], cells.values())),
                                    index=pd.Index(self.params.index, name=self.treatment))
        notes = [f"Link: {self.link} ({'psmatch2 default' if self.link == 'probit' else 'psmatch2 option logit'}); "
                 "unpenalised maximum likelihood, model-based standard errors."]
        if self.reference:
            levels = ", ".join(f"{col}={lvl!r}" for col, lvl in self.reference.items())
            notes.append(f"Reference levels: {levels}.")
        if self.n_dropped:
            notes.append(f"{self.n_dropped} row(s) with missing values dropped (dropna=True).")
        title = f"Propensity score: {self.link} of {self.treatment!r}"
        return Summary(title, [("", fit), ("", coefficients)], notes)


def fit_propensity(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str] | str,
    *,
    link: str = "probit",
    dropna: bool = False,
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    maxiter: int = 100,
) -> PropensityModel:
    """Fit P(treatment=1 | covariates) by probit (default, as psmatch2) or logit.

    Parameters
    ----------
    data : DataFrame
    treatment : str
        Column coded 0/1 (or False/True).
    covariates : list of str, or str
        Column names, or a patsy formula (``"age + C(offence_type)"``; a left-hand side,
        if given, must be ``treatment``).
    link : {"probit", "logit"}
        ``"probit"`` is psmatch2's default; ``"logit"`` its ``logit`` option.
    dropna : bool
        Drop rows with a missing treatment or covariate instead of raising.
    categorical : list of str
        Numeric columns to expand to dummies as well (e.g. a 1/2/3 offence-type code).
    reference : dict, optional
        ``{column: level}`` reference level per expanded column (list form only).
    maxiter : int
        Newton-Raphson iteration limit.

    Raises
    ------
    ColumnNotFoundError, MissingValuesError, InvalidTreatmentError, EmptyGroupError,
    ConstantCovariateError, SingularDesignError, SeparationError

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> ps.design_columns[:5]
    ('Intercept', 'age', 'educ', 'race[T.hispan]', 'race[T.white]')
    >>> dict(ps.reference), ps.nobs
    ({'race': 'black'}, 614)
    >>> round(float(ps.params["race[T.white]"]), 4)
    -3.0654
    """
    if link not in LINKS:
        raise ValueError(f"link must be one of {LINKS}, got {link!r}")
    spec = parse_covariates(data, treatment, covariates)
    select_columns(data, {str(c): c for c in [*categorical, *(reference or {})]})
    frame = select_columns(data, {c: c for c in [treatment, *spec.variables]})
    sample, dropped = drop_missing(frame, dropna=dropna)
    check_covariate_values(sample, spec.variables, categorical)
    inputs = partial(_inputs, sample, treatment, spec, categorical, reference or {})
    design, treated = inputs()
    x, t = design.x, treated.to_numpy(dtype=float)
    keep = ~frame.isna().any(axis=1).to_numpy()
    low, high = x.min(axis=0), x.max(axis=0)
    _check_constant(design.columns, low, high)
    start = _binary_mle.cross_products(x, t)
    _check_rank(start.xwx, design.columns)
    _check_separation(design, start, low, high)
    fit = _fit(x, t, design.columns, link, start, maxiter)

    return PropensityModel(
        score=_aligned(_binary_mle.cdf(fit.index, link), keep, data.index, "pscore"),
        linear_predictor=_aligned(fit.index, keep, data.index, "linear_predictor"),
        params=pd.Series(fit.params, index=list(design.columns)),
        link=link,
        treatment=treatment,
        covariates=covariates if isinstance(covariates, str) else tuple(covariates),
        design_columns=design.columns,
        reference=design.reference,
        n_dropped=len(dropped),
        dropped=tuple(dropped),
        nobs=len(t),
        _inputs=inputs,
    )


def _inputs(
    sample: pd.DataFrame, treatment: str, spec: Spec, categorical: Sequence[str], reference: Mapping[str, object]
) -> tuple[Design, pd.Series]:
    """The design matrix and the 0/1 treatment of the estimation sample."""
    treated = treatment_indicator(sample[treatment])
    require_both_groups(treated, what="in the propensity-model sample")
    if spec.rhs is None:
        return list_design(sample, spec.variables, categorical, reference), treated
    return formula_design(sample, spec.rhs), treated


def _aligned(values: np.ndarray, keep: np.ndarray, index: pd.Index, name: str) -> pd.Series:
    """Spread estimation-sample values over ``index``; NaN for dropped rows."""
    full = np.full(len(index), np.nan)
    full[keep] = values
    return pd.Series(full, index=index, name=name)


# --------------------------------------------------------------------------- spec


# ------------------------------------------------------------------------ checks
#
# All three use the column ranges and X'X, X'q (q = 2t - 1): X'X is the first Newton step's
# information up to a constant (at b = 0 every row has the same weight), so after the column
# minima and maxima the checks cost no pass over the data beyond an exact test of the columns
# that X'X shows to be two-valued.


def _check_constant(columns: Sequence[str], low: np.ndarray, high: np.ndarray) -> None:
    """Raise ConstantCovariateError naming every design column with a single value."""
    constant = [(col, low[j]) for j, col in enumerate(columns) if col != INTERCEPT and low[j] == high[j]]
    if constant:
        detail = ", ".join(f"{col!r} (always {val:g})" for col, val in constant)
        raise ConstantCovariateError(
            f"constant covariate(s) in the estimation sample: {detail}. "
            "A constant is collinear with the intercept; drop it."
        )


def _check_rank(gram: np.ndarray, columns: Sequence[str]) -> None:
    """Raise SingularDesignError naming collinear columns (pivoted QR, scale-free), from ``X'X``.

    With the columns scaled to unit norm (``C = D^-1 X'X D^-1``, ``D = diag(X'X)^1/2``), a p x p
    square root ``S`` of ``C`` (``S'S = C``, from its eigendecomposition) keeps every linear relation
    between the columns. Pivoted QR of S puts a maximal set of independent columns first (relative
    tolerance 1e-7 on |diag R|, i.e. condition numbers beyond 1e7 count as singular); each remaining
    column is reported with the columns it is a combination of (least squares, |coef| > 1e-6).
    """
    norms = np.sqrt(np.diag(gram))
    scale = np.where(norms > 0, norms, 1.0)
    eigval, eigvec = np.linalg.eigh(gram / np.outer(scale, scale))
    r_full = np.sqrt(np.clip(eigval, 0, None))[:, None] * eigvec.T
    _, r, piv = scipy.linalg.qr(r_full, pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-7 * diag[0]))
    if rank == len(columns):
        return
    independent = np.sort(piv[:rank])
    relations = []
    for j in piv[rank:]:
        coef, *_ = np.linalg.lstsq(r_full[:, independent], r_full[:, j], rcond=None)
        parts = [columns[k] for k, c in zip(independent, coef) if abs(c) > 1e-6]
        relations.append(f"{columns[j]!r} = linear combination of {', '.join(map(repr, parts))}")
    raise SingularDesignError(
        "the covariates are collinear, so the propensity model is not identified: "
        + "; ".join(relations)
        + ". Drop one column of each relation."
    )


def _check_separation(design: Design, start: _binary_mle.CrossProducts, low: np.ndarray, high: np.ndarray) -> None:
    """Raise SeparationError if some level of a discrete covariate has only one group.

    A level whose rows are all treated (or all controls) is predicted perfectly: the MLE of its
    dummy diverges (quasi-complete separation, Albert & Anderson 1984). The levels checked are those
    of each expanded factor, then both values of each two-valued design column (other than the
    dummies of a formula's ``C(...)``). Counts come from the cross products: a 0/1 dummy's
    column sum counts its level, and ``X'q`` gives the treated among them; for a column taking the
    values ``a < b``, the rows at ``b`` number ``(sum x - n a) / (b - a)``.
    """
    gram, xtq = start.xwx, start.xwq
    n, n_treated = gram[0, 0], (xtq[0] + gram[0, 0]) / 2
    treated_sum = (xtq + gram[0]) / 2  # X't: sum of each column over the treated
    cells: list[tuple[str, float, float]] = []
    for factor in design.factors:
        counts = {level: (gram[0, j], treated_sum[j]) for level, j in factor.dummies.items()}
        counts[factor.reference] = (
            n - sum(c for c, _ in counts.values()), n_treated - sum(t for _, t in counts.values())
        )
        cells.extend((f"{factor.variable} == {level!r}", *counts[level]) for level in factor.levels)
    for j in _two_valued(design, gram, low, high):
        a, b = low[j], high[j]
        at_b, treated_at_b = (gram[0, j] - n * a) / (b - a), (treated_sum[j] - n_treated * a) / (b - a)
        cells.append((f"{design.columns[j]} == {a:g}", n - at_b, n_treated - treated_at_b))
        cells.append((f"{design.columns[j]} == {b:g}", at_b, treated_at_b))
    problems = []
    for label, count, treated in cells:
        count, treated = int(np.rint(count)), int(np.rint(treated))
        if count and treated in (0, count):
            group = "treated" if treated else "controls"
            problems.append(f"{label}: all {count} row(s) are {group}")
    if problems:
        raise SeparationError(
            "perfect/quasi separation -- these covariate levels predict treatment exactly: "
            + "; ".join(problems)
            + ". Merge the level with another, drop the rows, or drop the covariate."
        )


def _two_valued(design: Design, gram: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[int]:
    """Design columns (not the intercept, not a ``[T.`` dummy) taking exactly two values.

    ``sum_i (x_i - a)(x_i - b) = x'x - (a + b) sum x + n a b`` is zero for a column with minimum a and
    maximum b exactly when it takes no third value (every term is <= 0); columns that pass this
    screen on ``X'X`` (to rounding) are confirmed value by value.
    """
    n, found = gram[0, 0], []
    for j, col in enumerate(design.columns):
        if col == INTERCEPT or "[T." in col:  # expanded categoricals are covered level by level
            continue
        a, b = low[j], high[j]
        spread = gram[j, j] - (a + b) * gram[0, j] + n * a * b
        size = abs(gram[j, j]) + abs(a + b) * abs(gram[0, j]) + n * abs(a * b)
        if abs(spread) <= 1e-6 * size:
            values = design.x[:, j]
            if np.all((values == a) | (values == b)):
                found.append(j)
    return found


def _fit(x: np.ndarray, t: np.ndarray, columns: Sequence[str], link: str, start, maxiter: int):
    """Newton-Raphson from ``start``; SeparationError when it stops short of a finite maximum."""
    fit = _binary_mle.newton(x, t, link, start, maxiter)
    if fit.perfect_prediction:
        reason = "perfect prediction (every fitted probability within 1e-8 of the treatment)"
        _raise_divergent(fit.params, x, columns, reason)
    if fit.singular:
        _raise_divergent(fit.params, x, columns, f"a singular information matrix after {fit.iterations} iterations")
    if not fit.converged:
        _raise_divergent(fit.params, x, columns, f"no convergence in {maxiter} iterations")
    return fit


def _raise_divergent(params: np.ndarray, x: np.ndarray, columns: Sequence[str], reason: str) -> None:
    """The MLE did not converge: name columns with implausibly large standardized coefficients."""
    std_coef = pd.Series(np.abs(params * x.std(axis=0)), index=list(columns)).drop(INTERCEPT)
    std_coef = std_coef.sort_values(ascending=False)
    suspects = std_coef[std_coef > _DIVERGENT_STD_COEF]
    names = ", ".join(f"{c!r} (|b*sd| = {v:.1f})" for c, v in suspects.items()) or (
        "none stands out; largest standardized coefficients: "
        + ", ".join(f"{c!r}" for c in std_coef.index[:3])
    )
    raise SeparationError(
        "the propensity model's MLE did not converge, the usual sign of (quasi-)complete "
        f"separation. Columns involved: {names}. Newton-Raphson stopped on {reason}."
    )
