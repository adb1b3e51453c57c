"""Java application logs in the usual log4j/logback layouts (Hadoop, Zookeeper, Kafka, Spring
Boot, Spark, HDFS): ``timestamp level [thread] logger: message``.

A stack-trace line is not a record of its own: use ``multiline = { start = "java" }`` on the
source so that it is joined to the line it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable

from parsers.base import LineParser, Record
from parsers.shapes import JAVA_SPECS, build_shapes


class JavaParser(LineParser):
    name = "java"
    description = "log4j/logback-style Java logs: timestamp, level, [thread], logger, message."
    expected = "log4j/logback"

    def __init__(self, tz: str | None = None, now: Callable[[], float] | None = None) -> None:
        self.shapes = build_shapes(JAVA_SPECS, tz, now)
        self._last = self.shapes[0]

    def match(self, line: str) -> Record | None:
        rec = self._last.match(line)
        if rec is not None:
            return rec
        for shape in self.shapes:
            if shape is not self._last:
                rec = shape.match(line)
                if rec is not None:
                    self._last = shape
                    return rec
        return None
