"""The preparation recipe: proposal, leak-free fitting, safe state, label mapping, class weights."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import DataError, ModelFileError, TrainingError
from mfg_desktop.core.formula import apply_derived, parse_derived
from mfg_desktop.core.recipe import (
    MISSING_CATEGORY,
    ColumnPlan,
    FittedRecipe,
    LabelMapping,
    PcaSettings,
    Recipe,
    _prepare,
    check_target,
    class_weights,
    fit_recipe,
    pca_variance_curve,
    propose_recipe,
    suggest_class_weights,
)
from mfg_desktop.core.split import SplitSpec, make_split
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION, find_onehot_groups, target_series

LEAKS = {c: "failure-mode flag: implies the target (leak)" for c in ("TWF", "HDF", "PWF", "OSF", "RNF")}


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def steel(steel_path) -> pd.DataFrame:
    return pd.read_csv(steel_path)


@pytest.fixture(scope="module")
def ai4i_recipe(ai4i) -> Recipe:
    return propose_recipe(ai4i, "Machine_failure", leak_suspects=LEAKS)


def _state_through_files(state: dict) -> dict:
    """What a model file does: JSON for values, npz without pickle for arrays."""
    rest = {k: v for k, v in state.items() if k != "arrays"}
    text = json.dumps(rest, allow_nan=False)
    buffer = io.BytesIO()
    np.savez(buffer, **state["arrays"])
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return {**json.loads(text), "arrays": arrays}


def _sklearn_output(fitted: FittedRecipe, df: pd.DataFrame) -> np.ndarray:
    """The fitted scikit-learn pipeline's own transform, to check the numpy path against."""
    prepared, _ = _prepare(apply_derived(df, fitted.recipe.derived), fitted.recipe, fitted.datetime_origins)
    return fitted.pipeline.transform(prepared)


# ---------------------------------------------------------------------------------- proposal


def test_proposal_on_ai4i(ai4i_recipe):
    r = ai4i_recipe
    plans = {p.name: p for p in r.columns}
    assert "Machine_failure" not in plans  # the target is never an input
    assert plans["UDI"].role == "drop" and "identifier" in plans["UDI"].reason
    assert plans["Product ID"].role == "drop" and "identifier" in plans["Product ID"].reason
    assert plans["Type"].role == "categorical" and plans["Type"].impute == "most_frequent"
    for leak, reason in LEAKS.items():
        assert plans[leak].role == "drop" and plans[leak].reason == reason
    assert plans["Torque [Nm]"].role == "numeric"
    assert (plans["Torque [Nm]"].impute, plans["Torque [Nm]"].scale) == ("median", "standard")
    assert plans["Rotational speed [rpm]"].scale == "robust"  # long right tail
    assert "outliers" in plans["Rotational speed [rpm]"].reason
    assert r.inputs == [
        "Type",
        "Air temperature [K]",
        "Process temperature [K]",
        "Rotational speed [rpm]",
        "Torque [Nm]",
        "Tool wear [min]",
    ]
    assert r.task == BINARY


def test_proposal_on_synthetic_columns():
    n = 60
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "when": pd.date_range("2026-01-01", periods=n, freq="h"),
            "when_text": pd.date_range("2026-01-01", periods=n, freq="D").strftime("%Y-%m-%d %H:%M"),
            "constant": 7.0,
            "empty": np.nan,
            "mostly_empty": [1.0] + [np.nan] * (n - 1),
            "flag": rng.integers(0, 2, n),
            "ok": rng.integers(0, 2, n).astype(bool),
            "numbers_text": [f"{v:.2f}" for v in rng.normal(size=n)],
            "batch": [f"B{i % 40}" for i in range(n)],
            "serial": [f"SN{i:05d}" for i in range(n)],
            "line": rng.choice(["L1", "L2", "L3"], n),
            "machine_id": np.arange(1000, 1000 + n)[rng.permutation(n)],
            "x": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
            "skip": rng.normal(size=n),
        }
    )
    r = propose_recipe(df, "y", exclude=["skip"])
    plans = {p.name: p for p in r.columns}
    assert plans["when"].role == "datetime"
    assert plans["when_text"].role == "datetime"
    assert plans["constant"].role == "drop" and "constant" in plans["constant"].reason
    assert plans["empty"].role == "drop" and "empty" in plans["empty"].reason
    assert plans["mostly_empty"].role == "drop" and "missing" in plans["mostly_empty"].reason
    assert plans["flag"].role == "numeric" and plans["flag"].scale == "none"
    assert plans["ok"].role == "numeric" and plans["ok"].impute == "most_frequent"
    assert plans["numbers_text"].role == "numeric" and "text" in plans["numbers_text"].reason
    assert plans["batch"].role == "drop" and "too many" in plans["batch"].reason
    assert plans["serial"].role == "drop" and "identifier" in plans["serial"].reason
    assert plans["line"].role == "categorical"
    assert plans["machine_id"].role == "drop" and "identifier" in plans["machine_id"].reason
    assert plans["x"].role == "numeric"
    assert plans["skip"].role == "drop" and plans["skip"].reason == "excluded"
    assert "y" not in plans


def test_proposal_with_derived_and_onehot_target(steel):
    group = find_onehot_groups(steel)[0]
    r = propose_recipe(steel, group)
    assert r.task == MULTICLASS
    assert r.target == group
    assert not set(group) & {p.name for p in r.columns}
    assert {p.name for p in r.columns if p.role == "numeric"} >= {"TypeOfSteel_A300", "Pixels_Areas"}

    d = parse_derived("aspect = (X_Maximum - X_Minimum) / (Y_Maximum - Y_Minimum + 1)", steel.columns)
    r2 = propose_recipe(steel, group, derived=[d])
    assert r2.plan("aspect").role == "numeric"
    assert r2.derived == [d]


def test_recipe_dict_round_trip(ai4i_recipe):
    r = ai4i_recipe
    r.derived = [
        parse_derived(
            'power = "Torque [Nm]" * "Rotational speed [rpm]"', ["Torque [Nm]", "Rotational speed [rpm]"]
        )
    ]
    r.pca = PcaSettings(enabled=True, n_components=3, variance=None)
    d = json.loads(json.dumps(r.to_dict()))
    again = Recipe.from_dict(d)
    assert again == r
    r.derived, r.pca = [], PcaSettings()
    with pytest.raises(TrainingError, match="malformed"):
        Recipe.from_dict({"columns": []})
    with pytest.raises(TrainingError, match="role"):
        Recipe.from_dict({"target": "y", "columns": [{"name": "a", "role": "magic"}]})


# ---------------------------------------------------------------------------------- fitting


def test_statistics_come_from_training_rows_only(ai4i, ai4i_recipe):
    spec = SplitSpec(seed=3)
    y = ai4i["Machine_failure"]
    split = make_split(ai4i, y, spec, BINARY)
    df = ai4i.copy()
    # Poison every row outside training: if any of them reached the fit, the numbers would show it.
    other = np.concatenate([split.valid, split.test])
    df.loc[df.index[other], "Torque [Nm]"] = 1e6
    df.loc[df.index[other], "Air temperature [K]"] = np.nan
    df.loc[df.index[other], "Type"] = "Z"
    train = df.iloc[split.train].copy()
    train.loc[train.index[:50], "Torque [Nm]"] = np.nan  # something to impute

    fitted = fit_recipe(ai4i_recipe, train)
    imputer = fitted.pipeline.named_steps["columns"].named_transformers_
    torque = train["Torque [Nm]"]
    torque_block = next(b for b in fitted.blocks if b.get("column") == "Torque [Nm]")
    key = torque_block["key"]
    assert fitted.arrays[f"{key}_fill"][0] == pytest.approx(torque.median())
    imputed = torque.fillna(torque.median())  # the scaler sees the imputed training column
    assert fitted.arrays[f"{key}_a"][0] == pytest.approx(imputed.mean())
    assert fitted.arrays[f"{key}_b"][0] == pytest.approx(imputed.std(ddof=0))
    rpm = train["Rotational speed [rpm]"]
    rpm_key = next(b for b in fitted.blocks if b.get("column") == "Rotational speed [rpm]")["key"]
    assert fitted.arrays[f"{rpm_key}_a"][0] == pytest.approx(rpm.median())
    assert fitted.arrays[f"{rpm_key}_b"][0] == pytest.approx(rpm.quantile(0.75) - rpm.quantile(0.25))
    assert imputer  # the scikit-learn pipeline was really fitted
    onehot = next(b for b in fitted.blocks if b["kind"] == "onehot")
    assert onehot["categories"] == ["H", "L", "M"]  # "Z" lives only in validation/test rows
    assert fitted.feature_names[-1] == "Torque [Nm] (missing)"  # only training had holes in Torque
    schema = {e["name"]: e for e in fitted.input_schema()}
    assert schema["Torque [Nm]"]["max"] == pytest.approx(torque.max())
    assert schema["Torque [Nm]"]["missing_share"] == pytest.approx(50 / len(train))
    assert schema["Air temperature [K]"]["missing_share"] == 0.0

    # Validation rows with the unseen category and missing readings still transform cleanly.
    x_valid = fitted.transform(df.iloc[split.valid])
    assert np.all(np.isfinite(x_valid))
    type_cols = [i for i, n in enumerate(fitted.feature_names) if n.startswith("Type=")]
    assert np.all(x_valid[:, type_cols] == 0)  # unknown category -> all zeros


def test_numpy_transform_matches_sklearn_and_round_trips_on_ai4i(ai4i, ai4i_recipe):
    fitted = fit_recipe(ai4i_recipe, ai4i.iloc[:7000])
    x = fitted.transform(ai4i.iloc[7000:])
    assert x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    assert x.shape == (3000, fitted.n_features) == (3000, 8)
    np.testing.assert_allclose(x, _sklearn_output(fitted, ai4i.iloc[7000:]), rtol=1e-6, atol=1e-6)

    restored = FittedRecipe.from_state(_state_through_files(fitted.to_state()))
    np.testing.assert_array_equal(restored.transform(ai4i), fitted.transform(ai4i))
    assert restored.feature_names == fitted.feature_names
    assert restored.recipe == fitted.recipe == ai4i_recipe
    assert fitted.recipe is not ai4i_recipe  # editing the plan afterwards leaves the fit alone
    assert restored.input_schema() == fitted.input_schema()
    assert restored.label_mapping == fitted.label_mapping
    assert restored.pipeline is None


def test_round_trip_on_steel_with_pca(steel):
    group = find_onehot_groups(steel)[0]
    r = propose_recipe(steel, group)
    r.pca = PcaSettings(enabled=True, variance=0.9)
    fitted = fit_recipe(r, steel.iloc[::2])
    ratio = fitted.explained_variance_ratio
    assert ratio is not None and ratio.sum() >= 0.9 and ratio[:-1].sum() < 0.9
    assert fitted.feature_names == [f"PC{i + 1}" for i in range(len(ratio))]
    x = fitted.transform(steel.iloc[1::2])
    np.testing.assert_allclose(x, _sklearn_output(fitted, steel.iloc[1::2]), rtol=1e-5, atol=1e-5)
    restored = FittedRecipe.from_state(_state_through_files(fitted.to_state()))
    np.testing.assert_array_equal(restored.transform(steel), fitted.transform(steel))
    codes = fitted.encode_target(steel)
    assert codes.dtype == np.int64 and set(np.unique(codes)) == set(range(7))
    assert list(fitted.decode_target(codes[:5])) == list(target_series(steel, group).iloc[:5])

    curve = pca_variance_curve(r, steel.iloc[::2])
    assert curve.sum() == pytest.approx(1.0) and np.all(np.diff(curve) <= 1e-12)
    np.testing.assert_allclose(curve[: len(ratio)], ratio, rtol=1e-6)


def _mixed_frame(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.normal(10, 2, n),
            "b": rng.exponential(3, n),
            "c": rng.uniform(-5, 5, n),
            "d": rng.normal(size=n),
            "e": rng.integers(0, 5, n).astype(float),
            "kind": rng.choice(["x", "y", "z"], n),
            "site": rng.choice(["north", "south"], n),
            "t": pd.date_range("2026-03-01 06:00", periods=n, freq="37min"),
            "y": rng.choice(["OK", "NG"], n, p=[0.8, 0.2]),
        }
    )
    for col in ("a", "b", "c", "e"):
        df.loc[rng.choice(n, 15, replace=False), col] = np.nan
    df.loc[rng.choice(n, 10, replace=False), "kind"] = None
    df.loc[rng.choice(n, 10, replace=False), "site"] = None
    df.loc[rng.choice(n, 5, replace=False), "t"] = pd.NaT
    return df


def _all_options_recipe() -> Recipe:
    return Recipe(
        target="y",
        columns=[
            ColumnPlan("a", "numeric", impute="mean", scale="standard"),
            ColumnPlan("b", "numeric", impute="median", scale="robust"),
            ColumnPlan("c", "numeric", impute="constant", scale="minmax"),
            ColumnPlan("d", "numeric", impute="none", scale="none"),
            ColumnPlan("e", "numeric", impute="most_frequent", scale="standard"),
            ColumnPlan("kind", "categorical", impute="most_frequent"),
            ColumnPlan("site", "categorical", impute="constant"),
            ColumnPlan("t", "datetime"),
        ],
        derived=[parse_derived("ab = a / b", ["a", "b"])],
    )


def test_every_option_matches_sklearn_and_round_trips():
    df = _mixed_frame()
    r = _all_options_recipe()
    r.columns.append(ColumnPlan("ab", "numeric"))
    fitted = fit_recipe(r, df.iloc[:150])
    names = fitted.feature_names
    assert "t: elapsed days" in names and "t: hour" in names and "t: day of week" in names
    assert f"site={MISSING_CATEGORY}" in names
    assert {
        "a (missing)",
        "b (missing)",
        "c (missing)",
        "e (missing)",
        "ab (missing)",
        "t: hour (missing)",
    } <= set(names)
    assert "d (missing)" not in names  # no imputation, no indicator
    x = fitted.transform(df.iloc[150:])
    np.testing.assert_allclose(x, _sklearn_output(fitted, df.iloc[150:]), rtol=1e-6, atol=1e-6)
    restored = FittedRecipe.from_state(_state_through_files(fitted.to_state()))
    np.testing.assert_array_equal(restored.transform(df), fitted.transform(df))

    # The datetime origin is the earliest training time; later rows count days from it.
    assert fitted.datetime_origins["t"] == df["t"].iloc[:150].min().isoformat()
    hours = x[:, names.index("t: hour")]
    assert hours.min() >= -5 and hours.max() <= 5  # scaled, not raw text
    assert fitted.label_mapping.classes == ["OK", "NG"]

    no_indicators = fit_recipe(
        Recipe.from_dict({**r.to_dict(), "add_missing_indicators": False}), df.iloc[:150]
    )
    assert not any(n.endswith(" (missing)") for n in no_indicators.feature_names)


def test_derived_columns_are_applied_at_transform(ai4i):
    power = parse_derived('power = "Torque [Nm]" * "Rotational speed [rpm]" * 2 * pi / 60', ai4i.columns)
    r = propose_recipe(
        ai4i,
        "Machine_failure",
        derived=[power],
        leak_suspects=LEAKS,
        exclude=["Torque [Nm]", "Rotational speed [rpm]"],
    )
    assert "power" in r.inputs and "Torque [Nm]" not in r.inputs
    fitted = fit_recipe(r, ai4i.iloc[:5000])
    raw = ai4i.drop(columns=["TWF", "HDF", "PWF", "OSF", "RNF", "Machine_failure"]).iloc[5000:]
    x = fitted.transform(raw)  # the file has no "power" column: the recipe computes it
    j = fitted.feature_names.index("power")
    p = (ai4i["Torque [Nm]"] * ai4i["Rotational speed [rpm]"] * 2 * np.pi / 60).to_numpy()
    expected = (p[5000:] - p[:5000].mean()) / p[:5000].std()
    np.testing.assert_allclose(x[:, j], expected, rtol=1e-4, atol=1e-4)
    schema = {e["name"]: e for e in fitted.input_schema()}
    assert schema["power"]["derived"] == power.expression
    assert schema["Torque [Nm]"]["role"] == "formula input"
    assert {"Torque [Nm]", "Rotational speed [rpm]", "Type"} <= set(fitted.required_columns())
    assert "power" not in fitted.required_columns()


def test_transform_errors_name_the_columns():
    df = _mixed_frame()
    r = _all_options_recipe()
    fitted = fit_recipe(r, df.iloc[:150])
    with pytest.raises(DataError, match="'kind'") as err:
        fitted.transform(df.drop(columns=["kind"]))
    assert err.value.column == "kind"
    holes = df.iloc[150:].copy()
    holes.loc[holes.index[[3, 7]], "d"] = np.nan  # d has no imputation
    with pytest.raises(DataError, match=r"'d' \(2 rows\); first at data row 4"):
        fitted.transform(holes)
    inf = df.iloc[150:].copy()
    inf["a"] = np.inf  # infinite readings are treated as missing and imputed
    assert np.all(np.isfinite(fitted.transform(inf)))
    huge = df.iloc[150:].copy()
    huge["d"] = 1e300
    with pytest.raises(DataError, match="float32 range\\) in 'd'") as err:
        fitted.transform(huge)
    assert err.value.column == "d"


def test_fit_refuses_unusable_setups():
    df = _mixed_frame()
    r = _all_options_recipe()
    with pytest.raises(TrainingError, match="No usable inputs"):
        fit_recipe(Recipe("y", [ColumnPlan("a", "drop")]), df)
    holes = df.copy()
    holes.loc[holes.index[:5], "d"] = np.nan
    with pytest.raises(TrainingError, match="no imputation") as err:
        fit_recipe(r, holes)
    assert err.value.column == "d"
    empty = df.copy()
    empty.loc[empty.index[:150], "c"] = np.nan
    with pytest.raises(TrainingError, match="no value in any training row") as err:
        fit_recipe(r, empty.iloc[:150])
    assert err.value.column == "c"
    with pytest.raises(TrainingError, match="cannot be imputed"):
        fit_recipe(Recipe("y", [ColumnPlan("kind", "categorical", impute="median")]), df)
    with pytest.raises(TrainingError, match="only one value"):
        fit_recipe(Recipe("y", [ColumnPlan("a", "numeric")]), df.assign(y="OK"))
    with pytest.raises(TrainingError, match="PCA asks for 50 components"):
        fit_recipe(
            Recipe(
                "y",
                [ColumnPlan("a", "numeric"), ColumnPlan("b", "numeric")],
                pca=PcaSettings(enabled=True, n_components=50),
            ),
            df,
        )
    with pytest.raises(DataError, match="lacks 1 column"):
        fit_recipe(Recipe("y", [ColumnPlan("nope", "numeric")]), df)


def test_rows_without_target_are_left_out_of_the_fit():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 100.0, 200.0], "y": [0, 1, 0, None, None]})
    fitted = fit_recipe(Recipe("y", [ColumnPlan("a", "numeric")]), df)
    assert fitted.arrays[f"{fitted.blocks[0]['key']}_a"][0] == pytest.approx(2.0)
    assert fitted.n_train_rows == 3


def test_state_is_safe_and_refuses_tampering(ai4i, ai4i_recipe):
    fitted = fit_recipe(ai4i_recipe, ai4i.iloc[:2000])
    state = fitted.to_state()
    json.dumps({k: v for k, v in state.items() if k != "arrays"}, allow_nan=False)
    assert all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in state["arrays"].values())

    with pytest.raises(ModelFileError, match="no preparation recipe"):
        FittedRecipe.from_state({"kind": "something else"})
    with pytest.raises(ModelFileError, match="version 99"):
        FittedRecipe.from_state({**state, "version": 99})
    shrunk = _state_through_files(state)
    key = next(b["key"] for b in shrunk["blocks"] if b["kind"] == "numeric")
    shrunk["arrays"][f"{key}_a"] = np.zeros(5)
    with pytest.raises(ModelFileError, match="damaged"):
        FittedRecipe.from_state(shrunk)
    broken = _state_through_files(state)
    broken["blocks"][0]["kind"] = "exec"
    with pytest.raises(ModelFileError, match="damaged"):
        FittedRecipe.from_state(broken)
    evil = _state_through_files(state)
    evil["recipe"]["derived"] = [{"name": "x", "expression": "__import__('os').system('x')", "columns": []}]
    with pytest.raises(ModelFileError):
        FittedRecipe.from_state(evil)
    missing = _state_through_files(state)
    del missing["arrays"]
    with pytest.raises(ModelFileError, match="damaged"):
        FittedRecipe.from_state(missing)


# ---------------------------------------------------------------------------------- targets


@pytest.mark.parametrize(
    "values, positive",
    [
        ([0, 1, 1, 0, 0], 1),
        ([0.0, 1.0, 0.0], 1),
        ([-1, 1, -1, -1], 1),
        (["OK", "NG", "OK"], "NG"),
        (["ng", "ok", "ok"], "ng"),
        (["是", "否", "否"], "是"),
        (["合格", "不合格", "合格"], "不合格"),
        ([True, False, False], True),
        (["pass", "fail", "pass", "fail", "fail"], "fail"),  # the bad value even when it is the majority
        (["A", "B", "B", "B"], "A"),  # no token: the minority
        ([1, 2, 2, 2, 1, 2], 1),  # numeric codes other than 0/1: the minority
        (["good", "scrap", "good"], "scrap"),
    ],
)
def test_binary_positive_class_rule(values, positive):
    m = LabelMapping.fit(pd.Series(values, name="y"), BINARY)
    assert m.positive_class == positive
    codes = m.encode(pd.Series(values))
    assert list(m.decode(codes)) == list(
        pd.Series(values).map(lambda v: m.classes[1] if v == positive else m.classes[0])
    )
    assert set(codes) == {0, 1}
    assert list(codes) == [1 if v == positive else 0 for v in values]


def test_label_mapping_details():
    m = LabelMapping.fit(pd.Series(["A", "B", "B"], name="y"), BINARY, positive_class="B")
    assert m.classes == ["A", "B"]
    with pytest.raises(TrainingError, match="not a value"):
        LabelMapping.fit(pd.Series(["A", "B"], name="y"), BINARY, positive_class="C")

    ints = LabelMapping.fit(pd.Series([0, 1, 1], name="y"), BINARY)
    np.testing.assert_array_equal(ints.encode(pd.Series(["1", " 0", "1.0"])), [1, 0, 1])  # read as text
    np.testing.assert_array_equal(ints.encode(pd.Series([1.0, 0.0])), [1, 0])
    with pytest.raises(DataError, match="not trained on: 2 \\(3 rows\\)") as err:
        ints.encode(pd.Series([0, 2, 2, 2]))
    assert "Known values" in str(err.value)
    with pytest.raises(DataError, match="no target value"):
        ints.encode(pd.Series([0, None]))

    multi = LabelMapping.fit(pd.Series(["c", "a", "b", "a"], name="fault"), MULTICLASS)
    assert multi.classes == ["a", "b", "c"] and multi.positive_class is None
    np.testing.assert_array_equal(multi.encode(["c", "a"]), [2, 0])
    with pytest.raises(DataError, match="out of range"):
        multi.decode([3])

    reg = LabelMapping.fit(pd.Series([1.5, 2.5, 3.0], name="kwh"), REGRESSION)
    out = reg.encode(pd.Series([1.5, 4.0]))
    assert out.dtype == np.float32 and list(out) == [1.5, 4.0]
    with pytest.raises(DataError, match="not a number"):
        reg.encode(pd.Series(["x"]))

    for mapping in (m, ints, multi, reg):
        assert LabelMapping.from_dict(json.loads(json.dumps(mapping.to_dict()))) == mapping
    with pytest.raises(TrainingError):
        LabelMapping.from_dict({"task": "magic"})


def test_check_target():
    with pytest.raises(TrainingError, match="no values"):
        check_target(pd.Series([None, None], name="y", dtype=object), BINARY)
    with pytest.raises(TrainingError, match="only one value") as err:
        check_target(pd.Series(["OK", "OK", None], name="quality"), BINARY)
    assert err.value.column == "quality"
    with pytest.raises(TrainingError, match="takes 3"):
        check_target(pd.Series(["a", "b", "c"]), BINARY)
    with pytest.raises(TrainingError, match="numeric target"):
        check_target(pd.Series(["a", "b", "c"]), REGRESSION)
    with pytest.raises(TrainingError, match="infinite"):
        check_target(pd.Series([1.0, np.inf, 2.0]), REGRESSION)
    check_target(pd.Series([1.0, 2.0, None]), REGRESSION)
    check_target(pd.Series(["a", "b", "c"]), MULTICLASS)


def test_class_weights(ai4i):
    y = np.array([0] * 90 + [1] * 10)
    w = class_weights(y, 2)
    assert w == {0: pytest.approx(100 / 180), 1: pytest.approx(5.0)}
    assert sum(w[c] * np.sum(y == c) for c in w) == pytest.approx(len(y))  # mean sample weight 1
    assert class_weights(np.array([0, 0, 2, 2]), 3)[1] == 1.0  # absent class

    assert suggest_class_weights(ai4i["Machine_failure"])  # 3.4 % failures
    assert not suggest_class_weights(pd.Series([0, 1] * 50))
    assert suggest_class_weights(pd.Series(["OK"] * 81 + ["NG"] * 19))
    assert not suggest_class_weights(pd.Series(["OK"] * 80 + ["NG"] * 20))
    assert not suggest_class_weights(pd.Series(np.linspace(0, 1, 100)))  # regression
    assert not suggest_class_weights(pd.Series([1, 2, 3] * 30), task=REGRESSION)
