"""Exceptions the agent raises on purpose (the CLI maps them to exit codes)."""

from __future__ import annotations


class LogagentError(Exception):
    """Base class."""


class ConfigError(LogagentError):
    """A config is invalid. ``key`` is the dotted path of the offending key (may be empty)."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}" if key else reason)


class ConfigErrors(LogagentError):
    """Several config errors found at once."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
