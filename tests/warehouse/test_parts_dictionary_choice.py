"""Which text columns a part writes with a Parquet dictionary: values that repeat do, ids do not."""

from __future__ import annotations

import pyarrow as pa
import pytest

from touchpoint.warehouse.parts import DICTIONARY_MAX_SHARE, PREFIX_ROWS, _dictionary_pays

N = 3 * PREFIX_ROWS


def _pays(values: pa.Array | pa.ChunkedArray) -> bool:
    column = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    return _dictionary_pays(pa.field("x", column.type), column)


def test_ids_are_written_plain_and_repeating_text_gets_a_dictionary():
    assert not _pays(pa.array([f"id{i}" for i in range(N)]))
    assert _pays(pa.array([f"v{i % 50}" for i in range(N)]))


@pytest.mark.parametrize("share", [DICTIONARY_MAX_SHARE / 2, DICTIONARY_MAX_SHARE * 2])
def test_the_share_of_distinct_values_decides(share):
    # Values repeat only after the prefix has seen each once: the prefix must not decide.
    distinct = int(N * share)
    values = pa.array([f"c{i % distinct}" for i in range(N)])
    assert _pays(values) == (share <= DICTIONARY_MAX_SHARE)


def test_a_dictionary_column_is_judged_on_the_values_its_rows_use():
    # One chunk's dictionary holds N values, the rows use 3: a dictionary pays.
    dictionary = pa.array([f"d{i}" for i in range(N)])
    rows = pa.DictionaryArray.from_arrays(
        pa.array([i % 3 for i in range(N)], pa.int32()), dictionary
    )
    assert _pays(pa.chunked_array([rows.slice(0, N // 2), rows.slice(N // 2)]))
    every = pa.DictionaryArray.from_arrays(pa.array(range(N), pa.int32()), dictionary)
    assert not _pays(every)
