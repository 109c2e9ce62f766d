"""docs/data-contract.md is generated from the contract and the default configuration."""

from touchpoint.contract import ENTITIES, quarantine_reasons
from touchpoint.contract.doc import DOCUMENT, render_data_contract


def test_committed_document_equals_the_generated_text():
    assert DOCUMENT.read_text(encoding="utf-8") == render_data_contract(), (
        "docs/data-contract.md is out of date: run `python -m touchpoint.contract.doc`"
    )


def test_document_names_every_entity_column_and_reason():
    text = render_data_contract()
    for entity in ENTITIES.values():
        assert f"### {entity.name}\n" in text
        for column in entity.columns:
            assert f"| `{column.name}` |" in text
    for reason in quarantine_reasons():
        assert f"| `{reason}` |" in text
    assert "| `agent` | Hotline agent | 热线人工 |" in text
