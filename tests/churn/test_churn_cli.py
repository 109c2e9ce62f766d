"""``touchpoint churn evaluate`` and ``touchpoint retention fit`` on files, good and bad."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from touchpoint.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    """The command's exit code, standard output and standard error."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    """An analyst's extract: 3,000 customers, churn planted on complaints (up), tenure (down)
    and plan ``c``; a gap in tenure, an id column, a column of pure noise."""
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "complaints": rng.poisson(0.4, n),
            "tenure_months": rng.integers(1, 80, n).astype(float),
            "plan": rng.choice(["a", "b", "c"], n),
            "noise": rng.normal(size=n),
        }
    )
    logit = -2.5 + 1.2 * frame.complaints - 0.03 * frame.tenure_months + 1.0 * (frame.plan == "c")
    frame["left"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame.loc[rng.random(n) < 0.05, "tenure_months"] = np.nan
    path = tmp_path_factory.mktemp("extract") / "extract.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_evaluate_finds_the_planted_drivers(capsys, extract):
    path, frame = extract
    code, out, err = run(capsys, "churn", "evaluate", str(path), "--target", "left", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["positive"] == "yes" and result["n_rows"] == 3000
    assert result["n_positive"] == int((frame.left == "yes").sum())
    assert result["ignored_columns"] == {
        "customer_id": "identifier (a different value on every row)"
    }
    auc = result["summary"]["lightgbm"]["roc_auc"]
    # The planted logit alone reaches about 0.78 here; a coin 0.5.
    assert auc["mean"] > 0.7 and 0 < auc["std"] < 0.05
    assert len(result["folds"]) == 5
    drivers = {d["feature"]: d for d in result["drivers"]}
    top3 = [d["feature"] for d in result["drivers"][:3]]
    assert set(top3) == {"complaints", "tenure_months", "plan"}
    assert drivers["complaints"]["direction"] > 0.5
    assert drivers["tenure_months"]["direction"] < -0.5
    assert drivers["plan"]["top_value"] == "c"
    assert drivers["noise"]["mean_abs_contribution"] < drivers["plan"]["mean_abs_contribution"] / 3


def test_evaluate_prints_a_table(capsys, extract):
    path, _ = extract
    code, out, _ = run(
        capsys, "churn", "evaluate", str(path), "--target", "left", "--positive", "yes"
    )
    assert code == 0
    assert "ROC AUC" in out and "complaints" in out and "set aside: customer_id" in out


def _bad(tmp_path, frame: pd.DataFrame, name="bad.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


BASE = pd.DataFrame(
    {"a": np.arange(100) % 7, "b": np.arange(100) % 3, "t": ["yes"] * 20 + ["no"] * 80}
)


@pytest.mark.parametrize(
    "frame, args, words",
    [
        (BASE, ["--target", "churn"], "no column 'churn' for --target"),
        (BASE.assign(t="yes"), ["--target", "t"], "target column 't' has one class only"),
        (
            BASE.assign(t=["x", "y", "z", "w"] * 25),
            ["--target", "t"],
            "target column 't' has 4 values",
        ),
        (BASE.assign(k=1), ["--target", "t"], "column 'k' holds one value only"),
        (
            BASE.assign(a=BASE.a.astype(str).where(BASE.index != 17, "abc")),
            ["--target", "t"],
            "column 'a' is numeric but row 17 holds 'abc'",
        ),
        (BASE.head(30), ["--target", "t"], "only 30 rows"),
        (BASE, ["--target", "t", "--positive", "maybe"], "--positive 'maybe' is not a value"),
        (
            BASE.assign(t=["p"] * 20 + ["q"] * 80),
            ["--target", "t"],
            "say which one is churn with --positive",
        ),
        (BASE.assign(t=["yes"] * 3 + ["no"] * 97), ["--target", "t"], "needs at least 5 of each"),
    ],
    ids=[
        "no-column",
        "one-class",
        "four-classes",
        "constant",
        "text-in-numbers",
        "too-few-rows",
        "unknown-positive",
        "ambiguous-positive",
        "too-few-churners",
    ],
)
def test_bad_input_is_one_line_naming_the_column(capsys, tmp_path, frame, args, words):
    path = _bad(tmp_path, frame)
    code, out, err = run(capsys, "churn", "evaluate", str(path), *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert str(path) in err.replace("\n", "") and words in " ".join(err.split())


def test_missing_file_and_wrong_kind(capsys, tmp_path):
    code, _, err = run(capsys, "churn", "evaluate", str(tmp_path / "none.csv"), "--target", "t")
    assert code == 2 and "no such file" in err
    (tmp_path / "x.xlsx").write_text("x")
    code, _, err = run(capsys, "churn", "evaluate", str(tmp_path / "x.xlsx"), "--target", "t")
    assert code == 2 and "expected a .csv or .parquet file" in err


def test_retention_fit_reproduces_the_paper(capsys, tmp_path):
    path = tmp_path / "regular.parquet"
    # Shuffled rows and other column names: the periods order them.
    pd.DataFrame(
        {"year": [3, 0, 1, 2, 4, 5, 6, 7], "alive": [382, 1000, 631, 468, 326, 289, 262, 241]}
    ).to_parquet(path)
    code, out, err = run(
        capsys,
        "retention",
        "fit",
        str(path),
        "--period",
        "year",
        "--active",
        "alive",
        "--horizon",
        "12",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert round(result["alpha"], 3) == 0.704 and round(result["beta"], 3) == 1.182
    assert result["alpha_interval"][0] < 0.704 < result["alpha_interval"][1]
    assert [r["observed_active"] for r in result["projection"][:3]] == [1000, 631, 468]
    assert round(result["projection"][12]["survival"] * 100, 1) == 17.0
    code, out, _ = run(
        capsys,
        "retention",
        "fit",
        str(path),
        "--period",
        "year",
        "--active",
        "alive",
        "--lang",
        "zh",
    )
    assert code == 0 and "移位贝塔几何" in out and "0.704" in out


@pytest.mark.parametrize(
    "rows, words",
    [
        ({"period": [0, 1, 2], "active": [100, 120, 90]}, "column 'active' row 1: 120 customers"),
        ({"period": [0, 1, 3], "active": [100, 90, 80]}, "consecutive whole numbers"),
        (
            {"period": [0, 1, 2], "active": [100, "x", 80]},
            "column 'active' row 1: 'x' is not a number",
        ),
        ({"when": [0, 1, 2], "active": [100, 90, 80]}, "no column 'period'"),
    ],
)
def test_retention_fit_bad_input(capsys, tmp_path, rows, words):
    path = tmp_path / "cohort.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code, _, err = run(capsys, "retention", "fit", str(path))
    assert code == 2
    assert len([line for line in err.splitlines() if line.strip()]) == 1
    assert words in " ".join(err.split())
