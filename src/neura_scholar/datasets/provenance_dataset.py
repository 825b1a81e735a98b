"""``ProvenanceDataset``: where a run's results come from: the git commit and the time."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class ProvenanceDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """Loads ``{"git_commit", "git_dirty", "evaluated_at"}`` for the repository at ``path``;
    outside a git checkout the commit is ``None`` (recorded as unknown, never invented)."""

    def __init__(self, path: str = ".", metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._path = Path(path)

    def _git(self, *args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(self._path), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    def load(self) -> dict[str, Any]:
        commit = self._git("rev-parse", "HEAD")
        status = self._git("status", "--porcelain", "--untracked-files=no") if commit else None
        return {
            "git_commit": commit,
            "git_dirty": bool(status) if status is not None else None,
            "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def save(self, data: dict[str, Any]) -> None:
        raise DatasetError("ProvenanceDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
