"""What an analytics capability declares: its pipeline steps and the contracts of its marts.

A capability (``touchpoint.channels``, ``touchpoint.ivr``, ...) lists its steps as ``STEPS``
in its package ``__init__.py`` and describes the marts they write in ``marts.yaml`` beside it;
``touchpoint.pipeline`` finds both (see its docstring for the whole recipe). This package sits
below the capabilities, so each can import :class:`Step` without importing the pipeline.

>>> from touchpoint.capability import Step
>>> Step("n", inputs=("stg_contacts",), outputs=("mart_n",), build=lambda t, c: {}).outputs
('mart_n',)
"""

from touchpoint.capability._marts import (
    MARTS_FILE,
    ColumnContract,
    MartContract,
    VocabularyValues,
    load_mart_contracts,
)
from touchpoint.capability._step import BuildFunction, Step

__all__ = [
    "MARTS_FILE",
    "BuildFunction",
    "ColumnContract",
    "MartContract",
    "Step",
    "VocabularyValues",
    "load_mart_contracts",
]
