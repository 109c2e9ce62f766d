"""An operator's interval series (CSV/Parquet) read and checked: time column, value column."""

from __future__ import annotations

import pandas as pd

from touchpoint.capacity._erlang import StaffingError


def interval_series(
    frame: pd.DataFrame, time: str, value: str, where: str, by: str | None = None
) -> pd.DataFrame:
    """``frame`` reduced to (time, value), sorted, parsed; errors name the file and column.

    >>> f = pd.DataFrame({"t": ["2026-01-05 09:30", "2026-01-05 09:00"], "n": ["3", "5"]})
    >>> interval_series(f, "t", "n", "x.csv")["n"].tolist()
    [5.0, 3.0]
    """
    for col in (time, value):
        if col not in frame.columns:
            have = ", ".join(map(str, frame.columns[:12]))
            raise StaffingError(f"{where}: no column {col!r} (columns: {have})")
    times = pd.to_datetime(frame[time], errors="coerce")
    values = pd.to_numeric(frame[value], errors="coerce")
    for name, parsed in ((time, times), (value, values)):
        bad = parsed.isna() & frame[name].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise StaffingError(
                f"{where}: row {row + 2}, column {name!r}: cannot read {frame[name].iloc[row]!r}"
            )
    out = pd.DataFrame({time: times, value: values.astype(float)})
    keys = [time]
    if by is not None:
        out[by] = frame[by].astype(str).to_numpy()
        keys = [by, time]
    out = out.dropna(subset=[time])
    dups = out.duplicated(subset=keys)
    if dups.any():
        dup = out.loc[dups, keys].iloc[0].tolist()
        raise StaffingError(f"{where}: {' '.join(map(str, dup))} appears twice")
    return out.sort_values(keys).reset_index(drop=True)


def interval_seconds_of(times: pd.Series, where: str) -> float:
    """The series' interval: the most common gap between consecutive times, in seconds."""
    gaps = times.sort_values().diff().dropna().dt.total_seconds()
    gaps = gaps[gaps > 0]
    if gaps.empty:
        raise StaffingError(f"{where}: cannot tell the interval from one time; give --interval")
    return float(gaps.mode().iloc[0])


def parse_duration(text: str) -> float:
    """``15min``, ``30m``, ``1h``, ``1d``, ``900s``, ``2w``, ``7d`` -> seconds.

    >>> parse_duration("15min"), parse_duration("1d"), parse_duration("2w")
    (900.0, 86400.0, 1209600.0)
    """
    try:
        seconds = pd.Timedelta(text.strip().replace("w", "W")).total_seconds()
    except (ValueError, AttributeError):
        seconds = float("nan")
    if not seconds > 0:
        raise StaffingError(f"cannot read duration {text!r}; use e.g. 15min, 1h, 1d, 2w")
    return float(seconds)
