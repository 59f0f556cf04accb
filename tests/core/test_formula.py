"""Derived-column formulas: parsing, checking, safe evaluation."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import DataError, MfgError
from mfg_desktop.core.formula import (
    DerivedColumn,
    FormulaError,
    apply_derived,
    evaluate,
    parse_derived,
    parse_derived_list,
)


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig")


def test_issue_examples_on_ai4i(ai4i):
    power = parse_derived('power = "Torque [Nm]" * "Rotational speed [rpm]" * 2 * pi / 60', ai4i.columns)
    d_t = parse_derived('dT = "Process temperature [K]" - "Air temperature [K]"', ai4i.columns)
    assert power.name == "power"
    assert power.columns == ("Torque [Nm]", "Rotational speed [rpm]")
    assert d_t.columns == ("Process temperature [K]", "Air temperature [K]")

    out = apply_derived(ai4i, [power, d_t])
    expected_power = ai4i["Torque [Nm]"] * ai4i["Rotational speed [rpm]"] * 2 * np.pi / 60
    np.testing.assert_allclose(out["power"].to_numpy(), expected_power.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        out["dT"].to_numpy(),
        (ai4i["Process temperature [K]"] - ai4i["Air temperature [K]"]).to_numpy(),
        rtol=1e-12,
    )
    assert out["power"].dtype == np.float64
    assert list(out.columns[-2:]) == ["power", "dT"]
    assert "power" not in ai4i.columns  # input frame untouched


def test_bare_names_quotes_and_chinese_names():
    df = pd.DataFrame({"temp": [1.0, 2.0], "温度": [10.0, 20.0], "a b": [3.0, 4.0]})
    d = parse_derived("x = temp + 温度 * 'a b'", df.columns)
    assert d.columns == ("temp", "温度", "a b")
    np.testing.assert_allclose(evaluate(d, df).to_numpy(), [31.0, 82.0])
    quoted_name = parse_derived('"new col" = abs(-temp)', df.columns)
    assert quoted_name.name == "new col"
    assert quoted_name.text == '"new col" = abs(-temp)'


def test_functions_constants_and_comparisons():
    df = pd.DataFrame({"a": [1.0, 4.0, -2.0, np.nan], "b": [2.0, 2.0, 3.0, 1.0]})
    cols = df.columns

    def ev(text):
        return evaluate(parse_derived(text, cols), df).to_numpy()

    np.testing.assert_allclose(ev("x = sqrt(abs(a))"), [1.0, 2.0, np.sqrt(2.0), np.nan])
    np.testing.assert_allclose(ev("x = min(a, b)"), [1.0, 2.0, -2.0, np.nan])
    np.testing.assert_allclose(ev("x = max(a, b)"), [2.0, 4.0, 3.0, np.nan])
    np.testing.assert_allclose(ev("x = clip(a, 0, 3)"), [1.0, 3.0, 0.0, np.nan])
    np.testing.assert_allclose(ev("x = a ** 2 % 3"), [1.0, 1.0, 1.0, np.nan])
    np.testing.assert_allclose(
        ev("x = log1p(b) - log(e) + exp(0) * cos(0) + sin(0)"), np.log1p([2.0, 2, 3, 1])
    )
    # comparisons give 1/0, and unknown (NaN) when a side is missing
    np.testing.assert_array_equal(ev("x = a > b"), [0.0, 1.0, 0.0, np.nan])
    np.testing.assert_array_equal(ev("x = 0 < a <= 1"), [1.0, 0.0, 0.0, np.nan])
    np.testing.assert_array_equal(ev("x = b == 2"), [1.0, 1.0, 0.0, 0.0])


def test_non_finite_results_become_nan():
    df = pd.DataFrame({"a": [1.0, 0.0, -1.0, 2.0], "b": [0.0, 0.0, 1.0, np.inf]})
    out = evaluate(parse_derived("r = a / b", df.columns), df)
    assert np.isnan(out.iloc[0]) and np.isnan(out.iloc[1])  # 1/0 = inf and 0/0 -> NaN
    assert out.iloc[2] == -1.0
    assert out.iloc[3] == 0.0
    assert np.isnan(evaluate(parse_derived("r = log(a)", df.columns), df).iloc[1])  # log 0 = -inf
    assert np.isnan(evaluate(parse_derived("r = sqrt(a)", df.columns), df).iloc[2])
    assert np.isnan(evaluate(parse_derived("r = exp(a * 1000)", df.columns), df).iloc[0])  # overflow
    assert np.isfinite(evaluate(parse_derived("r = a * 2", df.columns), df)).sum() == 4


def test_index_is_kept():
    df = pd.DataFrame({"a": [1.0, 2.0]}, index=[10, 20])
    out = evaluate(parse_derived("x = a + 1", df.columns), df)
    assert list(out.index) == [10, 20]
    assert out.name == "x"


def test_unknown_column_suggests_close_names(ai4i):
    with pytest.raises(FormulaError) as err:
        parse_derived('p = "Torque" * 2', ai4i.columns)
    assert err.value.column == "Torque"
    assert '"Torque [Nm]"' in str(err.value)
    with pytest.raises(FormulaError, match="Unknown column 'Tork'"):
        parse_derived("p = Tork * 2", ai4i.columns)
    with pytest.raises(FormulaError, match="character 5 of the formula"):
        parse_derived('p = 1 + "zzz"', ai4i.columns)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("x = a * 2 +", "not valid at its end"),
        ("x = a * (2", "never closed"),
        ("x = a b", "not valid near character 3 of the formula"),
        ('x = "a', "never closed"),
        ("x = ", "empty"),
        ("a + 1", "no '='"),
        (" = a + 1", "needs a name"),
    ],
)
def test_syntax_errors_say_what_is_wrong(text, fragment):
    with pytest.raises(FormulaError, match=fragment):
        parse_derived(text, ["a"])


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('echo pwned > pwned.txt')",
        '__import__("os").system("x")',
        "a.real",
        "a.__class__.__bases__",
        "(lambda: 1)()",
        "lambda: a",
        "a[0]",
        "[a for a in range(3)]",
        "open('x')",
        "eval('1')",
        "exec('1')",
        "getattr(a, 'x')",
        "__builtins__",
        "abs(x=a)",
        "abs(*a)",
        "a + b'x'",
        "'a''b'",
        "True",
        "a if a else 1",
        "a and 1",
        "(y := a)",
        "f'{a}'",
        "a // 2",
        "a & 1",
        "~a",
        "not a",
        "a in (1, 2)",
        "[1, 2]",
        "{1: 2}",
        "1j * a",
    ],
)
def test_forbidden_constructs_are_refused(expression, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd))
    with pytest.raises(FormulaError):
        parse_derived(f"x = {expression}", ["a", "b", "x2"])
    # Even a DerivedColumn built by hand (say, read from an altered file) is never run.
    df = pd.DataFrame({"a": [1.0], "b": [2.0]})
    with pytest.raises(FormulaError):
        evaluate(DerivedColumn("x", expression, ("a",)), df)
    with pytest.raises(FormulaError):
        DerivedColumn.from_dict({"name": "x", "expression": expression, "columns": ["a"]})
    assert calls == []
    assert not (tmp_path / "pwned.txt").exists()


def test_forbidden_messages_name_the_construct():
    with pytest.raises(FormulaError, match="attribute access"):
        parse_derived("x = a.real", ["a"])
    with pytest.raises(FormulaError, match="Calling open is not allowed"):
        parse_derived("x = open(a)", ["a"])
    with pytest.raises(FormulaError, match="lambda"):
        parse_derived("x = (lambda: 1)", ["a"])
    with pytest.raises(FormulaError, match=r"abs\(\) takes 1 argument, 2 given"):
        parse_derived("x = abs(a, 2)", ["a"])
    with pytest.raises(FormulaError, match="operator // is not allowed"):
        parse_derived("x = a // 2", ["a"])


def test_name_rules():
    with pytest.raises(FormulaError, match="already exists") as err:
        parse_derived("a = b * 2", ["a", "b"])
    assert isinstance(err.value, MfgError) and err.value.column == "a"
    with pytest.raises(FormulaError, match="uses no column"):
        parse_derived("c = 2 * pi", ["a"])
    with pytest.raises(FormulaError, match="reserved"):
        parse_derived("c = _mfgcol0_ + a", ["a"])


def test_huge_or_deep_formulas_are_refused_cleanly():
    with pytest.raises(FormulaError, match="longer than"):
        parse_derived("x = " + "a + " * 1000 + "a", ["a"])
    with pytest.raises(FormulaError):
        parse_derived("x = " + "(" * 300 + "a" + ")" * 300, ["a"])
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse_derived("x = " + "-" * 1990 + "a", ["a"])


def test_text_columns():
    df = pd.DataFrame({"kind": ["L", "M", "H"], "num_text": ["1.5", "oops", "3"]})
    with pytest.raises(FormulaError, match="holds text"):
        evaluate(parse_derived("x = kind * 2", df.columns), df)
    out = evaluate(parse_derived("x = num_text * 2", df.columns), df)
    np.testing.assert_array_equal(out.to_numpy(), [3.0, np.nan, 6.0])


def test_apply_derived_chains_replaces_and_reports_missing_columns():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    chain = parse_derived_list(["s = a + b", "t = s * 2"], df.columns)
    out = apply_derived(df, chain)
    np.testing.assert_array_equal(out["t"].to_numpy(), [8.0, 12.0])
    assert list(df.columns) == ["a", "b"]

    # A prediction file that already has a column of the derived name gets the computed values.
    stale = df.assign(s=[-1.0, -1.0])
    np.testing.assert_array_equal(apply_derived(stale, chain)["s"].to_numpy(), [4.0, 6.0])

    with pytest.raises(DataError, match="needs column 'b'") as err:
        apply_derived(df.drop(columns="b"), chain)
    assert err.value.column == "b"

    with pytest.raises(FormulaError, match="Unknown column 's'"):
        parse_derived("t = s * 2", df.columns)  # order matters: s is not known yet


def test_derived_column_round_trip():
    d = parse_derived('power = "Torque [Nm]" * rpm', ["Torque [Nm]", "rpm"])
    again = DerivedColumn.from_dict(d.to_dict())
    assert again == d
    with pytest.raises(FormulaError, match="incomplete"):
        DerivedColumn.from_dict({"name": "x"})
