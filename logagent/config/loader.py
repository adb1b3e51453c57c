"""Read a TOML config, interpolate ``${ENV}``, validate it into a :class:`Config`.

Every error names the dotted key and the reason (``sources.app.include: expected a list of
globs``); unknown keys are errors. All errors found are reported together.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from logagent import registry
from logagent.config.model import AgentSection, Config, SinkConfig, SourceConfig
from logagent.errors import ConfigError, ConfigErrors

SYSTEM_CONFIG = Path("/etc/logagent/logagent.toml")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TOP_KEYS = ("agent", "sources", "sinks")

# Friendlier wording for pydantic's error types.
_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "list_type": "expected a list",
    "dict_type": "expected a table",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "model_type": "expected a table",
}


def default_config_path() -> Path | None:
    """``$LOGAGENT_CONFIG``, then /etc/logagent/logagent.toml; None means the packaged default."""
    env = os.environ.get("LOGAGENT_CONFIG")
    if env:
        return Path(env)
    if SYSTEM_CONFIG.exists():
        return SYSTEM_CONFIG
    return None


def packaged_default_text() -> str:
    """The embedded default config."""
    return resources.files("logagent").joinpath("default.toml").read_text(encoding="utf-8")


def load_config(path: Path | str | None) -> Config:
    """Load and validate the config at ``path`` (None: the packaged default)."""
    if path is None:
        return load_config_text(packaged_default_text(), None)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read config {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("", f"config {path} is not UTF-8") from None
    return load_config_text(text, path)


def load_config_text(text: str, path: Path | None = None) -> Config:
    """Validate config text (TOML)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = f"{path}: " if path else ""
        raise ConfigError("", f"{where}invalid TOML: {exc}") from None
    errors: list[ConfigError] = []
    raw = _interpolate(raw, "", errors)
    config = _validate(raw, path, errors)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    assert config is not None
    return config


def _interpolate(value: Any, key: str, errors: list[ConfigError]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in string values (``$$`` is a literal ``$``)."""
    if isinstance(value, str):
        if "$" not in value:
            return value

        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name, default = m.group(1), m.group(2)
            env = os.environ.get(name)
            if env is None or (env == "" and default is not None):
                if default is None:
                    errors.append(ConfigError(key, f"environment variable {name} is not set"))
                    return ""
                return default
            return env

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{key}.{k}" if key else k, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{key}[{i}]", errors) for i, v in enumerate(value)]
    return value


def _validate(raw: dict[str, Any], path: Path | None, errors: list[ConfigError]) -> Config | None:
    for key in raw:
        if key not in _TOP_KEYS and key not in registry.SECTIONS:
            known = ", ".join([*_TOP_KEYS, *registry.SECTIONS])
            errors.append(ConfigError(key, f"unknown key (top-level sections: {known})"))

    agent = _model(AgentSection, raw.get("agent", {}), "agent", errors)
    sources: dict[str, SourceConfig] = {}
    for name, table in _table(raw, "sources", errors).items():
        cfg = _component(registry.SOURCES, SourceConfig, table, f"sources.{name}", errors)
        _check_name(name, f"sources.{name}", errors)
        if cfg is not None:
            sources[name] = cfg
    sinks: dict[str, SinkConfig] = {}
    for name, table in _table(raw, "sinks", errors).items():
        cfg = _component(registry.SINKS, SinkConfig, table, f"sinks.{name}", errors)
        _check_name(name, f"sinks.{name}", errors)
        if cfg is not None:
            sinks[name] = cfg

    all_source_names = set(_table(raw, "sources", []))
    for name, sink in sinks.items():
        for i, src in enumerate(sink.inputs or []):
            if src not in all_source_names:
                errors.append(ConfigError(f"sinks.{name}.inputs[{i}]", f"unknown source {src!r}"))

    sections: dict[str, Any] = {}
    for section, target in registry.SECTIONS.items():
        if section in raw:
            if not isinstance(raw[section], dict):
                errors.append(ConfigError(section, "expected a table"))
                continue
            try:
                sections[section] = registry.load_class(target)(raw[section], section)
            except ConfigError as exc:
                errors.append(exc)
            except ConfigErrors as exc:
                errors.extend(exc.errors)
    if errors or agent is None:
        return None
    config = Config(agent=agent, sources=sources, sinks=sinks, sections=sections, path=path)
    for check in _CROSS_CHECKS:
        check(config, errors)
    for value in sections.values():
        # A section may check itself against the whole config (e.g. the source names it cites).
        if hasattr(value, "cross_check"):
            errors.extend(value.cross_check(config))
    return None if errors else config


def _check_parsers(config: Config, errors: list[ConfigError]) -> None:
    """Every source's parser names a parser that exists (built-in, plugin or config-defined)."""
    from parsers.registry import ParserNotFound, get_parser_class

    defined = config.sections.get("parsers") or {}
    for name, src in config.sources.items():
        if src.parser and src.parser not in defined:
            try:
                get_parser_class(src.parser)
            except ParserNotFound as exc:
                errors.append(ConfigError(f"sources.{name}.parser", str(exc)))


_CROSS_CHECKS = [_check_parsers]


def _check_name(name: str, key: str, errors: list[ConfigError]) -> None:
    if not _NAME.match(name):
        errors.append(ConfigError(key, "a component name must be letters, digits, '_', '-' or '.'"))


def _table(raw: dict[str, Any], key: str, errors: list[ConfigError]) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        errors.append(ConfigError(key, "expected a table"))
        return {}
    return value


def _component(
    types: dict[str, str], base: type[BaseModel], table: Any, key: str, errors: list[ConfigError]
) -> Any:
    if not isinstance(table, dict):
        errors.append(ConfigError(key, "expected a table"))
        return None
    kind = table.get("type")
    if kind is None:
        errors.append(ConfigError(f"{key}.type", f"required key is missing (one of: {', '.join(types)})"))
        return None
    if kind not in types:
        errors.append(ConfigError(f"{key}.type", f"unknown type {kind!r} (one of: {', '.join(types)})"))
        return None
    cls = registry.load_class(types[kind])
    assert issubclass(cls, base)
    return _model(cls, table, key, errors)


def _model(cls: type[BaseModel], table: Any, key: str, errors: list[ConfigError]) -> Any:
    try:
        return cls.model_validate(table)
    except ValidationError as exc:
        errors.extend(validation_errors(exc, key))
        return None


def validation_errors(exc: ValidationError, prefix: str) -> list[ConfigError]:
    """Turn pydantic's errors into ConfigErrors with dotted keys under ``prefix``."""
    out = []
    for err in exc.errors():
        parts = [prefix] if prefix else []
        for loc in err["loc"]:
            if isinstance(loc, int):
                parts[-1] = f"{parts[-1]}[{loc}]" if parts else f"[{loc}]"
            elif not str(loc).startswith("function-") and loc not in ("function-after",):
                parts.append(str(loc))
        kind = err["type"]
        msg = _MESSAGES.get(kind) or err["msg"]
        if kind == "value_error":
            msg = str(err.get("ctx", {}).get("error", msg))
        elif kind == "literal_error":
            msg = f"expected one of {err.get('ctx', {}).get('expected', '')}"
        out.append(ConfigError(".".join(parts), msg))
    return out
