"""Parser registry: built-ins by name (imported lazily), plus third-party parsers from the
``logagent.parsers`` entry-point group. (Stub: the full library is its own piece of work.)"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from parsers.base import Parser

#: Built-in parser name -> "module:Class", imported on first use.
BUILTINS: dict[str, str] = {
    "raw": "parsers.raw:RawParser",
    "json": "parsers.json:JsonParser",
}


class ParserNotFound(LookupError):
    """No parser of that name is registered."""


def available() -> list[str]:
    """Names of every registered parser."""
    return sorted(BUILTINS)


def get_parser_class(name: str) -> Callable[[], Parser]:
    """The class registered under ``name``."""
    try:
        target = BUILTINS[name]
    except KeyError:
        raise ParserNotFound(f"unknown parser {name!r}; known: {', '.join(available())}") from None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def get_parser(name: str) -> Parser:
    """A new instance of the parser registered under ``name``."""
    return get_parser_class(name)()
