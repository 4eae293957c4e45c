"""The synthetic data generators: determinism, schema, construction, the structural model and the
reconstruction committed in ``data/synthetic``."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from psm.newchance import synthetic
from psm.newchance.synthetic import design, outcomes, people
from psm.newchance.synthetic.texts import BOTH_CATEGORY
from psm.newchance import cli
from psm.newchance.cli import main
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.preparation.prepare import prepare
from psm.newchance.preparation.rules import classify_crime_type

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "data" / "synthetic"
FILES = ("referrals.csv", "police_offences.csv", "dataset.yaml")
COVARIATES = ["age", "ethnicity", "substance_marker", "mh_marker", "employment", "offence_type", "offending_history"]


@pytest.fixture(scope="module")
def default_data() -> synthetic.SyntheticData:
    return synthetic.synthesize()


# SHA-256 of the files written by `python -m psm.newchance synthesize --structural --out DIR` (seed 396),
# recorded when the structural simulation was the committed data set; the reconstruction must not move them.
STRUCTURAL_SHA256 = {
    "referrals.csv": "aea416ca54c0d07921decb150760fa3424dd2631aba62c295ac1230da373fc46",
    "police_offences.csv": "46fd5f65f4f534413cd797e04e3dadfcdc339eb3e5c93b50704b8fc42efeecf3",
    "dataset.yaml": "5087244490114836c20559c5c37ef2c16a11338ff025c3137cf1a06a6e47ad61",
}


@pytest.fixture(scope="module")
def committed_af():
    return prepare(load_dataset(COMMITTED))


@pytest.fixture(scope="module")
def structural_af(tmp_path_factory):
    """The structural simulation of the default seed (known truth), prepared."""
    folder = tmp_path_factory.mktemp("structural")
    synthetic.write_synthetic(folder)
    return prepare(load_dataset(folder))


# --- determinism and the committed files ------------------------------------------------------
def test_cli_default_regenerates_the_committed_reconstruction_byte_for_byte(tmp_path):
    out = io.StringIO()
    assert cli.run_synthesize(tmp_path, seed=None, out=out) == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name
    assert "SYNTHETIC" in out.getvalue() and "reconstruction" in out.getvalue()


@pytest.mark.parametrize("args", [["--structural"], ["--seed", str(synthetic.DEFAULT_SEED)]])
def test_cli_structural_simulation_of_the_default_seed_is_unchanged(tmp_path, args):
    assert main(["synthesize", "--out", str(tmp_path / "x"), *args]) == 0
    for name, digest in STRUCTURAL_SHA256.items():
        assert hashlib.sha256((tmp_path / "x" / name).read_bytes()).hexdigest() == digest, name


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = synthetic.synthesize(3), synthetic.synthesize(3), synthetic.synthesize(4)
    pd.testing.assert_frame_equal(a.referrals, b.referrals)
    pd.testing.assert_frame_equal(a.police, b.police)
    assert not a.referrals["referral_date"].equals(c.referrals["referral_date"])


def test_committed_folder_says_it_is_synthetic_and_how_to_regenerate():
    ds = load_dataset(COMMITTED)
    assert ds.synthetic is True
    assert ds.extract_date.isoformat() == "2020-01-10"
    assert "SYNTHETIC" in ds.description
    readme = (COMMITTED / "README.md").read_text()
    assert "synthetic" in readme.lower()
    assert "python -m psm.newchance synthesize --out data/synthetic\n" in readme
    assert "python -m psm.newchance synthesize --structural --out DIR" in readme
    assert ds.synthetic_seed is None  # no known truth: the notebooks compare with none


# --- schema conformance ----------------------------------------------------------------------
def test_files_pass_validation_with_only_the_intended_warnings():
    ds = load_dataset(COMMITTED)  # raises on any error
    checks = {(p.check, p.rows) for p in ds.problems}
    assert {c for c, _ in checks} == {"reoffence_before_index", "reoffending_unknown"}
    assert sum(len(rows) for _, rows in checks) == 3  # the three invalid referrals of section 3.4


def test_codes_use_the_missing_data_patterns_of_an_extract():
    raw = pd.read_csv(COMMITTED / "referrals.csv", dtype=str, keep_default_na=False)
    police = pd.read_csv(COMMITTED / "police_offences.csv", dtype=str, keep_default_na=False)
    for frame in (raw, police):
        assert (frame["substance_misuse_need"] == "").any()  # empty = not_assessed
        assert (frame["employment_status"] == "").any()      # empty = no_data
        assert frame["mental_health_need"].str.contains("Not assessed|Not Assessed").any()
    assert police["offence_date"].str.fullmatch(r"\d\d/\d\d/\d{4}").all()  # UK day-first export
    assert (raw["ethnic_appearance"] == "unknown").sum() == 1


def test_every_offence_text_is_classified_as_intended():
    for category, texts in synthetic.OFFENCE_TEXTS.items():
        expected = BOTH_CATEGORY if category == "both" else category
        got = classify_crime_type(pd.Series(texts))
        assert set(got) == {expected.capitalize()}, (category, list(zip(texts, got)))


def test_descriptions_are_free_text_in_mixed_case(committed_af):
    texts = pd.read_csv(COMMITTED / "referrals.csv")["index_offence"]
    assert texts.str.isupper().any() and texts.str.islower().any()
    both = texts.isin(synthetic.OFFENCE_TEXTS["both"])
    assert both.sum() >= 5


# --- construction: counts hold for any seed ---------------------------------------------------
@pytest.mark.parametrize("seed", [1, 99])
def test_published_counts_and_table_1_means_hold_for_other_seeds(tmp_path, seed):
    synthetic.write_synthetic(tmp_path, seed)
    data = prepare(load_dataset(tmp_path)).data
    assert (data["treated"] == 1).sum() == 410 and (data["treated"] == 0).sum() == 362
    assert [int(data[f"eligible_{w}"].sum()) for w in ("30d", "60d", "90d", "6m", "12m")] == [769, 758, 742, 710, 610]
    means = data.groupby("treated")[COVARIATES].mean()
    # Table 1 unmatched means, from the counts of the module: e.g. ethnicity 123/410, 76/362
    assert means.loc[1, "ethnicity"] == pytest.approx(123 / 410)
    assert means.loc[0, "ethnicity"] == pytest.approx(76 / 362)
    assert means.loc[1, "offence_type"] == pytest.approx(1 + (45 + 2 * 135) / 410)
    assert means.loc[1, "age"] == pytest.approx(13546 / 410)
    assert means.loc[0, "offending_history"] == pytest.approx(9007 / 362)


# --- the structural model ---------------------------------------------------------------------
def test_probability_formula_by_hand():
    model = synthetic.OUTCOME_MODEL
    # t = scale, before the waning day: G = 1 - exp(-1); P = 1 - exp(-exp(eta0 + tau) * G)
    t = min(model.scale, design.WANING_DAY)
    g = 1 - np.exp(-((t / model.scale) ** model.shape))
    assert synthetic.reoffence_probability(0.3, -0.5, 9.0, t, model) == pytest.approx(1 - np.exp(-np.exp(-0.2) * g))
    # past the waning day the late log hazard ratio applies to G(t) - G(c)
    c, t = design.WANING_DAY, 400.0
    gc, gt = (1 - np.exp(-((x / model.scale) ** model.shape)) for x in (c, t))
    h = np.exp(0.3) * (np.exp(-0.5) * gc + np.exp(-0.1) * (gt - gc))
    assert synthetic.reoffence_probability(0.3, -0.5, -0.1, t, model) == pytest.approx(1 - np.exp(-h))


@settings(max_examples=150, deadline=None)
@given(eta=st.floats(-3, 1.5), tau=st.floats(-1.5, 0), late=st.floats(-1.5, 0.5), t=st.floats(1.0, 1700.0))
def test_inversion_returns_the_day_whose_probability_was_drawn(eta, tau, late, t):
    model = synthetic.OUTCOME_MODEL
    u = synthetic.reoffence_probability(eta, tau, late, t, model)
    day = outcomes._first_reoffence_days(np.array([u * (1 - 1e-12)]), eta, tau, late, model)[0]
    guarded = any(limit - g <= np.ceil(t) <= limit + g for limit, g in design.WINDOW_GUARD.items())
    if not guarded:
        assert day == max(np.ceil(t - 1e-6), 1)


def test_referral_depends_on_the_covariates(structural_af):
    """Selection on observables: a logit of treatment finds ethnicity (+) and substance (-)."""
    data = structural_af.data
    fit = sm.Logit(data["treated"], sm.add_constant(data[COVARIATES])).fit(disp=0)
    assert fit.params["ethnicity"] > 0 and fit.pvalues["ethnicity"] < 0.05
    assert fit.params["substance_marker"] < 0 and fit.pvalues["substance_marker"] < 0.05


def test_reoffending_depends_on_the_covariates(structural_af):
    control = structural_af.data[structural_af.data["treated"] == 0]
    by_substance = control.groupby("substance_marker")["reoffended_total"].mean()
    assert by_substance[1] - by_substance[0] > 0.2
    by_ethnicity = control.groupby("ethnicity")["reoffended_total"].mean()
    assert by_ethnicity[0] > by_ethnicity[1]


def test_true_effects_are_reductions_and_windows_need_no_follow_up_correction(default_data):
    truth = synthetic.true_effects(default_data)
    assert (truth["att"] < 0).all()
    assert list(truth["n_treated"]) == [410, 407, 396, 380, 348, 248]
    windows = truth.drop(index="total")
    assert np.allclose(windows["att"], windows["published_contrast"])
    # the published total contrast adds the controls' longer follow-up to the effect (docs/evaluation.md §5)
    assert truth.loc["total", "published_contrast"] < truth.loc["total", "att"]


def _knn_att(data: pd.DataFrame, outcome: str, k: int = 10) -> tuple[float, float]:
    """ATT by k-nearest-neighbour matching with replacement on a probit propensity score, and the
    raw difference. k = 10 rather than psmatch2's 1 keeps the matching noise (not the subject of
    this test) well below the selection bias it removes."""
    data = data.dropna(subset=[outcome])
    design = sm.add_constant(data[COVARIATES])
    score = sm.Probit(data["treated"], design).fit(disp=0).predict(design).to_numpy()[:, None]
    t = (data["treated"] == 1).to_numpy()
    _, idx = NearestNeighbors(n_neighbors=k).fit(score[~t]).kneighbors(score[t])
    y = data[outcome].to_numpy()
    counterfactual = y[~t][idx].mean(axis=1)
    return float(np.mean(y[t] - counterfactual)), float(y[t].mean() - y[~t].mean())


WINDOW_NAMES = ("30d", "60d", "90d", "6m", "12m")


def test_matched_estimate_recovers_the_simulated_truth(structural_af, default_data):
    truth = synthetic.true_effects(default_data)["att"]
    estimates = {w: _knn_att(structural_af.data, f"reoffended_{w}") for w in WINDOW_NAMES}
    matched_error = {w: abs(m - truth[w]) for w, (m, _) in estimates.items()}
    raw_error = {w: abs(r - truth[w]) for w, (_, r) in estimates.items()}
    assert max(matched_error.values()) < 0.02, matched_error
    # matching has work to do: the raw comparison is biased by the selection on covariates
    assert np.mean(list(raw_error.values())) > 2 * np.mean(list(matched_error.values())), (raw_error, matched_error)


def test_selection_biases_the_raw_comparison(default_data):
    """Treated and controls differ in risk before treatment: the model's untreated risk differs."""
    people = default_data.people[default_data.people["analysed"]]
    p0 = synthetic.reoffence_probability(people["eta0"], 0.0, 0.0, 365, default_data.model)
    by_group = p0.groupby(people["group"]).mean()
    assert by_group["comparison"] - by_group["treatment"] > 0.02


# --- allocation helpers: exact counts whatever the draw --------------------------------------
@settings(max_examples=100, deadline=None)
@given(counts=st.lists(st.integers(0, 30), min_size=1, max_size=4), seed=st.integers(0, 10_000),
       with_score=st.booleans())
def test_allocate_gives_exact_counts(counts, seed, with_score):
    labels = {f"c{i}": k for i, k in enumerate(counts)}
    rng = np.random.default_rng(seed)
    score = rng.standard_normal(sum(counts)) if with_score else None
    out = people._allocate(rng, labels, score)
    assert {k: int((out == k).sum()) for k in labels} == labels


def test_allocate_gives_the_first_label_to_high_scores():
    rng = np.random.default_rng(0)
    score = np.r_[np.full(50, 10.0), np.full(50, -10.0)]  # Gumbel noise cannot overturn a gap of 20
    out = people._allocate(rng, {"a": 50, "b": 50}, score)
    assert (out[:50] == "a").all() and (out[50:] == "b").all()


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.floats(1, 80), min_size=3, max_size=60), mean=st.floats(5, 60), seed=st.integers(0, 999))
def test_adjust_sum_hits_the_target_within_bounds(values, mean, seed):
    values = np.array(values)
    target = int(round(mean * values.size))
    out = people.adjust_sum(np.random.default_rng(seed), values, target, 1, 78)
    assert out.sum() == target and out.min() >= 1 and out.max() <= 78


def test_adjust_sum_reports_an_impossible_target():
    with pytest.raises(ValueError, match="cannot reach"):
        people.adjust_sum(np.random.default_rng(0), np.array([1.0, 2.0]), 200, 1, 78)


# --- every seed generates ---------------------------------------------------------------------
def test_years_before_moves_29_february_to_28_february_in_a_non_leap_year():
    import datetime as dt

    from psm.newchance.synthetic.texts import years_before

    assert years_before(dt.date(2016, 2, 29), 30) == dt.date(1986, 2, 28)
    assert years_before(dt.date(2016, 2, 29), 28) == dt.date(1988, 2, 29)
    assert years_before(dt.date(2017, 3, 1), 20) == dt.date(1997, 3, 1)


@pytest.mark.parametrize("seed", [0, 97, 150, 233])
def test_seeds_whose_start_offence_falls_on_29_february_generate(seed):
    data = synthetic.synthesize(seed)
    assert len(data.referrals) == 421 and data.police["person_id"].nunique() > 400
