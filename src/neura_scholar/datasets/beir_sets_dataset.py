"""``BeirSetsDataset``: external labelled sets in BEIR form, read-only, by path."""

from __future__ import annotations

import os
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from neura_scholar.beir import BeirSet, read_beir_set


class BeirSetsDataset(AbstractDataset[dict[str, BeirSet], dict[str, BeirSet]]):
    """Every BEIR set named in ``paths``, by directory name (none when ``paths`` is empty).

    Args:
        paths: directories, as a list or one string separated by ``os.pathsep`` (what
            ``kedro run --params external_sets=/data/scifact:/data/nfcorpus`` passes).
        split: the qrels file, ``qrels/<split>.tsv``.
        exclude_identical_ids: exclude a document whose id equals the query's.
    """

    def __init__(
        self,
        paths: str | list[str] | None = None,
        split: str = "test",
        exclude_identical_ids: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.metadata = metadata
        if isinstance(paths, str):
            paths = [p for p in paths.split(os.pathsep) if p.strip()]
        self._paths = [str(p) for p in paths or []]
        self._split = split
        self._exclude_identical_ids = exclude_identical_ids

    def load(self) -> dict[str, BeirSet]:
        sets: dict[str, BeirSet] = {}
        for path in self._paths:
            found = read_beir_set(path, self._split, self._exclude_identical_ids)
            if found.name in sets:
                raise DatasetError(
                    f"two external sets are named {found.name!r}; give the directories distinct names"
                )
            sets[found.name] = found
        return sets

    def save(self, data: dict[str, BeirSet]) -> None:
        raise DatasetError("BeirSetsDataset is read-only: external sets are inputs")

    def _describe(self) -> dict[str, Any]:
        return {
            "paths": self._paths,
            "split": self._split,
            "exclude_identical_ids": self._exclude_identical_ids,
        }
