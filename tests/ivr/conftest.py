"""Fixtures of the IVR tests."""

import pytest
from ivr_samples import LOST_CALL, T0, World


@pytest.fixture
def lost_world() -> World:
    """One lost caller (see ``ivr_samples.LOST_CALL``)."""
    world = World()
    world.call("c1", "u1", T0, LOST_CALL)
    return world
