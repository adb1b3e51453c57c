"""Parser registry: built-ins by name (imported lazily), plus third-party parsers from the
``logagent.parsers`` entry-point group.

Entry points are scanned once, on the first lookup that needs them (never at import), and a
plugin may not reuse a built-in's or another plugin's name: the error names both owners.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from parsers.base import Parser

ENTRY_POINT_GROUP = "logagent.parsers"

#: Built-in parser name -> "module:Class", imported on first use.
BUILTINS: dict[str, str] = {
    "raw": "parsers.raw:RawParser",
    "json": "parsers.json:JsonParser",
    "logfmt": "parsers.logfmt:LogfmtParser",
    "syslog": "parsers.syslog:SyslogParser",
    "nginx": "parsers.nginx:NginxParser",
    "apache": "parsers.apache:ApacheParser",
    "docker": "parsers.docker:DockerParser",
    "cri": "parsers.cri:CriParser",
    "aws_alb": "parsers.aws_alb:AwsAlbParser",
    "haproxy": "parsers.haproxy:HaproxyParser",
    "postgresql": "parsers.postgresql:PostgresqlParser",
    "mysql": "parsers.mysql:MysqlParser",
    "auth": "parsers.auth:AuthParser",
    "kernel": "parsers.kernel:KernelParser",
    "iptables": "parsers.iptables:IptablesParser",
    "postfix": "parsers.postfix:PostfixParser",
    "gpu_xid": "parsers.gpu_xid:GpuXidParser",
    "rabbitmq": "parsers.rabbitmq:RabbitmqParser",
    "java": "parsers.java:JavaParser",
    "auto": "parsers.auto:AutoParser",
}


class ParserNotFound(LookupError):
    """No parser of that name is registered."""


class DuplicateParser(ParserNotFound):
    """Two owners registered the same parser name. (A kind of :class:`ParserNotFound`: the name
    cannot be resolved, so config validation reports it on the source's ``parser`` key.)"""


@dataclass(frozen=True, slots=True)
class Entry:
    """Where a parser comes from: ``origin`` is ``builtin`` or ``plugin``; ``owner`` names the
    distribution (plugins) or ``logagent`` (built-ins)."""

    name: str
    target: str
    origin: str
    owner: str


_plugins: dict[str, Entry] | None = None


def _scan_plugins() -> dict[str, Entry]:
    """The ``logagent.parsers`` entry points, checked for duplicate names (once per process)."""
    global _plugins
    if _plugins is not None:
        return _plugins
    found: dict[str, Entry] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        owner = ep.dist.name if ep.dist is not None else "unknown distribution"
        entry = Entry(ep.name, ep.value, "plugin", owner)
        if ep.name in BUILTINS:
            raise DuplicateParser(
                f"parser {ep.name!r} from plugin {owner!r} (entry point {ep.value}) clashes with the "
                f"built-in parser of that name (logagent, {BUILTINS[ep.name]})"
            )
        prev = found.get(ep.name)
        if prev is not None and prev.target != ep.value:
            raise DuplicateParser(
                f"parser {ep.name!r} is registered twice: by {prev.owner!r} ({prev.target}) and by "
                f"{owner!r} ({ep.value})"
            )
        found[ep.name] = entry
    _plugins = found
    return found


def reset_plugins() -> None:
    """Forget the scanned entry points (tests; a new scan happens on the next lookup)."""
    global _plugins
    _plugins = None


def entries() -> list[Entry]:
    """Every registered parser (built-ins, then plugins), by name."""
    out = [Entry(name, target, "builtin", "logagent") for name, target in BUILTINS.items()]
    out.extend(_scan_plugins().values())
    return sorted(out, key=lambda e: e.name)


def available() -> list[str]:
    """Names of every registered parser."""
    return [e.name for e in entries()]


def _load(target: str) -> Callable[[], Parser]:
    module_name, _, attr = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[return-value]


def get_parser_class(name: str) -> Callable[[], Parser]:
    """The class (or factory) registered under ``name``."""
    target = BUILTINS.get(name)
    if target is None:
        entry = _scan_plugins().get(name)
        if entry is None:
            raise ParserNotFound(f"unknown parser {name!r}; known: {', '.join(available())}")
        target = entry.target
    return _load(target)


def get_parser(name: str) -> Parser:
    """A new instance of the parser registered under ``name``."""
    return get_parser_class(name)()


def describe(name: str) -> str:
    """The one-line description of a registered parser."""
    return getattr(get_parser_class(name), "description", "") or ""
