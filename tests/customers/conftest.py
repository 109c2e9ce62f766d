"""Fixtures of the customer tests: the tiny hand-built world of customers_samples.py."""

from __future__ import annotations

import ibis
import pytest
from customers_samples import tiny_world


@pytest.fixture
def tiny_tables() -> dict[str, ibis.Table]:
    return tiny_world()
