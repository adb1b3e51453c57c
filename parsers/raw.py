"""The identity parser: the message is the line."""

from __future__ import annotations

from parsers.base import Parser, Record


class RawParser(Parser):
    name = "raw"
    description = "No parsing: the message is the whole line."

    def parse_batch(self, lines: list[str]) -> list[Record]:
        return [Record(message=line) for line in lines]
