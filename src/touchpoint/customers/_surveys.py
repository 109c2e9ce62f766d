"""Survey replies as customers type them, classified by the configured ordered rules."""

from __future__ import annotations

import ibis

from touchpoint.customers._months import month_of
from touchpoint.customers._settings import CustomersSettings


def normalise_reply(text: ibis.Value) -> ibis.Value:
    """The reply with every blank removed and letters lower-cased (what the rules see)."""
    return text.lower().re_replace(r"\s+", "")


def classify_reply(text: ibis.Value, settings: CustomersSettings) -> ibis.Value:
    """The class of a raw reply: the class of the first rule whose pattern matches, else null.

    A blank or missing reply, or one no rule matches, gives null (replied but unclassified).

    Examples
    --------
    >>> import ibis
    >>> from touchpoint.customers import load_customers_settings
    >>> t = ibis.memtable({"reply": ["1", "不满意！", "一般般", "👍", "", "hm"]})
    >>> s = load_customers_settings()
    >>> t.select(c=classify_reply(t.reply, s)).to_pyarrow()["c"].to_pylist()
    ['satisfied', 'dissatisfied', 'neutral', 'satisfied', None, None]
    """
    norm = normalise_reply(text)
    cases = [(norm.re_search(rule.pattern), rule.klass) for rule in settings.survey_rules]
    if not cases:
        return ibis.null("string")
    return ibis.cases(*cases, else_=ibis.null("string"))


def class_score(klass: ibis.Value, settings: CustomersSettings) -> ibis.Value:
    """The configured score in [0, 1] of a reply class (null for null)."""
    cases = [(klass == name, float(score)) for name, score in settings.survey_classes.items()]
    return ibis.cases(*cases, else_=ibis.null("float64")).cast("float64")


def classified_surveys(surveys: ibis.Table, settings: CustomersSettings) -> ibis.Table:
    """Each survey with its reply's class and score.

    Returns
    -------
    ibis.Table
        One row per survey sent: ``survey_id, customer_id, month`` (of ``sent_at``),
        ``has_reply`` (``replied_at`` present, even with a blank text), ``reply_class``,
        ``reply_score``.
    """
    klass = ibis.ifelse(
        surveys.replied_at.notnull(),
        classify_reply(surveys.reply_text, settings),
        ibis.null("string"),
    )
    return surveys.select(
        "survey_id",
        "customer_id",
        month=month_of(surveys.sent_at),
        has_reply=surveys.replied_at.notnull(),
        reply_class=klass,
        reply_score=class_score(klass, settings),
    )


def surveys_monthly(surveys: ibis.Table, settings: CustomersSettings) -> ibis.Table:
    """Survey replies per customer and month (of sending).

    Returns
    -------
    ibis.Table
        One row per customer × month with a survey: ``n_surveys_replied,
        n_surveys_dissatisfied, n_surveys_classified, score_sum``.
    """
    c = classified_surveys(surveys, settings)
    return c.group_by("customer_id", "month").agg(
        n_surveys_replied=c.has_reply.cast("int64").sum(),
        n_surveys_dissatisfied=(c.reply_class == settings.dissatisfied_class)
        .fill_null(False)
        .cast("int64")
        .sum(),
        n_surveys_classified=c.reply_class.notnull().cast("int64").sum(),
        score_sum=c.reply_score.sum(),
    )
