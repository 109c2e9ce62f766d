"""``touchpoint staffing``: agents per interval (Erlang C and A) for a forecast file, with a
diversion what-if; ``touchpoint forecast``: volume forecast with a rolling backtest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import ibis
import typer
from rich.table import Table

from touchpoint.capacity import (
    MODELS,
    ForecastError,
    Targets,
    diversion_what_if,
    forecast_volumes,
    regular_series,
    staffing_plan,
)
from touchpoint.capacity._series import (
    contact_volumes,
    interval_seconds_of,
    interval_series,
    mean_handle_seconds,
    parse_duration,
)
from touchpoint.churn import read_table
from touchpoint.cli.app import (
    ConfigOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
)
from touchpoint.cli.common import open_warehouse, print_json
from touchpoint.errors import TouchpointError
from touchpoint.labels import translate


class SourceError(TouchpointError, ValueError):
    """Neither or both of a FILE and a warehouse."""


def _load(
    file: Path | None,
    warehouse: Path | None,
    *,
    time: str,
    value: str,
    interval: str | None,
    by: str | None,
    channels: tuple[str, ...],
):
    """(series frame, interval seconds, time, value, by, where, contacts table or None)."""
    if file is not None and warehouse is not None:
        raise SourceError(f"give a FILE ({file}) or a warehouse ({warehouse}), not both")
    if file is None and warehouse is None:
        raise SourceError("give a FILE (CSV or Parquet) or --warehouse")
    if file is not None:
        where = str(file)
        frame = read_table(file)
        if by is not None and by not in frame.columns:
            raise SourceError(f"{where}: no column {by!r}")
        series = interval_series(frame, time, value, where, by=by)
        seconds = parse_duration(interval) if interval else interval_seconds_of(series[time], where)
        return series, seconds, time, value, by, where, None
    seconds = parse_duration(interval or "30min")
    minutes = seconds / 60
    if minutes != int(minutes):
        raise SourceError(f"--interval must be whole minutes for the warehouse, got {interval}")
    with open_warehouse(warehouse) as con:
        contacts = con.table("stg_contacts")
        volumes = contact_volumes(contacts, interval_minutes=int(minutes), channels=channels)
        frame = volumes.to_pandas()
        handle = {c: mean_handle_seconds(contacts, c) for c in (channels or ())}
    if frame.empty:
        raise SourceError(f"{warehouse}: no contacts in channel(s) {', '.join(channels) or 'any'}")
    return frame, seconds, "interval_start", "calls", "channel", str(warehouse), handle


def _t(lang: str):
    return lambda key: translate(f"capacity.{key}", lang)


@app.command("staffing")
def staffing(
    file: Annotated[
        Path | None, typer.Argument(help="CSV or Parquet: one row per interval (or -w).")
    ] = None,
    time: Annotated[str, typer.Option("--time", help="Column of interval starts.")] = "ds",
    value: Annotated[str, typer.Option("--value", help="Column of calls per interval.")] = "y",
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval", help="Interval length (15min, 30min); default: read from the times."
        ),
    ] = None,
    aht: Annotated[
        float | None,
        typer.Option("--aht", min=1, help="Mean handle time, s (default: measured, else 300)."),
    ] = None,
    channel: Annotated[
        str, typer.Option("--channel", help="Warehouse: the channel to staff.")
    ] = "agent",
    warehouse: WarehouseOption = None,
    patience: Annotated[
        float,
        typer.Option(
            "--patience", min=0, help="Callers' mean patience, seconds (0: Erlang C only)."
        ),
    ] = 120.0,
    service_level: Annotated[
        float, typer.Option("--sl", min=0, max=0.999, help="Share to answer in time.")
    ] = 0.8,
    within: Annotated[
        float, typer.Option("--within", min=0, help="Seconds that count as in time.")
    ] = 20.0,
    max_abandon: Annotated[
        float,
        typer.Option(
            "--max-abandon", min=0, max=1, help="Highest abandonment share (0: no target)."
        ),
    ] = 0.05,
    divert: Annotated[
        float,
        typer.Option(
            "--divert",
            min=0,
            max=1,
            help="What-if: share of calls a diversion moves off the hotline.",
        ),
    ] = 0.0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the plan (CSV or Parquet).")
    ] = None,
    rows: Annotated[int, typer.Option("--rows", min=0, help="Intervals to print.")] = 12,
    as_json: JsonOption = False,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Agents needed per interval by Erlang C and Erlang A, agent hours, and a diversion what-if."""
    series, seconds, time, value, _by, where, handle = _load(
        file, warehouse, time=time, value=value, interval=interval, by=None, channels=(channel,)
    )
    if handle is not None:  # the warehouse: one channel's contacts per interval
        series = series.drop(columns="channel")
        if aht is None:
            aht = handle.get(channel)
    aht = aht or 300.0
    targets = Targets(
        service_level=service_level,
        within_seconds=within,
        max_abandon=max_abandon if (max_abandon > 0 and patience > 0) else None,
        aht_seconds=aht,
        patience_seconds=patience if patience > 0 else None,
    )
    table = ibis.memtable(series)
    plan = staffing_plan(table, time=time, value=value, interval_seconds=seconds, targets=targets)
    frame = plan.to_pandas()
    what_if = diversion_what_if(
        table, divert, time=time, value=value, interval_seconds=seconds, targets=targets
    )
    if out is not None:
        _write(frame, out)
    if as_json:
        print_json(_staffing_json(seconds, targets, divert, what_if, frame))
        return
    _print_staffing(lang, where, frame, seconds, targets, what_if, rows, divert, out)


def _staffing_json(seconds, targets: Targets, divert: float, what_if, frame) -> dict:
    """The ``--json`` answer of ``staffing``: targets, agent hours, the what-if and the plan."""
    return {
        "interval_seconds": seconds,
        "targets": targets.__dict__,
        "agent_hours_erlang_c": what_if.agent_hours_before_c,
        "agent_hours_erlang_a": what_if.agent_hours_before_a,
        "diversion": {
            "share": divert,
            "calls_moved": what_if.calls_moved,
            "agent_hours_saved_erlang_c": what_if.hours_saved_c,
            "agent_hours_saved_erlang_a": what_if.hours_saved_a,
        },
        "plan": frame.astype({"interval_start": str}).to_dict(orient="records"),
    }


def _print_staffing(lang, where, frame, seconds, targets: Targets, what_if, rows, divert, out):
    """The terminal answer of ``staffing``: title, targets, the first intervals, the hours."""
    aht, service_level, within = targets.aht_seconds, targets.service_level, targets.within_seconds
    patience = targets.patience_seconds or 0
    t = _t(lang)
    console.print(
        t("staffing_title").format(file=where, n=len(frame), minutes=seconds / 60, aht=aht),
        highlight=False,
    )
    console.print(
        t("targets").format(
            sl=service_level,
            within=within,
            ab=f"{targets.max_abandon:.0%}" if targets.max_abandon else t("none"),
            patience=f"{patience:g} s" if targets.patience_seconds else t("none"),
        ),
        highlight=False,
    )
    grid = Table(
        t("interval"),
        t("calls"),
        t("load"),
        t("agents_c"),
        t("agents_a"),
        t("sl_a"),
        t("abandon_a"),
        t("occupancy_a"),
    )
    for r in frame.head(rows).itertuples():
        grid.add_row(
            str(r.interval_start),
            f"{r.calls:,.1f}",
            f"{r.load_erlangs:.2f}",
            str(r.agents_erlang_c),
            str(r.agents_erlang_a),
            f"{r.service_level_a:.1%}",
            f"{r.abandon_share_a:.1%}",
            f"{r.occupancy_a:.1%}",
        )
    console.print(grid)
    console.print(
        t("hours").format(c=what_if.agent_hours_before_c, a=what_if.agent_hours_before_a),
        highlight=False,
    )
    if divert > 0:
        console.print(
            t("divert").format(
                share=divert,
                calls=what_if.calls_moved,
                saved_a=what_if.hours_saved_a,
                saved_c=what_if.hours_saved_c,
            ),
            highlight=False,
        )
    if out is not None:
        console.print(t("written").format(path=out), highlight=False)


def _write(frame, out: Path) -> None:
    """Write ``frame`` whole or not at all (a temporary file renamed into place)."""
    suffix = out.suffix.lower()
    tmp = out.with_name(out.name + ".tmp")
    if suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    tmp.replace(out)


@app.command("forecast")
def forecast(
    file: Annotated[
        Path | None, typer.Argument(help="CSV or Parquet: one row per interval (or -w).")
    ] = None,
    time: Annotated[str, typer.Option("--time", help="Column of interval starts.")] = "ds",
    value: Annotated[str, typer.Option("--value", help="Column of calls per interval.")] = "y",
    horizon: Annotated[str, typer.Option("--horizon", help="How far ahead (1d, 2w, 12h).")] = "1d",
    by: Annotated[
        str | None, typer.Option("--by", help="Column naming the series (queue, channel).")
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option("--interval", help="Interval length (15min); default: read from the times."),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="mstl, ets, arima or profile (the mean of the same interval over the last "
            "4 weeks, conformal intervals: fast for many queues).",
        ),
    ] = "mstl",
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", help="Warehouse: only these channels (default: every one)."),
    ] = None,
    warehouse: WarehouseOption = None,
    windows: Annotated[int, typer.Option("--windows", min=1, max=50, help="Backtest windows.")] = 3,
    out: Annotated[
        Path | None, typer.Option("--out", help="Forecast file (CSV or Parquet).")
    ] = None,
    as_json: JsonOption = False,
    lang: LangOption = "en",
    config: ConfigOption = None,
) -> None:
    """Forecast calls per interval with intervals; print the rolling backtest (MASE)."""
    if model not in MODELS:
        raise ForecastError(f"unknown model {model!r}; use one of: {', '.join(MODELS)}")
    series, seconds, time, value, by, where, _handle = _load(
        file,
        warehouse,
        time=time,
        value=value,
        interval=interval,
        by=by,
        channels=tuple(channel or ()),
    )
    steps = round(parse_duration(horizon) / seconds)
    if steps < 1:
        raise ForecastError(f"horizon {horizon} is shorter than one interval")
    regular, filled = regular_series(series, time, value, seconds, by=by)
    result = forecast_volumes(
        regular,
        interval_seconds=seconds,
        horizon=steps,
        model=model,
        windows=windows,
        filled_intervals=filled,
    )
    path = out or (
        file.with_name(f"{file.stem}_forecast.csv") if file else Path("contacts_forecast.csv")
    )
    _write(result.forecast, path)
    if as_json:
        print_json(
            {
                "interval_seconds": seconds,
                "horizon": steps,
                "seasons": list(result.seasons),
                "model": model,
                "filled_intervals": filled,
                "mase_model": result.mase_model,
                "mase_naive": result.mase_naive,
                "backtest": result.backtest.to_dict(orient="records"),
                "written": str(path),
            }
        )
        return
    t = _t(lang)
    console.print(
        t("forecast_title").format(
            file=where, n=len(regular), minutes=seconds / 60, h=steps, model=model
        ),
        highlight=False,
    )
    console.print(t("backtest").format(windows=windows), highlight=False)
    grid = Table(t("step"), t("mase_model"), t("mase_naive"))
    shown = result.backtest
    if len(shown) > 12:  # every step would be a long table: the first, then evenly spaced
        shown = shown.iloc[
            sorted({0, *range(0, len(shown), max(1, len(shown) // 12)), len(shown) - 1})
        ]
    for r in shown.itertuples():
        grid.add_row(str(r.step), f"{r.mase_model:.3f}", f"{r.mase_naive:.3f}")
    console.print(grid)
    console.print(t("overall").format(m=result.mase_model, s=result.mase_naive), highlight=False)
    console.print(t("written").format(path=path), highlight=False)
