"""Call detail records from the simulator: the other files unchanged, the planted patience
recovered from the ingested records (censored estimate), the queue's rules kept."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from touchpoint.capacity import mean_patience, patience_curve
from touchpoint.ingest import ingest
from touchpoint.simulate import CallRecordSettings, simulate
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow

PLANTED = CallRecordSettings(agents=1, patience_seconds=30.0)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("cdr_worlds")
    plain = simulate(root / "plain", customers=4000, months=1, seed=11)
    with_cdr = simulate(root / "cdr", customers=4000, months=1, seed=11, call_records=PLANTED)
    return plain, with_cdr


def test_other_files_are_byte_identical(worlds):
    plain, with_cdr = worlds
    assert set(with_cdr.files) == set(plain.files) | {"call_records"}
    for name, path in plain.files.items():
        assert with_cdr.files[name].read_bytes() == path.read_bytes(), name


def test_planted_patience_is_recovered_from_ingested_records(worlds):
    _, with_cdr = worlds
    con = connect(":memory:")
    [summary] = ingest(con, with_cdr.files["call_records"])
    assert (summary.entity, summary.n_quarantined) == ("call_records", 0)
    assert summary.n_loaded == with_cdr.n_rows["call_records"]
    truth = json.loads((with_cdr.out_dir / "truth" / "call_records.json").read_text())
    cdr = con.table("stg_call_records")
    frame = cdr.to_pandas()
    queued = frame[frame.queue_start.notna()]
    assert len(queued) == truth["n_queued"]
    hung_up = int((queued.outcome == "abandoned").sum())
    assert hung_up == truth["n_hung_up_waiting"] >= 30
    # One agent, first come first served: no two services overlap.
    served = frame[frame.outcome == "served"].sort_values("service_start")
    assert (served.service_start.to_numpy()[1:] >= served.service_end.to_numpy()[:-1]).all()
    # The exponential estimate's standard error is mean / sqrt(hang-ups).
    estimate = mean_patience(cdr)
    assert estimate == pytest.approx(PLANTED.patience_seconds, abs=3 * 30.0 / math.sqrt(hung_up))
    # Averaging only the waits of those who hung up understates it (the censoring matters).
    waits = (queued.queue_exit - queued.queue_start).dt.total_seconds()
    assert waits[queued.outcome == "abandoned"].mean() < estimate
    curve = patience_curve(cdr)
    at = curve[curve.seconds <= PLANTED.patience_seconds].iloc[-1]
    assert at.survival == pytest.approx(np.exp(-1), abs=0.08)
    con.disconnect()
