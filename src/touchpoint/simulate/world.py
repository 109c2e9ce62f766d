"""``simulate``: write an operator's source files and, apart, the planted ground truth."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import yaml

from touchpoint.config import Config, load_config
from touchpoint.errors import ConfigError, InputFileError
from touchpoint.simulate.call_records import CallRecordSettings, call_records_table, chunk_calls
from touchpoint.simulate.chunk import (
    ACTIONS,
    CHURN_REASONS,
    RESPONSES,
    ChunkState,
    concat_states,
    load_state,
    new_state,
    plan_work_orders,
    run_months,
    save_state,
    split_state,
)
from touchpoint.simulate.menu import build_menu
from touchpoint.simulate.params import SimParams, load_params
from touchpoint.simulate.population import month_bounds
from touchpoint.simulate.tables import SIMULATED_ENTITIES, chunk_tables, contract_table
from touchpoint.simulate.timing import HOUR_US
from touchpoint.simulate.truth import Realised

ProgressCallback = Callable[[str, int, int], None]
FORMATS = ("parquet", "csv")
# CSV encodings: the codec each writes with. A GBK export cannot hold what GBK lacks (emoji in
# a survey reply): like a real one it writes "?" instead; GB18030 holds every character.
ENCODINGS = {"utf-8": "utf-8", "gbk": "gbk", "gb18030": "gb18030"}


@dataclass(frozen=True)
class SimulationResult:
    out_dir: Path
    files: dict[str, Path]
    n_rows: dict[str, int]
    realised: dict
    campaign_effects: dict | None = None  # a continued world: each campaign's planted effect


class _Writer:
    """Appends chunk tables to one file per entity: Parquet, or CSV in UTF-8, GBK or GB18030
    (characters the encoding cannot hold become ``?``)."""

    def __init__(self, path: Path, file_format: str, encoding: str) -> None:
        self.path, self.file_format, self.encoding = path, file_format, encoding
        self.parquet: pq.ParquetWriter | None = None
        self.n_rows = 0
        self.header_written = False

    def write(self, table: pa.Table) -> None:
        self.n_rows += table.num_rows
        if self.file_format == "parquet":
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.path, table.schema)
            self.parquet.write_table(table)
            return
        columns = [
            pc.strftime(col, format="%Y-%m-%d %H:%M:%S") if pa.types.is_timestamp(col.type) else col
            for col in table.columns
        ]
        buffer = io.BytesIO()
        options = pcsv.WriteOptions(include_header=not self.header_written)
        pcsv.write_csv(pa.table(columns, names=table.column_names), buffer, options)
        self.header_written = True
        data = buffer.getvalue()
        if self.encoding != "utf-8":
            data = data.decode("utf-8").encode(self.encoding, errors="replace")
        with self.path.open("ab") as handle:
            handle.write(data)

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()


def simulate(
    out_dir: str | Path,
    *,
    customers: int = 50_000,
    months: int = 6,
    seed: int = 7,
    file_format: str = "parquet",
    encoding: str = "utf-8",
    config: Config | None = None,
    params: SimParams | None = None,
    on_progress: ProgressCallback | None = None,
    call_records: CallRecordSettings | None = None,
    shard: tuple[int, int] | None = None,
) -> SimulationResult:
    """Simulate an operator and write its source files to ``out_dir``.

    ``shard=(i, n)``: write only shard ``i`` of ``n`` (1-based) of the world, so that ``n``
    machines can generate a province in parallel (:func:`shard_chunks`). A shard is a run of
    whole chunks of customers, and every draw is keyed by what it is about, so the union of
    the ``n`` shards' rows is the unsharded world's, whatever ``n``. Each file is named
    ``<entity>.shard-<i>-of-<n>.<ext>`` (``touchpoint ingest`` reads them all as the entity),
    and so are the shard's truth files (``truth/customers``, ``preferences``,
    ``payment_preferences``, ``realised`` and ``world`` with ``.shard-<i>-of-<n>``, and
    ``state/chunks.shard-<i>-of-<n>.json``; the chunk states keep the world's numbering).
    ``realised`` holds the figures of the shard's customers only. The files every shard writes
    alike (``params.yaml``, ``ivr_menu.parquet``, ``confusing_nodes.json``) are replaced
    whole, never half written. Call records replay every call through one agent queue, so
    they cannot be sharded.

    ``call_records``: also write ``call_records.<format>``, the hotline's calls replayed
    through an agent queue with a planted patience (:mod:`.call_records`), and
    ``truth/call_records.json``; every other file is the same as without it.

    Writes ``out_dir/<entity>.parquet`` (or ``.csv``) for every entity of the data contract,
    and ``out_dir/truth/`` (see docs/simulator.md): ``params.yaml`` (the parameters used),
    ``world.json`` (size, seed, format, months simulated), ``realised.json`` (the headline
    figures of docs/metrics.md, counted from the simulator's own records),
    ``customers.parquet`` (latent segment, sensitivity, churn month and reason),
    ``preferences.parquet`` and ``payment_preferences.parquet`` (each customer's mean latent
    channel weights), ``ivr_menu.parquet``, ``confusing_nodes.json`` and ``state/`` (what
    :func:`continue_world` needs to go on).

    Customers are generated in chunks of ``params.chunk_size`` so that memory stays flat
    whatever the world's size. Every draw is keyed by the seed and the identity of what it is
    about (customer, month, event), and rows are written in customer order: the files and the
    truth are the same whatever the chunk size, and a customer's history does not depend on
    how many customers follow.
    """
    _check_arguments(customers, months, file_format, encoding, shard, call_records)
    config = config or load_config()
    params = params or load_params()
    channels = config.ids("channel")
    out = Path(out_dir)
    truth_dir = out / "truth"
    size = params.chunk_size
    chunks = shard_chunks(customers, size, shard)
    tag = shard_tag(*shard) if shard else ""
    suffix = "parquet" if file_format == "parquet" else "csv"
    files = {name: out / f"{name}{tag}.{suffix}" for name in SIMULATED_ENTITIES}
    _clear_previous(out, truth_dir, suffix, sharded=shard is not None)
    businesses = list(params.contacts.needs_per_month)
    first_customer = chunks.start * size
    shard_customers = min(chunks.stop * size, customers) - first_customer

    def states():
        for number in chunks:
            first = number * size
            yield new_state(
                params,
                number,
                first,
                min(size, customers - first),
                months,
                seed,
                businesses,
                channels,
            )

    leg = _Leg(out, files, params, config, file_format, encoding, months, shard_tag=tag)
    leg.cdr_calls = [] if call_records is not None else None
    leg.run(states(), shard_customers, on_progress, truth_dir / "state")
    if call_records is not None:
        files["call_records"] = out / f"call_records.{suffix}"
        _write_call_records(leg, files["call_records"], call_records, file_format, encoding)
    leg.close()
    world = {
        "customers": customers,
        "months": months,
        "seed": seed,
        "format": file_format,
        "encoding": encoding.lower(),
        "orders": _orders(params, channels),
        "legs": [
            {"first_month": 0, "months": months, "files": {k: v.name for k, v in files.items()}}
        ],
    }
    if shard is not None:
        world["shard"] = {
            "index": shard[0],
            "of": shard[1],
            "chunks": [chunks.start, chunks.stop],
            "customers": [first_customer, first_customer + shard_customers],
        }
    (truth_dir / f"world{tag}.json").write_text(json.dumps(world, indent=2), encoding="utf-8")
    (truth_dir / f"realised{tag}.json").write_text(
        json.dumps(leg.figures, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    _write_shared_truth(truth_dir, tag, params)
    return SimulationResult(out, files, leg.n_rows, leg.figures)


def _check_arguments(customers, months, file_format, encoding, shard, call_records) -> None:
    if file_format not in FORMATS:
        raise ConfigError(f"unknown format {file_format!r}; use one of: {', '.join(FORMATS)}")
    if encoding.lower() not in ENCODINGS:
        raise ConfigError(f"unknown encoding {encoding!r}; use one of: {', '.join(ENCODINGS)}")
    if file_format == "parquet" and encoding.lower() != "utf-8":
        raise ConfigError("--encoding applies to CSV only; add --format csv")
    if customers < 1 or months < 1:
        raise ConfigError(
            f"need at least one customer and one month, got customers={customers}, months={months}"
        )
    if shard is not None and call_records is not None:
        raise ConfigError(
            "call records replay every hotline call through one agent queue: simulate them "
            "without --shard"
        )


def _clear_previous(out: Path, truth_dir: Path, suffix: str, *, sharded: bool) -> None:
    """Remove what an earlier world left that this run would not overwrite."""
    if not sharded:
        if truth_dir.exists():
            shutil.rmtree(truth_dir)
    else:  # other shards write beside this one: only the unsharded world's files go
        for name in SIMULATED_ENTITIES:
            (out / f"{name}.{suffix}").unlink(missing_ok=True)
        for stale in ("world.json", "realised.json", "state/chunks.json"):
            (truth_dir / stale).unlink(missing_ok=True)
    (truth_dir / "state").mkdir(parents=True, exist_ok=True)


def _write_call_records(
    leg: _Leg, path: Path, settings: CallRecordSettings, file_format: str, encoding: str
) -> None:
    """The hotline's calls of the whole run replayed through one agent queue, and the
    patience planted in them (``truth/call_records.json``)."""
    records, planted = call_records_table(pa.concat_tables(leg.cdr_calls), settings)
    path.unlink(missing_ok=True)
    leg.writers["call_records"] = _Writer(path, file_format, ENCODINGS[encoding.lower()])
    leg.writers["call_records"].write(records)
    (path.parent / "truth" / "call_records.json").write_text(json.dumps(planted, indent=2), "utf-8")


def _write_shared_truth(truth_dir: Path, tag: str, params: SimParams) -> None:
    """The truth files every shard writes alike: the parameters and the IVR menu."""
    _replace(truth_dir / "params.yaml", tag, lambda p: p.write_text(_params_yaml(params), "utf-8"))
    menu = build_menu(params)
    menu_table = pa.table(
        {
            "node_id": [n.id for n in params.ivr_menu],
            "parent_id": [n.parent for n in params.ivr_menu],
            "key": [n.key for n in params.ivr_menu],
            "depth": menu.depth.tolist(),
            "business": [n.business for n in params.ivr_menu],
            "label_en": [n.en for n in params.ivr_menu],
            "label_zh": [n.zh for n in params.ivr_menu],
            "is_confusing": [n.id in params.ivr.confusing_nodes for n in params.ivr_menu],
        }
    )
    _replace(truth_dir / "ivr_menu.parquet", tag, lambda p: pq.write_table(menu_table, p))
    confusing = json.dumps(list(params.ivr.confusing_nodes))
    _replace(truth_dir / "confusing_nodes.json", tag, lambda p: p.write_text(confusing, "utf-8"))


def shard_tag(index: int, of: int) -> str:
    """The suffix of shard ``index`` of ``of``'s file names: ``.shard-02-of-12``."""
    width = len(str(of))
    return f".shard-{index:0{width}d}-of-{of}"


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` as ``(i, n)``, 1 <= i <= n.

    >>> parse_shard("2/8")
    (2, 8)
    """
    index, slash, of = text.strip().partition("/")
    if slash and index.strip().isdigit() and of.strip().isdigit():
        i, n = int(index), int(of)
        if 1 <= i <= n:
            return i, n
    raise ConfigError(f"--shard must be i/n with 1 <= i <= n (e.g. 2/8), got {text!r}")


def shard_chunks(customers: int, chunk_size: int, shard: tuple[int, int] | None) -> range:
    """The chunk numbers of shard ``(i, n)`` of a world of ``customers`` (all for ``None``):
    shard ``i`` holds chunks ``⌊(i-1)·C/n⌋ .. ⌊i·C/n⌋ - 1`` of the ``C`` chunks, so every shard
    has whole chunks and the shards together hold each chunk once.

    >>> shard_chunks(10_000, 1000, (2, 3))
    range(3, 6)
    """
    total = -(-customers // chunk_size)
    if shard is None:
        return range(total)
    i, n = shard
    if not 1 <= i <= n:
        raise ConfigError(f"--shard must be i/n with 1 <= i <= n (e.g. 2/8), got {i}/{n}")
    if n > total:
        raise ConfigError(
            f"--shard {i}/{n}: {customers:,} customers make {total} chunk(s) of {chunk_size:,}, "
            f"so at most {total} shard(s); use fewer shards or a smaller --chunk-size"
        )
    return range((i - 1) * total // n, i * total // n)


def _replace(path: Path, tag: str, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary file renamed over it: shards writing the same file
    at once leave one whole copy, never a mix."""
    temporary = path.with_name(f"{path.name}{tag}.tmp")
    write(temporary)
    os.replace(temporary, path)


class _Leg:
    """Simulates a run of months over every chunk and writes its files and truth."""

    def __init__(
        self,
        out,
        files,
        params,
        config,
        file_format,
        encoding,
        months,
        plans=None,
        label="",
        first_month=0,
        shard_tag="",
    ):
        self.out, self.files, self.params, self.config = out, files, params, config
        self.months, self.plans, self.label = months, ({} if plans is None else plans), label
        self.first_month = first_month
        self.shard_tag = shard_tag
        self.channels = config.ids("channel")
        self.menu = build_menu(params)
        self.writers = {
            name: _Writer(path, file_format, ENCODINGS[encoding.lower()])
            for name, path in files.items()
        }
        for path in files.values():
            path.unlink(missing_ok=True)
        self.work_orders: list[dict] = []
        self.cdr_calls: list[pa.Table] | None = None  # hotline calls, for call records
        self.holdout_orders: list[dict] = []

    def run(self, states, customers: int, on_progress, state_dir: Path) -> None:
        """Simulate and write every chunk of ``states``; their states go to ``state_dir``
        (with ``chunks.json``, the customers of each file)."""
        params, channels = self.params, self.channels
        truth = self.out / "truth"
        realised = Realised(list(params.population.regions), self.months, self.first_month)
        businesses = list(params.contacts.needs_per_month)
        pay_channels = list(params.payments.channel_weights)
        # Ground truth is streamed chunk by chunk too, so memory stays flat.
        truth_writers = {
            name: _Writer(truth / f"{name}{self.shard_tag}.parquet", "parquet", "utf-8")
            for name in (
                "customers",
                f"preferences{self.label}",
                f"payment_preferences{self.label}",
            )
        }
        truth_customers, truth_prefs, truth_pay = truth_writers.values()
        done = 0
        layout: list[list[int]] = []
        for state in states:
            if on_progress:
                on_progress("simulating customers", done, customers)
            plan = self.plans.get(state.number)
            chunk = run_months(params, self.menu, state, self.months, channels, plan)
            for name, table in chunk_tables(chunk, params, self.menu, channels).items():
                self.writers[name].write(table)
            if self.cdr_calls is not None:
                self.cdr_calls.append(chunk_calls(chunk))
            realised.add(chunk, len(businesses))
            truth_customers.write(_customer_truth(chunk, params))
            truth_prefs.write(
                _preference_truth(chunk.mean_preferences, chunk, businesses, channels)
            )
            truth_pay.write(
                _preference_truth(
                    chunk.mean_payment_preferences[:, None, :], chunk, ["payment"], pay_channels
                )
            )
            first, n = int(state.population.index[0]), len(state.population.index)
            if chunk.work_orders and len(chunk.work_orders["row"]):
                self.work_orders.append({**chunk.work_orders, "first": first})
            if chunk.holdout_orders and len(chunk.holdout_orders["row"]):
                self.holdout_orders.append({**chunk.holdout_orders, "first": first})
            save_state(state, state_dir / f"chunk_{state.number:05d}.npz")
            layout.append([first, n])
            done += n
        if on_progress:
            on_progress("writing ground truth", customers, customers)
        self.figures = realised.figures()
        for writer in truth_writers.values():
            writer.close()
        chunks_json = state_dir / f"chunks{self.shard_tag}.json"
        chunks_json.write_text(json.dumps(layout), encoding="utf-8")

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()

    @property
    def n_rows(self) -> dict[str, int]:
        return {n: w.n_rows for n, w in self.writers.items()}


def _customer_truth(chunk, params: SimParams) -> pa.Table:
    """One row per customer: the latent traits that drive behaviour, and how they left."""
    pop = chunk.population
    return pa.table(
        {
            "customer_id": [f"C{i:08d}" for i in pop.index],
            "segment": np.array(list(params.segments), dtype=object)[pop.segment],
            "is_sensitive": pop.is_sensitive,
            "arpu_trend": pop.arpu_trend,
            "churn_month": pa.array(chunk.churn_month, pa.int64(), mask=chunk.churn_month < 0),
            "churn_reason": pa.array(
                np.array(CHURN_REASONS + ("",), dtype=object)[chunk.churn_reason],
                pa.string(),
                mask=chunk.churn_reason < 0,
            ),
        }
    )


def _preference_truth(prefs: np.ndarray, chunk, businesses: list[str], channels: list[str]):
    """One row per customer, business and channel the customer can use (latent weight > 0):
    the mean over the months of the latent weight that drew the channel of each contact."""
    n, b, c = prefs.shape
    flat = prefs.reshape(-1)
    keep = np.flatnonzero(flat > 1e-6)  # channels a business is not offered in have no weight
    customer_ids = pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pa.array(chunk.population.index).cast(pa.string()), 8, "0"), ""
    )

    def labels(codes: np.ndarray, names) -> pa.Array:
        # Dictionary-encoded: cheap to build, and Parquet stores it as such.
        return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(names))

    return pa.table(
        {
            "customer_id": labels(keep // (b * c), customer_ids),
            "business": labels(keep // c % b, list(businesses)),
            "channel": labels(keep % c, list(channels)),
            "latent_weight": flat[keep].astype(np.float32),
        }
    )


WORK_ORDER_COLUMNS = ("work_order_id", "campaign_id", "customer_id", "action")


def read_work_orders(path: str | Path, channels: list[str]) -> pa.Table:
    """The work-orders file (CSV or Parquet; see docs/simulator.md), validated.

    Columns ``work_order_id, campaign_id, customer_id, action`` are required; ``channel``
    (default ``sms``), ``sent_at`` (default: the first continued day at 10:00) and ``holdout``
    (true: a holdout customer listed for the oracle, never sent; default false) are optional.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such work-orders file")
    try:
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        else:
            table = pcsv.read_csv(
                path,
                convert_options=pcsv.ConvertOptions(
                    column_types={c: pa.string() for c in (*WORK_ORDER_COLUMNS, "channel")},
                    timestamp_parsers=["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(
            f"{path}: cannot read the work orders ({str(exc).splitlines()[0]}); "
            "give a CSV or Parquet file"
        ) from None
    for name in (*WORK_ORDER_COLUMNS, "channel"):
        if name in table.column_names and table[name].type != pa.string():
            table = table.set_column(
                table.column_names.index(name), name, table[name].cast(pa.string())
            )
    missing = [c for c in WORK_ORDER_COLUMNS if c not in table.column_names]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}; a work-orders file needs "
            f"{', '.join(WORK_ORDER_COLUMNS)} (and optionally channel, sent_at)"
        )
    problems = []
    for column in WORK_ORDER_COLUMNS:
        if table[column].null_count:
            problems.append(f"{column} is blank in {table[column].null_count} row(s)")
    actions = set(table["action"].drop_null().to_pylist())
    if actions - set(ACTIONS):
        problems.append(
            f"unknown action(s) {sorted(actions - set(ACTIONS))}; use {', '.join(ACTIONS)}"
        )
    if "channel" in table.column_names:
        used = set(table["channel"].drop_null().to_pylist())
        if used - set(channels):
            problems.append(f"unknown channel(s) {sorted(used - set(channels))}")
    ids = table["work_order_id"].to_pylist()
    if len(set(ids)) != len(ids):
        problems.append("work_order_id repeats")
    # The simulator's own marketing SMS are W + 13 digits: such ids would collide at ingest.
    own = [i for i in ids if i and len(i) == 14 and i[0] == "W" and i[1:].isdigit()]
    if own:
        problems.append(
            f"work_order_id {own[0]!r} looks like the simulator's own (W + 13 digits); "
            "use another prefix"
        )
    if "holdout" in table.column_names:
        flags = table["holdout"]
        if not pa.types.is_boolean(flags.type):
            text = pc.utf8_lower(pc.utf8_trim_whitespace(flags.cast(pa.string())))
            flags = pc.is_in(text, pa.array(["true", "1", "yes"]))
            odd = pc.invert(pc.or_(flags, pc.is_in(text, pa.array(["false", "0", "no", ""]))))
            if pc.any(odd).as_py():
                problems.append("holdout must be true or false")
        table = table.set_column(
            table.column_names.index("holdout"), "holdout", flags.fill_null(False)
        )
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return table


def continue_world(
    world_dir: str | Path,
    work_orders: str | Path | None,
    *,
    months: int,
    config: Config | None = None,
    on_progress: ProgressCallback | None = None,
    chunk_size: int | None = None,
) -> SimulationResult:
    """Extend a simulated world by ``months`` months, applying the work orders' planted effects.

    The same customers go on from the state the earlier run saved in ``truth/state/`` (their
    drifted habits, churn), so continuing is deterministic; as every draw is keyed by the
    seed and what it is about, the continued world is also the same whatever ``chunk_size``
    (default: the package's ``chunk_size`` parameter) it is generated in.
    The new months' events go to ``<entity>_<first month>_<last month>.<ext>`` next to the
    earlier files, ids carrying the month (no collision); ``customers`` is rewritten as a
    snapshot (who left, and when). Each work order gets a ``campaign_responses`` row.

    Truth: ``treatment_effects.parquet`` (one row per work order: planted strength, annoyance,
    the probability of the campaign's outcome with and without it, and their difference, the
    individual effect), ``campaign_effects.json`` (per campaign: the average effect on the
    treated), and ``realised_<first>_<last>.json``.
    """
    out = Path(world_dir)
    truth = out / "truth"
    world, data = _saved_world(out)
    if months < 1:
        raise ConfigError(f"need at least one month to continue, got months={months}")
    config = config or load_config()
    size = chunk_size or load_params().chunk_size
    params = SimParams.model_validate({**data, "chunk_size": size})
    channels = config.ids("channel")
    _check_same_orders(world, params, channels, truth)
    first_month = int(world["months"])
    bounds = month_bounds(params.start_month, first_month + months)
    n_customers = world["customers"]
    # New subscribers join during the continued months, as new chunks after the others.
    n_new = round(n_customers * params.population.new_joins_per_month * months)
    label = _month_label(params, first_month, months)
    saved = json.loads((truth / "state" / "chunks.json").read_text(encoding="utf-8"))
    orders = read_work_orders(work_orders, channels) if work_orders else None
    order_arrays = _OrderArrays(
        *_work_order_arrays(orders, work_orders, n_customers, bounds, first_month)
    )
    suffix = "parquet" if world["format"] == "parquet" else "csv"
    files = {
        name: out / (f"{name}.{suffix}" if name == "customers" else f"{name}_{label}.{suffix}")
        for name in SIMULATED_ENTITIES
    }
    plans: dict[int, object] = {}  # drawn chunk by chunk, as their states are loaded
    leg = _Leg(
        out,
        files,
        params,
        config,
        world["format"],
        world["encoding"],
        months,
        plans,
        f"_{label}",
        first_month,
    )
    states = _continued_states(
        out, world, params, channels, order_arrays, plans, len(saved), n_new, months
    )
    next_state = truth / "state.next"
    if next_state.exists():
        shutil.rmtree(next_state)
    next_state.mkdir()
    leg.run(states, n_customers + n_new, on_progress, next_state)
    shutil.rmtree(truth / "state")
    next_state.rename(truth / "state")
    effects = _effects_table(leg.work_orders, orders, params, label)
    if orders is not None and orders.num_rows:
        leg.writers["campaign_responses"].write(_responses_table(leg.work_orders, orders))
    leg.close()

    campaign_effects = _write_effect_truth(truth, leg, effects, orders, params, label)
    (truth / f"realised_{label}.json").write_text(
        json.dumps(leg.figures, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    world["customers"] = n_customers + n_new
    _record_leg(truth, world, months, work_orders, files)
    return SimulationResult(out, files, leg.n_rows, leg.figures, campaign_effects)


def _check_same_orders(world: dict, params: SimParams, channels: list[str], truth: Path) -> None:
    """The saved state stores habits and traits as positions in lists of the parameters and
    the configuration: those lists must not have changed."""
    for name, saved in world.get("orders", {}).items():
        now = _orders(params, channels)[name]
        if now != saved:
            raise ConfigError(
                f"{truth / 'params.yaml'} or the configuration changed the {name} of the world "
                f"(saved {saved}, now {now}); the saved state needs the same ones in the same order"
            )


class _OrderArrays(NamedTuple):
    """The work orders of a leg as arrays (see :func:`_work_order_arrays`)."""

    customer: np.ndarray
    action: np.ndarray
    month: np.ndarray
    sent_us: np.ndarray
    holdout: np.ndarray

    def rows_of(self, first: int, n: int) -> np.ndarray:
        """The rows (in file order) of the orders for customers ``first`` .. ``first + n - 1``."""
        by_customer = np.argsort(self.customer, kind="stable")
        lo, hi = np.searchsorted(self.customer[by_customer], [first, first + n])
        return np.sort(by_customer[lo:hi])


def _saved_states(out: Path, world: dict, params: SimParams, channels: list[str], n_saved: int):
    """The ``n_saved`` chunk states the earlier run saved, checked to be where the world says
    it is."""
    truth = out / "truth"
    businesses = list(params.contacts.needs_per_month)
    first_month, seed = int(world["months"]), world["seed"]
    for number in range(n_saved):
        state: ChunkState = load_state(
            truth / "state" / f"chunk_{number:05d}.npz", params, businesses, channels
        )
        if state.month != first_month or state.seed != seed:
            raise ConfigError(
                f"{out}: chunk {number} is at month {state.month}, the world at "
                f"{first_month}; the state is damaged, simulate the world again"
            )
        yield state


def _continued_states(
    out: Path,
    world: dict,
    params: SimParams,
    channels: list[str],
    orders: _OrderArrays,
    plans: dict[int, object],
    n_saved: int,
    n_new: int,
    months: int,
):
    """The saved chunks, cut again into chunks of this run's size, each with its work orders
    planned into ``plans``; then the chunks of the subscribers who join."""
    size = params.chunk_size
    first_month, seed, n_customers = int(world["months"]), world["seed"], world["customers"]
    number = 0
    for state in _rechunk(_saved_states(out, world, params, channels, n_saved), size):
        state.number = number
        first, n = int(state.population.index[0]), len(state.population.index)
        rows = orders.rows_of(first, n)
        if len(rows):
            plans[number] = plan_work_orders(
                params,
                state,
                seed,
                row=rows,
                customer=orders.customer[rows] - first,
                action=orders.action[rows],
                month=orders.month[rows],
                sent_us=orders.sent_us[rows],
                holdout=orders.holdout[rows],
            )
        yield state
        number += 1
    for first in range(0, n_new, size):
        yield new_state(
            params,
            number,
            n_customers + first,
            min(size, n_new - first),
            months,
            seed,
            list(params.contacts.needs_per_month),
            channels,
            first_month,
        )
        number += 1


def _record_leg(truth: Path, world: dict, months: int, work_orders, files: dict) -> None:
    """``world.json`` with the continued months and the leg's files."""
    first_month = int(world["months"])
    world["months"] = first_month + months
    world["legs"].append(
        {
            "first_month": first_month,
            "months": months,
            "work_orders": str(work_orders) if work_orders else None,
            "files": {k: v.name for k, v in files.items()},
        }
    )
    (truth / "world.json").write_text(json.dumps(world, indent=2), encoding="utf-8")


def _saved_world(out: Path) -> tuple[dict, dict]:
    """``truth/world.json`` and ``truth/params.yaml`` of a world that can be continued."""
    truth = out / "truth"
    try:
        world = json.loads((truth / "world.json").read_text(encoding="utf-8"))
        data = yaml.safe_load((truth / "params.yaml").read_text(encoding="utf-8"))
    except OSError:
        if any(truth.glob("world.shard-*.json")):
            raise ConfigError(
                f"{out}: a world simulated in shards cannot be continued; simulate it without "
                "--shard to continue it"
            ) from None
        raise ConfigError(
            f"{out}: not a simulated world (no truth/world.json); "
            "create one with `touchpoint simulate --out DIR` first"
        ) from None
    if not (truth / "state" / "chunks.json").is_file():
        raise ConfigError(
            f"{out}: the world has no saved state (truth/state/); simulate it again with this "
            "version of touchpoint to continue it"
        )
    return world, data


def _write_effect_truth(truth: Path, leg, effects: pa.Table, orders, params, label: str) -> dict:
    """Add a leg's planted effects to ``truth/``: each work order's (and each holdout row's)
    individual effect, and each campaign's average effect on the treated (returned)."""
    campaign_effects = _campaign_effects(effects, params, label)
    if leg.holdout_orders:
        path = truth / "holdout_effects.parquet"
        held = _effects_table(leg.holdout_orders, orders, params, label)
        if path.exists():
            held = pa.concat_tables([pq.read_table(path), held])
        pq.write_table(held, path)
    path = truth / "treatment_effects.parquet"
    if path.exists() and effects.num_rows:
        effects = pa.concat_tables([pq.read_table(path), effects])
    if effects.num_rows or not path.exists():
        pq.write_table(effects, path)
    path = truth / "campaign_effects.json"
    merged = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    merged.update(campaign_effects)
    path.write_text(json.dumps(merged, indent=2, ensure_ascii=False), encoding="utf-8")
    return campaign_effects


def _work_order_arrays(orders, work_orders, n_customers: int, bounds, first_month: int):
    """The work orders as arrays (customer number, action index, month, sent at in us since the
    epoch, holdout), checked against the world: known customers, sent within the leg."""
    leg_start, leg_end = int(bounds[first_month]), int(bounds[-1])
    customer = action = month = sent_us = np.zeros(0, dtype=np.int64)
    holdout = np.zeros(0, dtype=bool)
    if orders is None or not orders.num_rows:
        return customer, action, month, sent_us, holdout
    customer = np.array(
        [_customer_number(c, n_customers) for c in orders["customer_id"].to_pylist()]
    )
    unknown = customer < 0
    if unknown.any():
        bad = np.array(orders["customer_id"].to_pylist(), dtype=object)[unknown]
        raise ConfigError(
            f"{work_orders}: {unknown.sum()} work order(s) name customers not in the world "
            f"(e.g. {', '.join(map(str, bad[:3]))}); ids run C00000000-C{n_customers - 1:08d}"
        )
    if "sent_at" in orders.column_names:
        sent = orders["sent_at"]
        if not pa.types.is_timestamp(sent.type):
            try:
                sent = pc.strptime(sent.cast(pa.string()), "%Y-%m-%d %H:%M:%S", "us")
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise ConfigError(
                    f"{work_orders}: sent_at must look like 2026-03-01 10:00:00 "
                    f"(got e.g. {orders['sent_at'][0]})"
                ) from None
        sent = sent.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        sent_us = np.where(
            np.isnat(sent),
            leg_start + 10 * HOUR_US,
            sent.astype("datetime64[us]").astype(np.int64),
        )
    else:
        sent_us = np.full(orders.num_rows, leg_start + 10 * HOUR_US)
    late = sent_us >= leg_end
    if late.any():
        raise ConfigError(
            f"{work_orders}: {late.sum()} work order(s) are sent after the continued months "
            f"end ({np.datetime64(leg_end, 'us')}); continue for more months"
        )
    month = np.maximum(np.searchsorted(bounds, sent_us, side="right") - 1, first_month)
    action = np.array([ACTIONS.index(a) for a in orders["action"].to_pylist()])
    holdout = (
        orders["holdout"].to_numpy(zero_copy_only=False).astype(bool)
        if "holdout" in orders.column_names
        else np.zeros(orders.num_rows, dtype=bool)
    )
    return customer, action, month, sent_us, holdout


def _orders(params: SimParams, channels: list[str]) -> dict[str, list[str]]:
    return {
        "channels": list(channels),
        "businesses": list(params.contacts.needs_per_month),
        "payment_channels": list(params.payments.channel_weights),
        "segments": list(params.segments),
        "regions": list(params.population.regions),
        "brands": list(params.population.brands),
    }


def _month_label(params: SimParams, first_month: int, months: int) -> str:
    start = np.datetime64(params.start_month, "M")
    return f"{start + first_month}_{start + first_month + months - 1}"


def _customer_number(customer_id: str, n_customers: int) -> int:
    if len(customer_id) == 9 and customer_id[0] == "C" and customer_id[1:].isdigit():
        number = int(customer_id[1:])
        if number < n_customers:
            return number
    return -1


def _rechunk(states, size: int):
    """``states`` (in customer order) as states of ``size`` customers (the last may be short)."""
    held: list[ChunkState] = []
    n_held = 0
    for state in states:
        held.append(state)
        n_held += len(state.population.index)
        if n_held < size:
            continue
        merged = concat_states(held, 0)
        whole = n_held // size * size
        pieces = list(split_state(merged, size, 0))
        yield from pieces[: whole // size]
        held = pieces[whole // size :]
        n_held -= whole
    if held:
        yield concat_states(held, 0)


def _params_yaml(params: SimParams) -> str:
    """The parameters of the world (the chunk size is not one: it changes nothing)."""
    data = params.model_dump(mode="json", exclude={"chunk_size"})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _gather(parts: list[dict]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "first"}
    merged["global_customer"] = np.concatenate([p["customer"] + p["first"] for p in parts])
    order = np.argsort(merged["row"], kind="stable")
    return {k: v[order] for k, v in merged.items()}


def _effects_table(parts, orders, params: SimParams, label: str) -> pa.Table:
    """One row per work order: its planted individual effect on the campaign's outcome."""
    w = _gather(parts)
    n = len(w.get("row", []))
    months = np.datetime64(params.start_month, "M") + w["month"] if n else np.zeros(0, "M8[M]")
    outcomes = np.array([params.treatments.actions[a].outcome for a in ACTIONS], dtype=object)
    return pa.table(
        {
            "work_order_id": orders["work_order_id"].take(pa.array(w["row"]))
            if n
            else pa.array([], pa.string()),
            "campaign_id": orders["campaign_id"].take(pa.array(w["row"]))
            if n
            else pa.array([], pa.string()),
            "customer_id": pa.array(
                [f"C{i:08d}" for i in w.get("global_customer", [])], pa.string()
            ),
            "action": pa.array(
                np.array(ACTIONS, dtype=object)[w["action"]] if n else [], pa.string()
            ),
            "outcome": pa.array(outcomes[w["action"]] if n else [], pa.string()),
            "effect_from_month": pa.array(months.astype(str) if n else [], pa.string()),
            "leg": pa.array([label] * n, pa.string()),
            "planted_strength": pa.array(w.get("strength", []), pa.float64()),
            "is_annoyed": pa.array(w.get("is_annoyed", []), pa.bool_()),
            "p_outcome_without": pa.array(w.get("p_without", []), pa.float64()),
            "p_outcome_with": pa.array(w.get("p_with", []), pa.float64()),
            "individual_effect": pa.array(w["p_with"] - w["p_without"] if n else [], pa.float64()),
        }
    )


def _effect_summary(rows) -> dict:
    return {
        "n_treated": int(len(rows)),
        "att": float(rows.individual_effect.mean()),
        "mean_p_outcome_without": float(rows.p_outcome_without.mean()),
        "mean_p_outcome_with": float(rows.p_outcome_with.mean()),
    }


def _campaign_effects(effects: pa.Table, params: SimParams, label: str) -> dict:
    """Per campaign: the average planted effect on the treated (ATT) and what it is on.

    A campaign whose work orders act on different outcomes (a store-payment diversion and a
    retention offer) has no single ATT: its ``att`` and mean probabilities are null, and
    ``by_outcome`` holds them per outcome (for every campaign, one entry or more)."""
    if not effects.num_rows:
        return {}
    frame = effects.to_pandas()
    result = {}
    for campaign, rows in frame.groupby("campaign_id", sort=True):
        by_outcome = {
            str(outcome): _effect_summary(part)
            for outcome, part in rows.groupby("outcome", sort=True)
        }
        overall = _effect_summary(rows)
        if len(by_outcome) > 1:
            overall |= dict.fromkeys(("att", "mean_p_outcome_without", "mean_p_outcome_with"))
        result[str(campaign)] = {
            "leg": label,
            "actions": sorted(rows.action.unique().tolist()),
            "outcome": "; ".join(by_outcome),
            **overall,
            "annoyed_share": float(rows.is_annoyed.mean()),
            "by_outcome": by_outcome,
        }
    return result


def _responses_table(parts, orders: pa.Table) -> pa.Table:
    """campaign_responses rows for the work orders (contract order of columns)."""
    w = _gather(parts)
    rows = pa.array(w["row"])
    response = np.array(RESPONSES, dtype=object)[w["response"]]
    channel = (
        orders["channel"].take(rows).fill_null("sms")
        if "channel" in orders.column_names
        else pa.array(["sms"] * len(rows))
    )
    return contract_table(
        "campaign_responses",
        {
            "work_order_id": orders["work_order_id"].take(rows),
            "campaign_id": orders["campaign_id"].take(rows),
            "customer_id": orders["customer_id"].take(rows),
            "channel": channel.cast(pa.string()),
            "sent_at": pa.array(w["sent_us"].astype("datetime64[us]"), pa.timestamp("us")),
            "response": pa.array(response, pa.string()),
            "responded_at": pa.array(
                w["responded_us"].astype("datetime64[us]"),
                pa.timestamp("us"),
                mask=response == "no_response",
            ),
        },
    )
