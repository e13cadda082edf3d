"""Files on Airflow object storage: JSON, JSON lines and Parquet tables at any fsspec URL.

Tasks on different workers share no disk, so everything one task leaves for another is written here:
``file:///...`` on one machine, ``s3://<aws_conn_id>@bucket/prefix``, ``gs://...`` or anything fsspec serves.
Tables are Parquet, never pickle: a pickle is unsafe to load from shared storage and breaks across pandas
versions. A table of any size is written and read a chunk at a time (``TableWriter``, ``iter_table``): the
Parquet files ``part-00000.parquet``, ... of a directory, one row group per chunk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath
from airflow.sdk.configuration import conf

Location = str | os.PathLike | ObjectStoragePath
CONFIG_SECTION = "hubspot_commerce"
# Arrow types as pandas' nullable dtypes, as ``dtype_backend="numpy_nullable"`` reads them: integer keys stay
# integers next to NULLs, text is ``string``.
NULLABLE_DTYPES: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.float32(): pd.Float32Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}


def default_work_dir() -> ObjectStoragePath:
    """``[hubspot_commerce] work_dir`` (``AIRFLOW__HUBSPOT_COMMERCE__WORK_DIR``), else ``$AIRFLOW_HOME``'s
    ``hubspot_commerce`` folder: where runs and tasks keep what others read."""
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return storage_path(configured("work_dir") or home / "hubspot_commerce")


def configured(option: str) -> str | None:
    """``[hubspot_commerce] <option>`` in Airflow's config (``AIRFLOW__HUBSPOT_COMMERCE__<OPTION>``)."""
    return conf.get(CONFIG_SECTION, option, fallback=None)


def storage_path(location: Location) -> ObjectStoragePath:
    """A URL (``s3://conn@bucket/key``, ``file:///...``) or a local path, as an ``ObjectStoragePath``."""
    if isinstance(location, ObjectStoragePath):
        return location
    text = os.fspath(location)
    if "://" not in text:
        text = "file://" + str(Path(text).absolute())
    return ObjectStoragePath(text)


def path_safe(part: str) -> str:
    """``part`` usable as one path segment on any store: runs of other characters than ``A-Za-z0-9._=-``
    become ``_`` (run ids hold ``:`` and ``+``)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", part)


def write_json(path: ObjectStoragePath, value: Any) -> ObjectStoragePath:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, sort_keys=True))
    return path


def replace_json(path: ObjectStoragePath, value: Any) -> ObjectStoragePath:
    """``write_json`` for a file another task may be reading: written beside it, then renamed over it, so a
    reader gets the old file or the new one, never part of one."""
    part = write_json(path.with_name(path.name + ".part"), value)
    part.rename(path)
    return path


def read_json(path: ObjectStoragePath) -> Any:
    return json.loads(path.read_text())


class JsonLinesWriter:
    """A JSON-lines file written a few rows at a time (``write``), for rows that come chunk by chunk."""

    def __init__(self, path: ObjectStoragePath) -> None:
        self.path = path
        self.rows = 0
        self._out: IO[str] | None = None

    def __enter__(self) -> JsonLinesWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.path.open("w", encoding="utf-8")
        return self

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows, one JSON object per line."""
        assert self._out is not None, "write inside the with block"
        for row in rows:
            self._out.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.rows += 1

    def __exit__(self, *exc: object) -> None:
        if self._out is not None:
            self._out.close()


def write_jsonl(path: ObjectStoragePath, rows: Iterable[dict[str, Any]]) -> ObjectStoragePath:
    """JSON lines, one object per line (the operator's input format and the rejected-rows format)."""
    with JsonLinesWriter(path) as out:
        out.write(rows)
    return path


def iter_jsonl(path: ObjectStoragePath) -> Iterator[Any]:
    """The values of a JSON-lines file, one line at a time (blank lines skipped)."""
    with path.open("r", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def read_jsonl(path: ObjectStoragePath) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file; none when the file does not exist."""
    return list(iter_jsonl(path)) if path.exists() else []


def write_table(path: ObjectStoragePath, frame: pd.DataFrame) -> ObjectStoragePath:
    """A DataFrame as Parquet, with its pandas dtypes (nullable integers, strings) kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        frame.to_parquet(out, index=False)
    return path


def read_table(path: ObjectStoragePath) -> pd.DataFrame:
    """A whole table: a file ``write_table`` wrote, or every part of one ``TableWriter`` wrote."""
    if not path.is_dir():
        with path.open("rb") as source:
            return pd.read_parquet(source)
    parts, schema = table_parts(path)
    tables = []
    for part in parts:
        with part.open("rb") as source:
            tables.append(pq.read_table(source).cast(schema))
    return nullable_frame(pa.concat_tables(tables))


class TableWriter:
    """A table written a chunk at a time, each chunk one row group, so that no more than a chunk is ever in
    memory: the parts of the directory ``path`` (a table already there is replaced). Chunks may disagree on
    a column's type (NULL in every row so far, integers then decimals, as a query's rows come): a chunk whose
    types the open part cannot hold starts the next part, its types widened, and readers cast every part to
    the types of all of them (``table_parts``)."""

    def __init__(self, path: ObjectStoragePath) -> None:
        self.path = path
        self.rows = 0
        self._parts = 0
        self._file: IO[bytes] | None = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> TableWriter:
        if self.path.is_dir():
            self.path.rmdir(recursive=True)
        elif self.path.exists():
            self.path.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, chunk: pa.Table | pd.DataFrame) -> None:
        """Add a chunk (an Arrow table, or a DataFrame without its index) as a row group."""
        table = chunk if isinstance(chunk, pa.Table) else pa.Table.from_pandas(chunk, preserve_index=False)
        table = table.replace_schema_metadata(None)
        if self._writer is not None and not self._writer.schema.equals(table.schema):
            schema = common_schema([self._writer.schema, table.schema])
            if not schema.equals(self._writer.schema):
                self._close_part()
                self._open_part(schema)
        if self._writer is None:
            self._open_part(table.schema)
        assert self._writer is not None
        self._writer.write_table(table.cast(self._writer.schema))
        self.rows += table.num_rows

    def _open_part(self, schema: pa.Schema) -> None:
        """Start the next part file, its columns of these types."""
        self._file = (self.path / f"part-{self._parts:05d}.parquet").open("wb")
        self._writer = pq.ParquetWriter(self._file, schema)
        self._parts += 1

    def _close_part(self) -> None:
        """Finish the open part: its footer (the row groups' places) makes it readable."""
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()
        self._writer, self._file = None, None

    def __exit__(self, *exc: object) -> None:
        self._close_part()


def table_parts(path: ObjectStoragePath) -> tuple[list[ObjectStoragePath], pa.Schema]:
    """The files of a table (the parts ``TableWriter`` wrote, or one file) and the column types that hold
    every part's values (NULL-only columns take their type from the other parts, integers next to
    floats become floats), read from the files' footers."""
    parts = [path]
    if path.is_dir():
        parts = sorted((part for part in path.iterdir() if part.name.startswith("part-")), key=str)
    if not parts:
        raise FileNotFoundError(f"{path} holds no part of a table")
    schemas = []
    for part in parts:
        with part.open("rb") as source:
            schemas.append(pq.read_schema(source).remove_metadata())
    return parts, common_schema(schemas)


def common_schema(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """Column types that hold the values of every schema: Arrow's permissive promotion (NULL to any type,
    integers to floats), and text for a column whose types cannot be promoted (numbers in one chunk, text
    in the next: a value that is not a number must reach validation, not stop the read)."""
    try:
        return pa.unify_schemas(list(schemas), promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        names = list(dict.fromkeys(name for schema in schemas for name in schema.names))
        return pa.schema([pa.field(name, _common_type(name, schemas)) for name in names])


def _common_type(name: str, schemas: Sequence[pa.Schema]) -> pa.DataType:
    """One column's promoted type across ``schemas``, or text when its types do not promote."""
    columns = [pa.schema([schema.field(name)]) for schema in schemas if name in schema.names]
    try:
        return pa.unify_schemas(columns, promote_options="permissive").field(name).type
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.string()


def iter_table(path: ObjectStoragePath, rows: int) -> Iterator[pd.DataFrame]:
    """A table ``rows`` rows at a time (at most), in order, as DataFrames with nullable dtypes and the same
    column types in every chunk; one empty DataFrame with the table's columns when it has no rows."""
    parts, schema = table_parts(path)
    empty = True
    for part in parts:
        with part.open("rb") as source:
            # Without pre_buffer, a row group is read when its batches are asked for, not the file at once.
            for batch in pq.ParquetFile(source, pre_buffer=False).iter_batches(batch_size=rows):
                empty = False
                yield nullable_frame(pa.Table.from_batches([batch]).cast(schema))
    if empty:
        yield nullable_frame(schema.empty_table())


def nullable_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a DataFrame with pandas' nullable dtypes (``NULLABLE_DTYPES``)."""
    return table.to_pandas(types_mapper=NULLABLE_DTYPES.get)
