"""The churn endpoints render the churn capability's query functions over hand-built marts:
paged in rank order, reasons named in the asked language, filtered by first reason, and
refused where the role matrix or the data say so."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from platform_helpers import make_app

from touchpoint import churn
from touchpoint.config import load_config
from touchpoint.warehouse import connect

REASONS = ("product_quality", "competitors", "service_level")
N = 40


def _bearer(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def churn_app(tmp_path):
    """40 scored customers (c00 most at risk), first reasons cycling over three reasons of
    the default taxonomy, and a two-model evaluation."""
    scores = pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(N)],
            "churn_probability": [round(0.9 - i * 0.02, 2) for i in range(N)],
            "risk_rank": list(range(1, N + 1)),
            "risk_decile": [1 + i // 4 for i in range(N)],
            "reason_1": [REASONS[i % 3] for i in range(N)],
            "reason_2": ["competitors" if i % 3 == 0 else None for i in range(N)],
            "reason_3": pd.Series([None] * N, dtype="string"),
        }
    )
    evaluation = pd.DataFrame(
        {
            "model": ["lightgbm", "logistic"],
            "test_month": [dt.date(2026, 3, 1)] * 2,
            "n": [1000, 1000],
            "n_churners": [30, 30],
            "roc_auc": [0.81, 0.74],
            "pr_auc": [0.2, 0.12],
            "top_decile_lift": [3.9, 2.8],
            "calibration_error": [0.004, 0.006],
        }
    )
    con = connect(tmp_path / "w.duckdb")
    con.create_table(churn.SCORES_MART, scores)
    con.create_table(churn.EVALUATION_MART, evaluation)
    con.disconnect()
    return make_app(tmp_path / "w.duckdb")


def test_evaluation_and_reasons_in_chinese(churn_app):
    app, tokens = churn_app
    client = TestClient(app)
    got = client.get("/api/v1/churn/evaluation", headers=_bearer(tokens, "viewer")).json()
    assert [(r["model"], r["roc_auc"]) for r in got["items"]] == [
        ("lightgbm", 0.81),
        ("logistic", 0.74),
    ]
    got = client.get("/api/v1/churn/reasons?lang=zh", headers=_bearer(tokens, "viewer")).json()
    settings = churn.churn_settings_from_config(load_config())
    # 40 customers over three reasons in turn: 14, 13, 13.
    assert [(r["reason"], r["n"]) for r in got["items"]] == [
        ("product_quality", 14),
        ("competitors", 13),
        ("service_level", 13),
    ]
    assert got["items"][0]["name"] == settings.reasons["product_quality"].name_zh


def test_risks_are_paged_in_rank_order_and_filtered_by_reason(churn_app):
    app, tokens = churn_app
    client = TestClient(app)
    page = client.get(
        "/api/v1/churn/risks?limit=20&offset=10", headers=_bearer(tokens, "analyst")
    ).json()
    assert [r["customer_id"] for r in page["items"]] == [f"c{i:02d}" for i in range(10, 30)]
    assert [r["risk_rank"] for r in page["items"]] == list(range(11, 31))
    settings = churn.churn_settings_from_config(load_config())
    got = client.get(
        "/api/v1/churn/risks?reason=competitors&limit=5", headers=_bearer(tokens, "analyst")
    ).json()
    assert [r["customer_id"] for r in got["items"]] == ["c01", "c04", "c07", "c10", "c13"]
    name = settings.reasons["competitors"].name_en
    assert all(r["reasons"].startswith(name) for r in got["items"])


def test_risks_refuse_an_unknown_reason_and_the_agent(churn_app):
    app, tokens = churn_app
    client = TestClient(app)
    unknown = client.get("/api/v1/churn/risks?reason=nope", headers=_bearer(tokens, "analyst"))
    assert unknown.status_code == 422 and "nope" in unknown.json()["detail"]
    for role in ("agent", "viewer"):  # a list of customers: never theirs
        assert client.get("/api/v1/churn/risks", headers=_bearer(tokens, role)).status_code == 403


def test_before_any_scores_each_says_so(empty_app):
    app, tokens = empty_app
    client = TestClient(app)
    for path in ("/api/v1/churn/evaluation", "/api/v1/churn/reasons", "/api/v1/churn/risks"):
        response = client.get(path, headers=_bearer(tokens, "admin"))
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_risk_list_exports_as_csv_audited(churn_app):
    app, tokens = churn_app
    client = TestClient(app)
    response = client.get(
        "/api/v1/exports/churn_risks?format=csv", headers=_bearer(tokens, "analyst")
    )
    assert response.status_code == 200, response.text
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("risk_rank,customer_id") and len(lines) == 1 + N
    assert lines[1].startswith("1,c00,")
    entries, _ = app.state.platform.store.audit_rows(limit=5)
    assert any(e["target"] == "churn_risks.csv" and e["n_rows"] == N for e in entries)
    refused = client.get("/api/v1/exports/churn_risks", headers=_bearer(tokens, "agent"))
    assert refused.status_code == 403
