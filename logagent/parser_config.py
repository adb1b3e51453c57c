"""The ``[parsers.NAME]`` config section: parsers defined in the config file.

``type = "regex"`` (named groups, field ``types``, ``time_key`` + ``time_format``, ``timezone``,
``timeout_ms``), ``type = "json"`` / ``"logfmt"`` (``renames``, chosen keys) and
``type = "chain"`` (``parsers = ["docker", "json"]``). Each entry is validated when the config
loads (the regex compiles, the time format and zone exist, a chain's members exist and do not
loop), so a bad parser is a config error naming its key, not a runtime surprise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from logagent.config.model import StrictModel
from logagent.errors import ConfigError, ConfigErrors
from parsers.base import Parser


def _check_time(time_format: str, timezone: str | None) -> None:
    from parsers.timestamps import TimestampParser

    TimestampParser(time_format, timezone)


class _Common(StrictModel):
    time_format: str = "auto"
    timezone: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _check_time_settings(self) -> _Common:
        _check_time(self.time_format, self.timezone)
        return self


class RegexParserConfig(_Common):
    """``type = "regex"``: one regex (``regex`` module syntax) with named groups."""

    type: Literal["regex"]
    pattern: str
    types: dict[str, Literal["int", "float", "bool", "str"]] = Field(default_factory=dict)
    time_key: str | None = None
    level_key: str | None = "level"
    message_key: str | None = "message"
    search: bool = False
    timeout_ms: float = Field(default=100.0, gt=0, le=60_000)
    batch_timeout_ms: float = Field(default=2000.0, gt=0, le=600_000)

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        from parsers.configured import compile_pattern

        compile_pattern(value)
        return value

    def build(self, defined: dict[str, Any], name: str = "regex") -> Parser:
        from parsers.configured import RegexParser

        return RegexParser(
            self.pattern,
            name=name,
            types=self.types,
            time_key=self.time_key,
            time_format=self.time_format,
            timezone=self.timezone,
            level_key=self.level_key,
            message_key=self.message_key,
            timeout_ms=self.timeout_ms,
            batch_timeout_ms=self.batch_timeout_ms,
            search=self.search,
        )


class KeyValueParserConfig(_Common):
    """``type = "json"`` or ``"logfmt"`` with renames and the keys holding time/level/message."""

    type: Literal["json", "logfmt"]
    renames: dict[str, str] = Field(default_factory=dict)
    time_key: str | list[str] | None = None
    level_key: str | list[str] | None = None
    message_key: str | list[str] | None = None

    def build(self, defined: dict[str, Any], name: str = "json") -> Parser:
        from parsers import structured
        from parsers.json import JsonParser
        from parsers.logfmt import LogfmtParser

        def keys(value: str | list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
            if value is None:
                return default
            return (value,) if isinstance(value, str) else tuple(value)

        extractor = structured.Extractor(
            time_keys=keys(self.time_key, structured.TIME_KEYS),
            level_keys=keys(self.level_key, structured.LEVEL_KEYS),
            message_keys=keys(self.message_key, structured.MESSAGE_KEYS),
            renames=self.renames,
            time_format=self.time_format,
            tz=self.timezone,
        )
        parser: Parser = (JsonParser if self.type == "json" else LogfmtParser)(extractor)
        parser.name = name  # type: ignore[misc]
        return parser


class ChainParserConfig(StrictModel):
    """``type = "chain"``: parsers (built-in, plugin or config-defined) applied in turn."""

    type: Literal["chain"]
    parsers: list[str] = Field(min_length=1)
    allow_partial: bool = False
    description: str = ""

    def build(self, defined: dict[str, Any], name: str = "chain", _seen: tuple[str, ...] = ()) -> Parser:
        from parsers.configured import ChainParser
        from parsers.registry import get_parser

        stages: list[Parser] = []
        for member in self.parsers:
            if member in defined:
                cfg = defined[member]
                if isinstance(cfg, ChainParserConfig):
                    stages.append(cfg.build(defined, member, (*_seen, name)))
                else:
                    stages.append(cfg.build(defined, member))
            else:
                stages.append(get_parser(member))
        return ChainParser(stages, name=name, allow_partial=self.allow_partial)


ParserConfig = Annotated[
    RegexParserConfig | KeyValueParserConfig | ChainParserConfig,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ParserConfig)
TYPES = ("regex", "json", "logfmt", "chain")


class _Named:
    """Binds a config to its name so ``build(defined)`` (what topology calls) names the parser."""

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.config = config

    def build(self, defined: dict[str, Any], name: str | None = None, *_: Any) -> Parser:
        return self.config.build({k: v.config for k, v in defined.items()}, name or self.name)

    @property
    def description(self) -> str:
        desc = getattr(self.config, "description", "")
        return desc or f"config-defined ({self.config.type})"


def load_section(raw: dict[str, Any], prefix: str) -> dict[str, _Named]:
    """Validate ``[parsers]``: name -> object with ``build(defined) -> Parser``."""
    from logagent.config.loader import validation_errors
    from parsers.registry import ParserNotFound, get_parser_class

    errors: list[ConfigError] = []
    out: dict[str, _Named] = {}
    for name, table in raw.items():
        key = f"{prefix}.{name}"
        if not isinstance(table, dict):
            errors.append(ConfigError(key, "expected a table"))
            continue
        kind = table.get("type")
        if kind is None:
            errors.append(ConfigError(f"{key}.type", f"required key is missing (one of: {', '.join(TYPES)})"))
            continue
        if kind not in TYPES:
            errors.append(ConfigError(f"{key}.type", f"unknown type {kind!r} (one of: {', '.join(TYPES)})"))
            continue
        try:
            cfg = _ADAPTER.validate_python(table)
        except ValidationError as exc:
            for err in validation_errors(exc, key):
                # Drop the discriminator's tag from the path: parsers.x.regex.pattern -> parsers.x.pattern
                err_key = err.key.replace(f"{key}.{kind}.", f"{key}.", 1)
                errors.append(ConfigError(err_key, err.reason))
            continue
        out[name] = _Named(name, cfg)
    # Chains: every member exists, and no chain contains itself.
    for name, named in out.items():
        cfg = named.config
        if not isinstance(cfg, ChainParserConfig):
            continue
        for i, member in enumerate(cfg.parsers):
            if member in out:
                continue
            try:
                get_parser_class(member)
            except ParserNotFound as exc:
                errors.append(ConfigError(f"{prefix}.{name}.parsers[{i}]", str(exc)))
        cycle = _find_cycle(name, out)
        if cycle:
            errors.append(ConfigError(f"{prefix}.{name}.parsers", f"chain loops: {' -> '.join(cycle)}"))
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return out


def _find_cycle(start: str, defined: dict[str, _Named]) -> list[str] | None:
    def walk(name: str, path: list[str]) -> list[str] | None:
        cfg = defined[name].config
        if not isinstance(cfg, ChainParserConfig):
            return None
        for member in cfg.parsers:
            if member == start:
                return [*path, member]
            if member in defined and member not in path:
                found = walk(member, [*path, member])
                if found:
                    return found
        return None

    return walk(start, [start])
