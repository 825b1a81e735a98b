"""``TableDataset``: a pandas DataFrame as a Parquet file, atomic and manifest-verified."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from neura_scholar.artifacts import verify_file
from neura_scholar.datasets.manifest import ManifestDataset, ManifestError


class TableDataset(ManifestDataset[pd.DataFrame]):
    """A DataFrame stored as Parquet (zstd) with a sha256 manifest checked on every load.

    Example catalog entry::

        paper_chunks@pandas:
          type: neura_scholar.datasets.TableDataset
          filepath: data/03_primary/paper_chunks.parquet
    """

    def _serialise(self, data: pd.DataFrame) -> bytes:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"TableDataset saves a pandas DataFrame, got {type(data).__name__}")
        buffer = io.BytesIO()
        table = pa.Table.from_pandas(data, preserve_index=False)
        # Row groups of 8,192 rows, so a reader of a range of rows (a Ray worker's shard of
        # chunks) decompresses little more than its range.
        pq.write_table(table, buffer, compression="zstd", row_group_size=8192)
        return buffer.getvalue()

    def _deserialise(self, data: bytes) -> pd.DataFrame:
        frame = pq.read_table(pa.BufferReader(data)).to_pandas()
        # Parquet list columns come back as numpy arrays; give callers plain lists.
        for column in frame.columns:
            if frame[column].dtype == object and len(frame) and _is_array(frame[column].iloc[0]):
                frame[column] = [list(value) for value in frame[column]]
        return frame

    def _manifest_fields(self, data: pd.DataFrame) -> dict[str, Any]:
        return {"rows": len(data), "columns": [str(c) for c in data.columns]}


def _is_array(value: Any) -> bool:
    return hasattr(value, "tolist") and not isinstance(value, (str, bytes))


class OptionalTableDataset(TableDataset):
    """A :class:`TableDataset` that loads as ``None`` when its file does not exist (e.g. a
    baseline nobody has stored yet), so the node that reads it can fail closed with a reason.
    A file that exists is verified as always: a corrupt one is refused, never skipped."""

    def load(self) -> pd.DataFrame | None:
        if not self._exists():
            return None
        return super().load()


@dataclass(frozen=True)
class TableFile:
    """A Parquet table checked against its manifest and left on disk, read on demand: columns
    or batches here, or the file itself by Ray Data's readers on the workers (:attr:`path`)."""

    path: str
    sha256: str
    rows: int
    columns: tuple[str, ...]

    def read(self, columns: Sequence[str]) -> pd.DataFrame:
        """Only ``columns``, whole."""
        return pq.read_table(self.path, columns=self._checked(columns)).to_pandas()

    def read_rows(self, start: int, stop: int, columns: Sequence[str]) -> pd.DataFrame:
        """Rows ``[start, stop)`` in file order, reading only the row groups that hold them."""
        if not 0 <= start <= stop <= self.rows:
            raise IndexError(f"rows {start}:{stop} are outside {self.path} ({self.rows} rows)")
        parquet = pq.ParquetFile(self.path)
        groups: list[int] = []
        first = offset = 0
        for group in range(parquet.num_row_groups):
            size = parquet.metadata.row_group(group).num_rows
            if offset < stop and offset + size > start:
                first = offset if not groups else first
                groups.append(group)
            offset += size
        table = parquet.read_row_groups(groups, columns=self._checked(columns))
        return table.slice(start - first, stop - start).to_pandas()

    def iter_batches(self, columns: Sequence[str], batch_rows: int = 65_536) -> Iterator[pd.DataFrame]:
        """``columns`` a batch at a time, in file order (never the whole table in memory)."""
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=batch_rows, columns=self._checked(columns)):
            yield batch.to_pandas()

    def _checked(self, columns: Sequence[str]) -> list[str]:
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise KeyError(f"{self.path} has no column {missing[0]!r}; it has {list(self.columns)}")
        return list(columns)


class TableFileDataset(TableDataset):
    """The same Parquet file as a :class:`TableDataset` (it saves the same way) that loads as a
    :class:`TableFile` instead of a DataFrame: the file is verified against its manifest in
    blocks, never read whole, and the node that takes it reads what it needs. The Kedro
    transcoding pair of a table, for nodes that must not hold all of it in memory (the Ray
    backend reads the texts on its workers)::

        paper_chunks@pandas:
          type: neura_scholar.datasets.TableDataset
          filepath: data/03_primary/paper_chunks.parquet
        paper_chunks@files:
          type: neura_scholar.datasets.TableFileDataset
          filepath: data/03_primary/paper_chunks.parquet
    """

    def load(self) -> TableFile:
        path = str(self._get_load_path())
        manifest = verify_file(path)
        metadata = pq.read_metadata(path)
        columns = tuple(metadata.schema.to_arrow_schema().names)
        if manifest.get("rows", metadata.num_rows) != metadata.num_rows:
            raise ManifestError(f"{path}: {metadata.num_rows} rows but its manifest says {manifest['rows']}")
        if manifest.get("columns", list(columns)) != list(columns):
            raise ManifestError(f"{path}: columns {list(columns)} but its manifest says {manifest['columns']}")
        return TableFile(path, manifest["sha256"], metadata.num_rows, columns)
