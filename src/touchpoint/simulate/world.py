"""``simulate``: write an operator's source files and, apart, the planted ground truth."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import yaml

from touchpoint.config import Config, load_config
from touchpoint.contract import ENTITIES
from touchpoint.errors import ConfigError
from touchpoint.simulate.chunk import CHURN_REASONS, generate_chunk
from touchpoint.simulate.menu import build_menu
from touchpoint.simulate.params import SimParams, load_params
from touchpoint.simulate.tables import chunk_tables
from touchpoint.simulate.truth import Realised

ProgressCallback = Callable[[str, int, int], None]
FORMATS = ("parquet", "csv")
ENCODINGS = {"utf-8": "utf-8", "gbk": "gb18030", "gb18030": "gb18030"}


@dataclass(frozen=True)
class SimulationResult:
    out_dir: Path
    files: dict[str, Path]
    n_rows: dict[str, int]
    realised: dict


class _Writer:
    """Appends chunk tables to one file per entity: Parquet, or CSV in UTF-8 or GB18030."""

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
            data = data.decode("utf-8").encode(self.encoding)
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
) -> SimulationResult:
    """Simulate an operator and write its source files to ``out_dir``.

    Writes ``out_dir/<entity>.parquet`` (or ``.csv``) for every entity of the data contract,
    and ``out_dir/truth/``: ``params.yaml`` (the parameters used), ``realised.json`` (the
    headline figures of docs/metrics.md, counted from the simulator's own records),
    ``customers.parquet`` (latent segment, sensitivity, churn month and reason),
    ``preferences.parquet`` (each customer's mean latent channel weights per business),
    ``ivr_menu.parquet`` and ``confusing_nodes.json``.

    Customers are generated in chunks of ``params.chunk_size``, each with its own random
    stream seeded by ``(seed, chunk number)``: memory stays flat whatever the world's size, and
    a customer's history does not depend on how many customers follow.
    """
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
    config = config or load_config()
    params = params or load_params()
    menu = build_menu(params)
    channels = config.ids("channel")
    out = Path(out_dir)
    truth_dir = out / "truth"
    if truth_dir.exists():
        shutil.rmtree(truth_dir)
    truth_dir.mkdir(parents=True)
    suffix = "parquet" if file_format == "parquet" else "csv"
    files = {name: out / f"{name}.{suffix}" for name in ENTITIES}
    for path in files.values():
        path.unlink(missing_ok=True)
    writers = {
        name: _Writer(path, file_format, ENCODINGS[encoding.lower()])
        for name, path in files.items()
    }
    regions = list(params.population.regions)
    realised = Realised(regions, months)
    truth_customers, truth_prefs = [], []
    size = params.chunk_size
    n_chunks = -(-customers // size)
    businesses = list(params.contacts.needs_per_month)
    for number in range(n_chunks):
        if on_progress:
            on_progress("simulating customers", number * size, customers)
        first = number * size
        chunk = generate_chunk(
            params, menu, number, first, min(size, customers - first), months, seed, channels
        )
        for name, table in chunk_tables(chunk, params, menu, channels).items():
            writers[name].write(table)
        realised.add(chunk, len(businesses))
        truth_customers.append(_customer_truth(chunk, params))
        truth_prefs.append(_preference_truth(chunk, businesses, channels))
    for writer in writers.values():
        writer.close()
    if on_progress:
        on_progress("writing ground truth", customers, customers)
    figures = realised.figures()
    (truth_dir / "realised.json").write_text(
        json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (truth_dir / "params.yaml").write_text(
        yaml.safe_dump(params.model_dump(mode="json"), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    (truth_dir / "world.json").write_text(
        json.dumps({"customers": customers, "months": months, "seed": seed}), encoding="utf-8"
    )
    pq.write_table(pa.concat_tables(truth_customers), truth_dir / "customers.parquet")
    pq.write_table(pa.concat_tables(truth_prefs), truth_dir / "preferences.parquet")
    pq.write_table(
        pa.table(
            {
                "node_id": [n.id for n in params.ivr_menu],
                "parent_id": [n.parent for n in params.ivr_menu],
                "key": [n.key for n in params.ivr_menu],
                "depth": menu.depth.tolist(),
                "business": [n.business for n in params.ivr_menu],
                "label_en": [n.en for n in params.ivr_menu],
                "label_zh": [n.zh for n in params.ivr_menu],
            }
        ),
        truth_dir / "ivr_menu.parquet",
    )
    (truth_dir / "confusing_nodes.json").write_text(
        json.dumps(list(params.ivr.confusing_nodes)), encoding="utf-8"
    )
    return SimulationResult(out, files, {n: w.n_rows for n, w in writers.items()}, figures)


def _customer_truth(chunk, params: SimParams) -> pa.Table:
    pop = chunk.population
    return pa.table(
        {
            "customer_id": [f"C{i:08d}" for i in pop.index],
            "segment": np.array(list(params.segments), dtype=object)[pop.segment],
            "is_sensitive": pop.is_sensitive,
            "arpu_trend": pop.arpu_trend,
            "churn_month": pa.array(chunk.churn_month, mask=chunk.churn_month < 0),
            "churn_reason": pa.array(
                np.array(CHURN_REASONS + ("",), dtype=object)[chunk.churn_reason],
                mask=chunk.churn_reason < 0,
            ),
        }
    )


def _preference_truth(chunk, businesses: list[str], channels: list[str]) -> pa.Table:
    prefs = chunk.mean_preferences  # [customer, business, channel]
    n, b, c = prefs.shape
    return pa.table(
        {
            "customer_id": np.repeat([f"C{i:08d}" for i in chunk.population.index], b * c),
            "business": np.tile(np.repeat(businesses, c), n),
            "channel": np.tile(channels, n * b),
            "latent_weight": prefs.reshape(-1).astype(np.float32),
        }
    )
