"""Configuration: TOML files read once into frozen, validated settings.

>>> from control.settings import load_settings
>>> settings = load_settings("config/default.toml")  # doctest: +SKIP
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from control.settings.core import Settings
from control.settings.errors import ConfigError

__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]


def load_settings(path: str | Path, overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    """Read and validate a TOML configuration file.

    Relative paths inside the file are resolved against the file's directory. ``overrides``
    replaces keys of top-level tables before validation (e.g. ``{"jobs": {"file": "/abs.csv"}}``
    from the command line); they are validated like the file's own values.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid TOML, or holds an unknown key or a bad value.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass --config with a TOML file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    for table, values in (overrides or {}).items():
        data[table] = {**data.get(table, {}), **values}
    return parse_settings(data, base_dir=path.parent.resolve(), source=str(path))


def parse_settings(data: dict[str, Any], base_dir: Path | None = None, source: str = "<config>") -> Settings:
    """Validate an already-parsed configuration mapping (see :func:`load_settings`)."""
    try:
        return Settings.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, data)) from None


def _explain(exc: ValidationError, source: str, data: Any = None) -> str:
    """Turn pydantic's report into lines naming the key (list items by their ``name``), the value
    and the fix; no pydantic internals (``Value error,``, empty locations, nested inputs)."""
    lines = [f"{source}: {exc.error_count()} problem(s) in the configuration:"]
    for error in exc.errors():
        loc = _location(error["loc"], data)
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if error["type"] == "extra_forbidden":
            valid = _valid_keys(Settings, error["loc"][:-1])
            lines.append(
                f"  - unknown key {loc!r}; valid keys here are: {', '.join(valid)}. "
                "Remove or rename it."
            )
        elif error["type"] == "missing":
            lines.append(f"  - {loc}: required key is missing; add it")
        elif not loc or isinstance(error.get("input"), dict | list):
            lines.append(f"  - {loc + ': ' if loc else ''}{message}")
        else:
            lines.append(f"  - {loc} = {error.get('input')!r}: {message}")
    return "\n".join(lines)


def _location(loc: tuple[Any, ...], data: Any) -> str:
    """``sites["shanghai"].pue`` for pydantic's ``sites.0.pue`` (``sites[#1]`` when unnamed)."""
    text = ""
    current = data
    for part in loc:
        if isinstance(part, int):
            item = current[part] if isinstance(current, list) and -len(current) <= part < len(current) else None
            name = item.get("name") if isinstance(item, dict) else None
            text += f"[{name!r}]".replace("'", '"') if isinstance(name, str) and name else f"[#{part + 1}]"
            current = item
        else:
            text += f".{part}" if text else str(part)
            current = current.get(part) if isinstance(current, dict) else None
    return text


def _valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``; list indices and dict keys are skipped."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        if field is None:
            continue
        current = _model_of(field.annotation)
    if current is None or not hasattr(current, "model_fields"):
        return []
    return sorted(current.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None
