"""Shared building blocks of the settings models: frozen, strict, paths relative to the file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo


class FrozenModel(BaseModel):
    """Base of every settings table: immutable, and unknown keys are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Resolve a relative path against the directory of the TOML file being read."""
    base_dir = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = (Path(base_dir) / path).resolve()
    return path


ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]
"""A filesystem path in the config; relative paths are relative to the config file."""
