"""The tag marts equal the default catalogue transcribed by hand into DuckDB SQL and pandas."""

from __future__ import annotations

import pandas as pd
import pytest
from benchmarks.tags_reference import pandas_tags, sql_statements

from touchpoint.tags import (
    lift_counts,
    load_catalogue,
    outcomes,
    tag_changes,
    tag_flags,
    tag_membership,
)
from touchpoint.warehouse import connect


@pytest.fixture(scope="module")
def three_ways(realistic_360):
    con = connect(":memory:")
    con.create_table("mart_customer_360", realistic_360)
    for statement in sql_statements():
        con.raw_sql(statement)
    c360 = con.table("mart_customer_360")
    cat = load_catalogue()
    membership = tag_membership(c360, cat)
    mine = {
        "membership": membership.to_pandas(),
        "changes": tag_changes(membership, c360, cat).to_pandas(),
        "lift_counts": lift_counts(
            tag_flags(outcomes(c360), cat, keep=["churn_next_month", "complaint_next_month"]), cat
        ).to_pandas(),
    }
    sql = {
        "membership": con.table("sql_tag_membership").to_pandas(),
        "changes": con.table("sql_tag_changes").to_pandas(),
        "lift_counts": con.table("sql_tag_lift_counts").to_pandas(),
    }
    frame = realistic_360.to_pandas(date_as_object=False)
    return mine, sql, pandas_tags(frame)


def _norm(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    out = frame[keys + columns].copy()
    for c in out.columns:
        if c in ("month", "since"):
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
        elif c not in ("customer_id", "tag_id", "outcome"):
            out[c] = out[c].astype("Float64")
    return out.sort_values(keys).reset_index(drop=True)


@pytest.mark.parametrize(
    ("name", "keys", "columns"),
    [
        ("membership", ["customer_id", "tag_id", "month"], ["version", "since"]),
        ("changes", ["tag_id", "month"], ["n_members", "n_entered", "n_left"]),
        (
            "lift_counts",
            ["tag_id", "outcome"],
            [
                "n_members",
                "n_member_events",
                "n_nonmembers",
                "n_nonmember_events",
                *(
                    f"{side}_{name}"
                    for side in ("member", "nonmember")
                    for name in ("n_customers", "events_sq", "events_x_months", "months_sq")
                ),
            ],
        ),
    ],
)
def test_touchpoint_sql_and_pandas_agree(three_ways, name, keys, columns):
    mine, sql, pandas = (_norm(w[name], keys, columns) for w in three_ways)
    assert len(mine) > 0
    pd.testing.assert_frame_equal(mine, sql)
    pd.testing.assert_frame_equal(mine, pandas)
