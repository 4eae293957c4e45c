"""Audit of published tables: does their own arithmetic hold, within rounding?

Every printed number stands for an interval: ``x`` printed with ``k`` decimals is any
value in ``[x - ½·10⁻ᵏ, x + ½·10⁻ᵏ]``. A check *fails* only if **no** values inside the
intervals of the numbers involved satisfy it (docs/evaluation.md, "How to read the points below"). The
checks (docs/evaluation.md §12-§14, and the rate/count points of §1 and §8-§9):

Effect rows (Table 2 and the sub-group table; columns Treated, Control, Difference, star,
S.E., t):

* ``t = Difference / S.E.``: printed ``|t|`` must meet
  ``[(|D| - h_D) / (SE + h_SE), (|D| + h_D) / (SE - h_SE)]``, with the sign of D;
* star: ``*`` exactly when ``|t| >= 1.96`` ("two tail t test at .05 level");
* ``Treated - Control = Difference``.

Balance rows (pstest layout; means before/after matching, %bias, t, p):

* sign of %bias = sign of matched treated - matched control, and = sign of t;
* ``p = 2·(1 - F_t(|t|; N - 2))``.

Counts (N arithmetic):

* within one sample the window Ns cannot grow as the window lengthens, and
  ``N - controls`` (the treated) must be positive;
* with the New Chance cross-references (:func:`audit_published`): joint-file counts,
  balance-table N = effect-table N, sub-group N vs the shares in the balance tables, the
  12-month treated count vs the before/after N, rates vs stated counts.

Input layout: the effect and balance blocks of ``published_tables.yaml`` (see
:func:`effects_frame`, :func:`balance_frame`), or DataFrames with the same columns. A
number given as a string or a :class:`~psm.newchance.published.numbers.PrintedFloat` keeps its printed
decimals (``"0.30"``, ``"-2.8"``); a plain float uses the column's default (2 decimals; 1 for
%bias). :func:`psm.newchance.published.numbers.published_tables` reads the published numbers keeping
every number as printed, and is what :func:`audit_published` audits by default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from psm.errors import ColumnNotFoundError
from psm.newchance.published.numbers import WINDOW_LABELS

__all__ = [
    "FINDING_COLUMNS",
    "WINDOW_ORDER",
    "AuditResult",
    "effects_frame",
    "balance_frame",
    "audit_effects",
    "audit_balance",
    "audit_windows",
    "audit_published",
]

FINDING_COLUMNS = ("table", "row", "check", "expected", "printed", "verdict", "explanation")
#: Follow-up windows from widest sample (total) to narrowest (12 months).
WINDOW_ORDER = tuple(WINDOW_LABELS.values())
EFFECT_COLUMNS = ("table", "sample", "window", "N", "row", "treated", "control", "difference", "star", "se", "t")
BALANCE_COLUMNS = ("table", "window", "N", "covariate", "unmatched_treated", "unmatched_control",
                   "matched_treated", "matched_control", "pct_bias", "t", "p")
_DEFAULT_DECIMALS = {"pct_bias": 1}
T_CRITICAL = 1.96


# --------------------------------------------------------------------------------------
# printed numbers and intervals
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Printed:
    """A printed number: its value, its text and the half-width of its rounding interval."""

    value: float
    text: str
    half: float

    @property
    def lo(self) -> float:
        return self.value - self.half

    @property
    def hi(self) -> float:
        return self.value + self.half


def _printed(value, column: str) -> Printed:
    value = getattr(value, "text", value)  # a PrintedFloat carries its printed text
    if isinstance(value, str):
        text = value.strip()
        decimals = len(text.split(".")[1]) if "." in text else 0
    else:
        decimals = _DEFAULT_DECIMALS.get(column, 2)
        text = f"{float(value):.{decimals}f}"
    return Printed(float(text), text, 0.5 * 10.0 ** (-decimals))


def _fmt(lo: float, hi: float, digits: int = 3) -> str:
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def _sign_range(lo: float, hi: float) -> set[int]:
    """Signs a value in [lo, hi] can take."""
    return {s for s, ok in ((-1, lo < 0), (0, lo <= 0 <= hi), (1, hi > 0)) if ok}


def _signs_agree(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Some values in the two intervals have the same sign (0 agrees with anything)."""
    sa, sb = _sign_range(*a), _sign_range(*b)
    return bool(0 in sa or 0 in sb or sa & sb)


def _row(table, row, check, expected, printed, ok: bool, explanation: str) -> dict:
    return {"table": table, "row": row, "check": check, "expected": expected, "printed": printed,
            "verdict": "ok" if ok else "fail", "explanation": "" if ok else explanation}


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditResult:
    """All checks run (``checks``) and the failing ones (``findings``)."""

    checks: pd.DataFrame

    @property
    def findings(self) -> pd.DataFrame:
        return self.checks[self.checks["verdict"] == "fail"].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The findings: table, row, check, expected, printed, verdict, explanation."""
        return self.findings

    def __add__(self, other: AuditResult) -> AuditResult:
        return AuditResult(pd.concat([self.checks, other.checks], ignore_index=True))

    def summary(self) -> str:
        lines = [f"Audit: {len(self.checks)} checks, {len(self.findings)} finding(s)"]
        lines += [f"- {r.table} | {r.row} | {r.check}: printed {r.printed}, feasible {r.expected}. "
                  f"{r.explanation}" for r in self.findings.itertuples()]
        return "\n".join(lines)


def _result(rows: list[dict]) -> AuditResult:
    return AuditResult(pd.DataFrame(rows, columns=list(FINDING_COLUMNS)))


def _require(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(missing, frame.columns)


# --------------------------------------------------------------------------------------
# effect rows
# --------------------------------------------------------------------------------------
def _t_interval(d: Printed, se: Printed) -> tuple[float, float]:
    """Feasible |D|/S.E. for D and S.E. anywhere in their rounding intervals."""
    d_lo, d_hi = max(abs(d.value) - d.half, 0.0), abs(d.value) + d.half
    se_lo, se_hi = se.lo, se.hi
    return d_lo / se_hi, (d_hi / se_lo if se_lo > 0 else math.inf)


def _effect_checks(r: Mapping) -> list[dict]:
    table = r["table"]
    label = f"{r['sample']} / {r['window']} (N {r['N']}): {r['row']}"
    tr, co = _printed(r["treated"], "treated"), _printed(r["control"], "control")
    d, se, t = _printed(r["difference"], "difference"), _printed(r["se"], "se"), _printed(r["t"], "t")
    star = bool(r["star"])
    out = []
    # t against D / S.E.
    lo, hi = _t_interval(d, se)
    t_abs = (max(abs(t.value) - t.half, 0.0), abs(t.value) + t.half)
    ok = t_abs[1] >= lo and t_abs[0] <= hi and _signs_agree((d.lo, d.hi), (t.lo, t.hi))
    out.append(_row(table, label, "t = Difference / S.E.", _fmt(lo, hi), t.text, ok,
                    f"|t| printed {t.text} cannot come from Difference {d.text} and S.E. {se.text}: "
                    f"|D|/S.E. lies in {_fmt(lo, hi)} for values that round to the printed ones"))
    # star against |t| >= 1.96
    can_star, can_plain = t_abs[1] >= T_CRITICAL, t_abs[0] < T_CRITICAL
    expected = "*" if not can_plain else ("no star" if not can_star else "either")
    ok = can_star if star else can_plain
    out.append(_row(table, label, "star = (|t| >= 1.96)", expected, "*" if star else "no star", ok,
                    f"star {'printed' if star else 'missing'} but |t| = {t.text}"))
    # Treated - Control against Difference
    diff_lo, diff_hi = tr.lo - co.hi, tr.hi - co.lo
    ok = diff_hi >= d.lo and diff_lo <= d.hi
    out.append(_row(table, label, "Treated - Control = Difference", _fmt(diff_lo, diff_hi), d.text, ok,
                    f"{tr.text} - {co.text} cannot round to a difference of {d.text}"))
    return out


def audit_effects(effects: pd.DataFrame) -> AuditResult:
    """Check every effect row: t vs Difference/S.E., star vs |t| >= 1.96, Treated - Control.

    ``effects`` has one row per printed line with columns table, sample, window, N, row,
    treated, control, difference, star, se, t (see :func:`effects_frame`).
    """
    _require(effects, EFFECT_COLUMNS)
    return _result([c for r in effects.to_dict("records") for c in _effect_checks(r)])


# --------------------------------------------------------------------------------------
# balance rows
# --------------------------------------------------------------------------------------
def _balance_checks(r: Mapping) -> list[dict]:
    table, label = r["table"], r["covariate"]
    mt, mc = _printed(r["matched_treated"], "matched_treated"), _printed(r["matched_control"], "matched_control")
    bias, t, p = _printed(r["pct_bias"], "pct_bias"), _printed(r["t"], "t"), _printed(r["p"], "p")
    diff = (mt.lo - mc.hi, mt.hi - mc.lo)
    out = [
        _row(table, label, "sign(%bias) = sign(matched treated - control)", _fmt(*diff, 2), bias.text,
             _signs_agree(diff, (bias.lo, bias.hi)),
             f"%bias {bias.text} but matched treated - control = {mt.text} - {mc.text} "
             f"lies in {_fmt(*diff, 2)}"),
        _row(table, label, "sign(%bias) = sign(t)", f"sign of t {t.text}", bias.text,
             _signs_agree((t.lo, t.hi), (bias.lo, bias.hi)),
             f"%bias {bias.text} and t {t.text} have opposite signs"),
        _row(table, label, "sign(t) = sign(matched treated - control)", _fmt(*diff, 2), t.text,
             _signs_agree(diff, (t.lo, t.hi)),
             f"t {t.text} but matched treated - control lies in {_fmt(*diff, 2)}"),
    ]
    df = float(r["N"]) - 2
    t_lo, t_hi = max(abs(t.value) - t.half, 0.0), abs(t.value) + t.half
    p_lo, p_hi = 2 * stats.t.sf(t_hi, df), 2 * stats.t.sf(t_lo, df)
    out.append(_row(table, label, "p = 2 P(T > |t|), df = N - 2", _fmt(p_lo, p_hi), p.text,
                    p.hi >= p_lo and p.lo <= p_hi,
                    f"p {p.text} does not match t {t.text} with {df:g} df (p in {_fmt(p_lo, p_hi)})"))
    return out


def audit_balance(balance: pd.DataFrame) -> AuditResult:
    """Check every balance row: signs of %bias, matched difference and t agree; p matches t.

    ``balance`` has one row per covariate and table with columns table, window, N,
    covariate, unmatched_treated, unmatched_control, matched_treated, matched_control,
    pct_bias, t, p (see :func:`balance_frame`).
    """
    _require(balance, BALANCE_COLUMNS)
    return _result([c for r in balance.to_dict("records") for c in _balance_checks(r)])


# --------------------------------------------------------------------------------------
# N across windows
# --------------------------------------------------------------------------------------
def audit_windows(effects: pd.DataFrame, *, n_control: Mapping[str, int] | int | None = None) -> AuditResult:
    """N arithmetic across follow-up windows within each table and sample.

    A narrower window keeps a subset of the people of a wider one, so N cannot grow from
    ``total`` to ``12 months`` (:data:`WINDOW_ORDER`). With ``n_control`` (a number, or a
    number per sample) the treated count ``N - n_control`` must also be positive.
    """
    _require(effects, ("table", "sample", "window", "N"))
    unknown = sorted(set(effects["window"]) - set(WINDOW_ORDER))
    if unknown:
        raise ValueError(f"unknown window(s) {unknown}; allowed: {list(WINDOW_ORDER)}")
    rows = []
    blocks = effects.drop_duplicates(["table", "sample", "window"])
    for (table, sample), part in blocks.groupby(["table", "sample"], sort=False):
        part = part.assign(order=part["window"].map(WINDOW_ORDER.index)).sort_values("order")
        ns, windows = part["N"].astype(int).tolist(), part["window"].tolist()
        for (w0, n0), (w1, n1) in zip(zip(windows, ns), zip(windows[1:], ns[1:])):
            rows.append(_row(table, f"{sample}: {w0} -> {w1}", "N does not grow as the window lengthens",
                             f"<= {n0}", str(n1), n1 <= n0,
                             f"the {w1} sample (N {n1}) is larger than the {w0} sample (N {n0})"))
        controls = n_control.get(sample) if isinstance(n_control, Mapping) else n_control
        if controls is not None:
            for w, n in zip(windows, ns):
                rows.append(_row(table, f"{sample}: {w}", "treated = N - controls > 0", f"> {controls}",
                                 str(n), n > controls, f"N {n} leaves no treated after {controls} controls"))
    return _result(rows)


# --------------------------------------------------------------------------------------
# the published file
# --------------------------------------------------------------------------------------
def effects_frame(published: Mapping) -> pd.DataFrame:
    """Table 2 and the sub-group table as one row per printed line (Before / After)."""
    records = []
    for key, name in (("table_2", "Table 2"), ("subgroup_table", "Sub-group")):
        for block in published["effects"][key]["blocks"]:
            for row_key, row_name in (("before_matching", "Before"), ("after_matching", "After")):
                cells = block[row_key]
                records.append({"table": name, "sample": block.get("subgroup", "All"),
                                "window": block["window"], "N": int(block["N"]), "row": row_name,
                                **{c: cells[c] for c in ("treated", "control", "difference", "star", "se", "t")}})
    return pd.DataFrame(records, columns=list(EFFECT_COLUMNS))


def balance_frame(published: Mapping) -> pd.DataFrame:
    """Table 1 and A1-A5 as one row per covariate."""
    window = {"total (full sample)": "total"}
    records = [
        {"table": t["id"], "window": window.get(t["follow_up_window"], t["follow_up_window"]), "N": int(t["N"]),
         **{c: r[c] for c in BALANCE_COLUMNS[3:]}}
        for t in published["balance_tables"] for r in t["rows"]
    ]
    return pd.DataFrame(records, columns=list(BALANCE_COLUMNS))


def _integers_in(lo: float, hi: float) -> range:
    return range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)


def _count_range(share: Printed, n: int, *, complement: bool = False) -> range:
    """Whole counts k out of n whose share rounds to the printed one (or 1 - share)."""
    lo, hi = (1 - share.hi, 1 - share.lo) if complement else (share.lo, share.hi)
    return _integers_in(lo * n, hi * n)


def _range_text(r: range) -> str:
    return f"{r.start}-{r.stop - 1}" if len(r) else "none"


# New Chance sub-groups: the balance-table covariate that defines each, and whether the
# sub-group is the share coded 1 (markers) or 0 (White = Ethnicity 0, Unemployed = Employment 0,
# the published PSM codings).
SUBGROUP_DEFINITIONS = {
    "Unemployed only": ("Employment", True),
    "White only": ("Ethnicity", True),
    "MH marker 'Yes'": ("MH marker", False),
    "Substance misuse marker 'Yes'": ("Substance Marker", False),
}


def _joint_file_checks(published: Mapping, effects: pd.DataFrame) -> list[dict]:
    joint = published["joint_file"]
    n_t, n_c, n = int(joint["treated"]), int(joint["control"]), int(joint["observations"])
    rows = [_row("Joint file", "observations", "treated + controls = observations", str(n_t + n_c), str(n),
                 n_t + n_c == n, f"{n_t} + {n_c} = {n_t + n_c}, not {n}")]
    pct_t = _printed(joint["reoffending_treated_pct"], "pct")
    pct_c = _printed(joint["reoffending_control_pct"], "pct")
    k_t = _count_range(Printed(pct_t.value / 100, pct_t.text, pct_t.half / 100), n_t)
    k_c = _count_range(Printed(pct_c.value / 100, pct_c.text, pct_c.half / 100), n_c)
    total = int(joint["reoffended_total"]["count"])
    ok = any(a + b == total for a in k_t for b in k_c)
    rows.append(_row("Joint file", "reoffenders", "treated + control reoffenders = total",
                     f"{_range_text(k_t)} + {_range_text(k_c)}", str(total), ok,
                     f"{pct_t.text}% of {n_t} and {pct_c.text}% of {n_c} cannot add up to {total}"))
    # Table 2, total, before matching: the same people as the joint file
    before = effects[(effects["table"] == "Table 2") & (effects["window"] == "total") & (effects["row"] == "Before")]
    for r in before.to_dict("records"):
        rows.append(_row("Table 2", "All / total: N", "N = joint-file observations", str(n), str(r["N"]),
                         int(r["N"]) == n, f"Table 2 total N {r['N']} is not the joint file's {n}"))
        for col, count_range, n_group in (("treated", k_t, n_t), ("control", k_c, n_c)):
            rate = _printed(r[col], col)
            feasible = _count_range(rate, n_group)
            ok = bool(set(feasible) & set(count_range))
            rows.append(_row("Table 2", f"All / total: Before, {col}", "rate x n = joint-file count",
                             f"{_range_text(count_range)} of {n_group}", f"{rate.text} ({_range_text(feasible)})",
                             ok, f"a {col} rate of {rate.text} of {n_group} needs {_range_text(feasible)} "
                                 f"reoffenders; the joint file's rate gives {_range_text(count_range)}"))
    return rows


def _balance_n_checks(effects: pd.DataFrame, balance: pd.DataFrame) -> list[dict]:
    main = effects[effects["table"] == "Table 2"].drop_duplicates("window").set_index("window")["N"]
    rows = []
    for t, part in balance.drop_duplicates("table").set_index("table").iterrows():
        if part["window"] in main.index:
            n_eff = int(main[part["window"]])
            rows.append(_row(t, f"N ({part['window']})", "balance-table N = Table 2 N", str(n_eff), str(part["N"]),
                             int(part["N"]) == n_eff, f"{t} has N {part['N']}, Table 2 {n_eff}"))
    return rows


def _subgroup_n_checks(effects: pd.DataFrame, balance: pd.DataFrame, n_control: int) -> list[dict]:
    """Sub-group N against the sub-group's share in the balance table of the same window.

    treated in the sub-group = k_t of the window's treated (N - n_control) with k_t / n_t
    rounding to the balance table's unmatched treated mean (or 1 - mean), likewise
    controls; their sum must be able to equal the printed sub-group N.
    """
    main = effects[effects["table"] == "Table 2"].drop_duplicates("window").set_index("window")["N"]
    tables = balance.set_index(["window", "covariate"])
    rows = []
    sub = effects[effects["table"] != "Table 2"].drop_duplicates(["sample", "window"])
    for r in sub.to_dict("records"):
        definition = SUBGROUP_DEFINITIONS.get(r["sample"])
        if definition is None or (r["window"], definition[0]) not in tables.index or r["window"] not in main.index:
            continue
        covariate, complement = definition
        cells = tables.loc[(r["window"], covariate)]
        n_t = int(main[r["window"]]) - n_control
        k_t = _count_range(_printed(cells["unmatched_treated"], "m"), n_t, complement=complement)
        k_c = _count_range(_printed(cells["unmatched_control"], "m"), n_control, complement=complement)
        lo, hi = k_t.start + k_c.start, k_t.stop + k_c.stop - 2
        n = int(r["N"])
        share = f"{'1 - ' if complement else ''}{covariate} mean"
        rows.append(_row(r["table"], f"{r['sample']} / {r['window']}: N", f"N = sub-group share x window n ({share})",
                         f"{lo}-{hi}", str(n), lo <= n <= hi,
                         f"{_range_text(k_t)} of {n_t} treated + {_range_text(k_c)} of {n_control} controls "
                         f"(from the balance table's unmatched means) cannot make N = {n}"))
    return rows


def _before_after_check(published: Mapping, effects: pd.DataFrame, n_control: int) -> list[dict]:
    samples = published["descriptives"]["reoffending"]["before_after"]
    followed = [int(s["N"]) for s in samples if "12 months" in s["sample"]]
    n12 = effects[(effects["table"] == "Table 2") & (effects["window"] == "12 months")]["N"]
    if not followed or n12.empty:
        return []
    n_t = int(n12.iloc[0]) - n_control
    return [_row("Table 2", "All / 12 months: treated", "N - controls = before/after 12-month N",
                 str(followed[0]), str(n_t), n_t == followed[0],
                 f"{n12.iloc[0]} - {n_control} = {n_t} treated with 12 months of follow-up, but the "
                 f"before/after comparison has N = {followed[0]}")]


def audit_published(published: Mapping | None = None) -> AuditResult:
    """Run every check on the published tables (default: the package's copy,
    :func:`psm.newchance.published.numbers.published_tables`; or a dict in that layout).

    Effect rows, balance rows, N across windows (controls = the joint file's count in every
    window, docs/evaluation.md §2 and §14), the joint-file counts and rates, the balance
    tables' N against Table 2, the sub-group Ns against the balance tables' shares, and the
    12-month treated count against the before/after N.
    """
    if published is None:
        from psm.newchance.published.numbers import published_tables

        published = published_tables()
    effects, balance = effects_frame(published), balance_frame(published)
    n_control = int(published["joint_file"]["control"])
    result = audit_effects(effects) + audit_balance(balance)
    result = result + audit_windows(effects, n_control={"All": n_control})
    cross = (_joint_file_checks(published, effects) + _balance_n_checks(effects, balance)
             + _subgroup_n_checks(effects, balance, n_control) + _before_after_check(published, effects, n_control))
    return result + _result(cross)
