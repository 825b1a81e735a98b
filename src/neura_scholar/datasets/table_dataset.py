"""``TableDataset``: a pandas DataFrame as a Parquet file, atomic and manifest-verified."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from neura_scholar.datasets.manifest import ManifestDataset


class TableDataset(ManifestDataset[pd.DataFrame]):
    """A DataFrame stored as Parquet (zstd) with a sha256 manifest checked on every load.

    Example catalog entry::

        paper_chunks:
          type: neura_scholar.datasets.TableDataset
          filepath: data/03_primary/paper_chunks.parquet
    """

    def _serialise(self, data: pd.DataFrame) -> bytes:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"TableDataset saves a pandas DataFrame, got {type(data).__name__}")
        buffer = io.BytesIO()
        table = pa.Table.from_pandas(data, preserve_index=False)
        pq.write_table(table, buffer, compression="zstd")
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
