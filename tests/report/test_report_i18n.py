import pytest
import yaml

from touchpoint.report.i18n import LOCALES_DIR, format_money, format_number, format_percent


@pytest.mark.parametrize("path", sorted(LOCALES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_locale_file_has_the_same_keys_in_both_languages(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data) == {"en", "zh"}
    assert set(data["en"]) == set(data["zh"])
    # A Chinese text that equals the English one was most likely left untranslated.
    same = [
        k
        for k in data["en"]
        if data["en"][k] == data["zh"][k] and any(c.isalpha() for c in str(data["en"][k]))
    ]
    assert same == []


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (1234567, "en", "1,234,567"),
        (1234567, "zh", "123.46万"),
        (150_000_000, "zh", "1.50亿"),
        (9999, "zh", "9,999"),
        (None, "en", "–"),
    ],
)
def test_number_formats(value, lang, expected):
    assert format_number(value, lang) == expected


def test_percent_and_money():
    assert format_percent(0.7903, "en") == "79.0%"
    assert format_money(0.77, "en") == "¥0.77"
    assert format_money(28_050_000 * 0.018, "zh") == "¥50.49万"
