"""``touchpoint tags``: list, show and check tags; rate and comment on them (the tag wiki)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from touchpoint.cli._tag_card import TAGS_CARD_SECTION
from touchpoint.cli._tag_wiki import add_comment, add_rating
from touchpoint.cli.app import (
    ConfigOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
    err_console,
)
from touchpoint.cli.common import open_warehouse, said
from touchpoint.cli.customer_cmd import CARD_SECTIONS
from touchpoint.config import Config, load_config
from touchpoint.labels import text, translate
from touchpoint.tags import (
    LISTED_LIFTS,
    Catalogue,
    CatalogueError,
    Tag,
    catalogue_in_use,
    catalogue_problems,
    load_catalogue,
    parameters_of,
    parse_rule,
    rating_summary,
    resolve_catalogue_path,
    rule_schema,
    tag_detail,
    tag_list,
)

tags_app = typer.Typer(
    help="Customer tags: list, show, check a catalogue; rate and comment (the tag wiki).",
    no_args_is_help=True,
)
app.add_typer(tags_app, name="tags")

TagsOption = Annotated[
    Path | None,
    typer.Option(
        "--tags",
        "-t",
        help="Tag catalogue YAML [default: $TOUCHPOINT_TAGS, else built-in].",
        show_default=False,
    ),
]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", help="Tag version [default: the catalogue's current one].", min=1),
]


def _t(lang: str, key: str, **values: Any) -> str:
    return text(f"tags.term_{key}", lang, **values)


@tags_app.command("list")
def list_tags(
    tags_file: TagsOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    as_json: JsonOption = False,
) -> None:
    """List the catalogue's tags with their current version, members and rating."""
    cfg = load_config(config)
    with open_warehouse(warehouse, optional=True) as con:
        listed = tag_list(con, cfg, lang, tags_file)
    if as_json:
        print(json.dumps(listed.to_dict(), ensure_ascii=False))
        return
    records = listed.tags
    table = Table(title=f"{resolve_catalogue_path(tags_file).name} {listed.catalogue}")
    lift_columns = [f"{prefix}_lift" for prefix in LISTED_LIFTS]
    for key in ("id", "name", "category", "version", "members", *lift_columns, "rating"):
        table.add_column(
            _t(lang, key), justify="right" if key in ("version", "members") else "left"
        )
    for r in records:
        members = r["n_members_last_month"]
        table.add_row(
            r["tag_id"],
            r["name"],
            r["category"],
            str(r["version"]),
            "–" if members is None else f"{members:,}",
            *(_lift_cell(r, prefix) for prefix in LISTED_LIFTS),
            r["rating"],
        )
    console.print(table)
    if any(_is_corrected(r, prefix) for r in records for prefix in LISTED_LIFTS):
        console.print(_t(lang, "corrected_note"))


def _is_corrected(r: dict[str, Any], prefix: str) -> bool:
    return r[f"{prefix}_lift"] is not None and r[f"{prefix}_lift_corrected"]


def _lift_cell(r: dict[str, Any], prefix: str) -> str:
    if r[f"{prefix}_lift"] is None:
        return "–"
    interval = f"[{r[f'{prefix}_lift_low']:.2f}–{r[f'{prefix}_lift_high']:.2f}]"
    if _is_corrected(r, prefix):
        raw = r[f"{prefix}_lift_raw"]
        return f"{'∞' if raw is None else f'{raw:.2f}'}* {interval}"
    return f"{r[f'{prefix}_lift']:.2f} {interval}"


@tags_app.command()
def show(
    tag_id: Annotated[str, typer.Argument(help="The tag id, e.g. sensitive_customer.")],
    tags_file: TagsOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    as_json: JsonOption = False,
) -> None:
    """Everything about one tag: definition, rule, hint, members over time, lifts, ratings, comments."""
    cfg = load_config(config)
    with open_warehouse(warehouse, optional=True) as con:
        detail = tag_detail(con, cfg, tag_id, tags_file)
    if as_json:
        print(json.dumps(detail.to_dict(), ensure_ascii=False, default=str))
        return
    tag, ratings, comments = detail.tag, detail.ratings, detail.comments
    problems, schema_name = detail.problems, detail.schema_name
    catalogue, changes, validation = detail.catalogue, detail.changes, detail.validation
    _print_tag(tag, catalogue, cfg, lang, problems, schema_name)
    _print_history(changes, tag, lang)
    _print_validation(validation, lang)
    console.print(f"\n[bold]{_t(lang, 'ratings')}[/]")
    versions = sorted({r["version"] for r in ratings} | {tag.version}, reverse=True)
    for version in versions:
        console.print(f"  v{version}: {rating_summary(ratings, version)}", highlight=False)
    console.print(f"\n[bold]{_t(lang, 'comments')}[/]")
    if not comments:
        console.print(f"  {_t(lang, 'none')}")
    for r in comments:
        console.print(
            f"  [{r['commented_at']:%Y-%m-%d %H:%M}] v{r['version']} {r['author']}: {r['comment']}",
            highlight=False,
            markup=False,
        )


def _print_tag(
    tag: Tag, catalogue: Catalogue, cfg: Config, lang: str, problems: list[str], schema_name: str
) -> None:
    console.print(f"[bold]{tag.name.get(lang)}[/] ({tag.id}, v{tag.version}, {tag.category})")
    trees = [parse_rule(t) for t in (tag.rule, tag.applies_to.as_rule()) if t and not problems]
    used = sorted({p for tree in trees for p in parameters_of(tree) if p in catalogue.parameters})
    try:
        channel = cfg.label("channel", tag.hint.channel, lang)
    except KeyError:
        channel = tag.hint.channel
    lines = [
        (_t(lang, "definition"), tag.definition.get(lang)),
        (_t(lang, "rule"), tag.rule),
        *(
            [(_t(lang, "parameters"), ", ".join(f"${p} = {catalogue.parameters[p]}" for p in used))]
            if used
            else []
        ),
        (_t(lang, "applies_to"), tag.applies_to.as_rule() or _t(lang, "everyone")),
        (_t(lang, "script"), tag.hint.script.get(lang)),
        (_t(lang, "timing"), tag.hint.timing.get(lang)),
        (_t(lang, "channel"), channel),
        (_t(lang, "owner"), tag.owner),
        (
            _t(lang, "validity"),
            "; ".join(problems) if problems else _t(lang, "valid", schema=schema_name),
        ),
    ]
    for label, value in lines:
        console.print(f"  {label}: {value}", highlight=False, markup=False)


def _print_history(changes: list[dict[str, Any]], tag: Tag, lang: str) -> None:
    current = [r for r in changes if r["version"] == tag.version]
    if not current:
        console.print(f"\n{_t(lang, 'no_history')}")
        return
    table = Table(title=_t(lang, "members_over_time"))
    for key in ("month", "n_members", "entered", "left"):
        table.add_column(_t(lang, key), justify="right")
    for r in current:
        table.add_row(
            f"{r['month']:%Y-%m}",
            f"{r['n_members']:,}",
            "–" if r["n_entered"] is None else f"{r['n_entered']:,}",
            "–" if r["n_left"] is None else f"{r['n_left']:,}",
        )
    console.print(table)


def _print_validation(rows: list[dict[str, Any]], lang: str) -> None:
    if not rows:
        return
    table = Table(title=_t(lang, "lift"))
    level = f"{rows[0]['confidence']:.0%}"
    for key in ("outcome", "lift", "ci", "discriminates"):
        table.add_column(_t(lang, key, level=level) if key == "ci" else _t(lang, key))
    for r in rows:
        if r["lift"] is None:
            lift = ci = "–"
        else:
            lift, ci = f"{r['lift']:.2f}", f"{r['lift_low']:.2f} – {r['lift_high']:.2f}"
        flag = {True: "✓", False: "✗", None: "–"}[r["is_discriminating"]]
        table.add_row(_outcome(r["outcome"], lang), lift, ci, flag)
    console.print(table)


def _outcome(outcome: str, lang: str) -> str:
    try:
        return translate(f"tags.outcome_{outcome}", lang)
    except KeyError:
        return outcome


@tags_app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The tag catalogue YAML to validate.")],
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Validate a catalogue: every problem with its tag, field and column; exit 1 if any."""
    cfg = load_config(config)
    try:
        catalogue = load_catalogue(file)
    except CatalogueError as exc:
        _print_problems(file, exc.problems, lang)
        raise typer.Exit(1) from None
    with open_warehouse(warehouse, optional=True) if warehouse else nullcontext() as con:
        schema, schema_name = rule_schema(con, cfg)
        problems = catalogue_problems(catalogue, schema, cfg)
        if problems:
            _print_problems(file, problems, lang)
            raise typer.Exit(1)
        valid = said("tags_valid", lang, file=file, n=len(catalogue.tags), schema=schema_name)
        console.print(valid, highlight=False)


def _print_problems(file: Path, problems: list[str], lang: str) -> None:
    heading = said("tags_problems", lang, file=file, n=len(problems))
    err_console.print(heading, highlight=False, soft_wrap=True)
    for problem in problems:
        err_console.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)


def _author(author: str) -> str:
    author = author.strip()
    if not author:
        raise typer.BadParameter("give your name, e.g. --by 'Li Wei'", param_hint="--by")
    return author


@tags_app.command()
def rate(
    tag_id: Annotated[str, typer.Argument(help="The tag id.")],
    stars: Annotated[
        int, typer.Option("--stars", min=1, max=5, help="1 (useless) to 5 (excellent).")
    ],
    by: Annotated[str, typer.Option("--by", help="Your name.")],
    version: VersionOption = None,
    tags_file: TagsOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Rate a tag (its current version unless --version), kept in the warehouse table tag_ratings."""
    cfg = load_config(config)
    with open_warehouse(warehouse, write=True) as con:
        tag = catalogue_in_use(con, cfg, tags_file).tag(tag_id)
        row = add_rating(con, tag.id, version or tag.version, stars, _author(by))
        rated = dict(author=row["author"], tag=tag.id, version=row["version"])
        console.print(said("tags_rated", lang, stars="★" * stars, **rated), highlight=False)


@tags_app.command()
def comment(
    tag_id: Annotated[str, typer.Argument(help="The tag id.")],
    text: Annotated[str, typer.Argument(help="The comment.")],
    by: Annotated[str, typer.Option("--by", help="Your name.")],
    version: VersionOption = None,
    tags_file: TagsOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Comment on a tag (its current version unless --version), kept in tag_comments."""
    if not text.strip():
        raise typer.BadParameter("the comment is empty", param_hint="TEXT")
    cfg = load_config(config)
    with open_warehouse(warehouse, write=True) as con:
        tag = catalogue_in_use(con, cfg, tags_file).tag(tag_id)
        row = add_comment(con, tag.id, version or tag.version, text.strip(), _author(by))
        commented = dict(author=row["author"], tag=tag.id, version=row["version"])
        console.print(said("tags_commented", lang, **commented), highlight=False)


# The customer card shows the customer's tags with their marketing hints.
CARD_SECTIONS.append(TAGS_CARD_SECTION)
