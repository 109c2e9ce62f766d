"""The customer card's tags section on the simulated world: the card lists exactly the
customer's tags of the latest month, with the catalogue's marketing hints."""

from __future__ import annotations

from touchpoint.cli._tag_card import TAGS_CARD_SECTION
from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardContext
from touchpoint.config import load_config
from touchpoint.tags import MEMBERSHIP_MART, load_catalogue


def test_card_lists_the_latest_tags_with_their_hints(ingested_world):
    con = ingested_world[0]
    membership = con.table(MEMBERSHIP_MART).to_pandas()
    latest = membership[membership.month == membership.month.max()]
    customer = latest.groupby("customer_id").size().idxmax()  # the most-tagged customer
    expected = sorted(latest[latest.customer_id == customer].tag_id)
    assert len(expected) >= 2
    for lang in ("en", "zh"):
        ctx = CardContext(con=con, config=load_config(), customer_id=customer, lang=lang)
        rows = TAGS_CARD_SECTION.collect(ctx)
        assert [r["tag_id"] for r in rows] == expected
        hints = {t.id: t.hint for t in load_catalogue().tags}
        for r in rows:
            assert r["script"] == getattr(hints[r["tag_id"]].script, lang)
            assert r["channel"] == hints[r["tag_id"]].channel
    assert TAGS_CARD_SECTION in CARD_SECTIONS  # registered by the tags command module


def test_card_without_tags_is_left_out(tiny_warehouse):
    ctx = CardContext(con=tiny_warehouse, config=load_config(), customer_id="u1")
    assert TAGS_CARD_SECTION.collect(ctx) is None
