"""Customer tags (客户标签): rules over the customer 360, evaluated per month, checked against
outcomes, rated and discussed by staff.

A catalogue (YAML, ``catalogue.yaml`` by default) declares each tag: names and definition in
English and Chinese, a rule in a small safe expression language compiled to Ibis, who it
applies to, a marketing hint, owner and version. The pipeline step ``tags`` evaluates it on
``mart_customer_360`` (one row per customer × month) into ``mart_tag_membership``,
``mart_tag_validation`` and ``mart_tag_definitions``; the step ``tags_changes`` then counts
entries and exits into ``mart_tag_changes``.

>>> import ibis, datetime as dt
>>> from touchpoint.tags import catalogue_from_data, tag_membership
>>> cat = catalogue_from_data({"version": "t", "parameters": {"k": 2}, "tags": [{
...     "id": "sensitive", "name": {"en": "Sensitive", "zh": "敏感"},
...     "definition": {"en": "d", "zh": "d"}, "rule": "n_complaints_3m >= $k",
...     "owner": "me", "hint": {"channel": "agent",
...     "script": {"en": "s", "zh": "s"}, "timing": {"en": "t", "zh": "t"}}}]})
>>> c360 = ibis.memtable({"customer_id": ["a", "b"], "month": [dt.date(2024, 1, 1)] * 2,
...                       "n_complaints_3m": [3, 1]})
>>> tag_membership(c360, cat).to_pyarrow()["customer_id"].to_pylist()
['a']
"""

from touchpoint.capability import Step
from touchpoint.tags._build import (
    CAMPAIGN_RESPONSES,
    CHANGES_MART,
    DEFINITIONS_MART,
    MEMBERSHIP_MART,
    VALIDATION_MART,
    build,
    build_changes,
    current_catalogue,
    definitions,
)
from touchpoint.tags._catalogue import (
    CATALOGUE_ENV,
    DEFAULT_CATALOGUE_PATH,
    AppliesTo,
    Catalogue,
    CatalogueError,
    Hint,
    Tag,
    Text,
    catalogue_from_data,
    catalogue_problems,
    check_catalogue,
    load_catalogue,
    resolve_catalogue_path,
    resolve_versions,
)
from touchpoint.tags._evaluate import tag_changes, tag_flags, tag_membership
from touchpoint.tags._queries import (
    LISTED_LIFTS,
    TagDetail,
    TagList,
    catalogue_in_use,
    coverage_rows,
    current_names,
    customer_tags,
    customer_tags_from_rows,
    rule_schema,
    tag_detail,
    tag_list,
    validation_rows,
)
from touchpoint.tags._rules import (
    RuleProblem,
    RuleSyntaxError,
    check_rule,
    compile_rule,
    parameters_of,
    parse_rule,
    tokenize,
)
from touchpoint.tags._schema import CUSTOMER_360, customer_360_schema
from touchpoint.tags._settings import TagsSettings, settings_from_config
from touchpoint.tags._validation import (
    OUTCOMES,
    katz_interval,
    lift_counts,
    lift_table,
    outcomes,
    tag_validation,
)
from touchpoint.tags._wiki import (
    COMMENTS_SCHEMA,
    COMMENTS_TABLE,
    RATINGS_SCHEMA,
    RATINGS_TABLE,
    comment_record,
    rating_record,
    rating_summary,
    wiki_summary,
)

__all__ = [
    "LISTED_LIFTS",
    "TagDetail",
    "TagList",
    "catalogue_in_use",
    "customer_tags",
    "customer_tags_from_rows",
    "rule_schema",
    "tag_detail",
    "tag_list",
    "coverage_rows",
    "current_names",
    "validation_rows",
    "COMMENTS_SCHEMA",
    "COMMENTS_TABLE",
    "RATINGS_SCHEMA",
    "RATINGS_TABLE",
    "comment_record",
    "rating_record",
    "rating_summary",
    "wiki_summary",
    "CAMPAIGN_RESPONSES",
    "CATALOGUE_ENV",
    "CHANGES_MART",
    "CUSTOMER_360",
    "DEFAULT_CATALOGUE_PATH",
    "DEFINITIONS_MART",
    "MEMBERSHIP_MART",
    "OUTCOMES",
    "STEPS",
    "VALIDATION_MART",
    "AppliesTo",
    "Catalogue",
    "CatalogueError",
    "Hint",
    "RuleProblem",
    "RuleSyntaxError",
    "Tag",
    "TagsSettings",
    "Text",
    "build",
    "build_changes",
    "catalogue_from_data",
    "catalogue_problems",
    "check_catalogue",
    "check_rule",
    "compile_rule",
    "current_catalogue",
    "customer_360_schema",
    "definitions",
    "katz_interval",
    "lift_counts",
    "lift_table",
    "load_catalogue",
    "outcomes",
    "parameters_of",
    "parse_rule",
    "resolve_catalogue_path",
    "resolve_versions",
    "settings_from_config",
    "tag_changes",
    "tag_flags",
    "tag_membership",
    "tag_validation",
    "tokenize",
]

#: The pipeline steps of the tag engine (``touchpoint.pipeline`` orders and runs them). The
#: ``tags`` step reads the definitions its previous run wrote, to keep every version's row.
STEPS = (
    Step(
        "tags",
        inputs=(CUSTOMER_360,),
        optional=(CAMPAIGN_RESPONSES, DEFINITIONS_MART),
        outputs=(MEMBERSHIP_MART, VALIDATION_MART, DEFINITIONS_MART),
        build=build,
        description="tag catalogue on the customer 360: monthly membership, lift validation",
    ),
    Step(
        "tags_changes",
        inputs=(MEMBERSHIP_MART, CUSTOMER_360, DEFINITIONS_MART),
        outputs=(CHANGES_MART,),
        build=build_changes,
        description="members, entries and exits per tag and month",
    ),
)
