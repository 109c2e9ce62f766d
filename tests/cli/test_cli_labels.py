"""Every text a person reads comes from one place, touchpoint.labels (en and zh)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from touchpoint.labels import LANGUAGES, load_messages

SRC = Path(__file__).resolve().parents[2] / "src" / "touchpoint"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("folder", ["cli", "report/sections"])
def test_no_renderer_keeps_its_own_translations(folder):
    # A Chinese character in a renderer's code means a translation table outside the locales.
    found = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted((SRC / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CHINESE.search(line)
    ]
    assert found == []


def test_the_terminal_texts_exist_in_both_languages():
    messages = load_messages()
    for prefix in ("channels.term_", "ivr.term_", "tags.term_", "customers.card_"):
        keys = {lang: {k for k in messages[lang] if k.startswith(prefix)} for lang in LANGUAGES}
        assert keys["en"] and keys["en"] == keys["zh"], prefix
    assert messages["zh"]["customers.card_value_tier"] == "客户等级"
    assert messages["en"]["channels.term_customer_share"] == "Reach"
