"""``auto``: detect the format of each source from the built-ins and the common
``timestamp level logger: message`` shapes, per line where needed.

One instance serves one source. The format that matched the previous line is tried first, so a
homogeneous file costs one regex per line; a line it does not fit is tried against every
candidate in order (strict formats first, loose ones such as logfmt last), and the winner becomes
the new first choice. Loose candidates never become the first choice: one stray ``a=b`` line
must not make the rest of a syslog file "logfmt".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import orjson

from parsers.apache import ApacheErrorMatcher
from parsers.base import LineParser, Record
from parsers.logfmt import decode_logfmt
from parsers.nginx import AccessLogMatcher, NginxErrorMatcher
from parsers.shapes import JAVA_SPECS, OTHER_SPECS, build_shapes
from parsers.structured import Extractor


class Matcher(Protocol):
    def match(self, line: str) -> Record | None: ...


class _Json:
    """JSON objects; a Docker json-file line (``log``/``stream``/``time``) is unwrapped."""

    def __init__(self, now: Callable[[], float] | None) -> None:
        self.extractor = Extractor(now=now)
        from parsers.docker import DockerParser

        self.docker = DockerParser(now=now)

    def match(self, line: str) -> Record | None:
        if not line.startswith("{"):
            return None
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(obj, dict):
            return None
        if "log" in obj and "stream" in obj and isinstance(obj["log"], str):
            return self.docker.from_object(obj, line)
        return self.extractor.record(obj, line)


class _Logfmt:
    def __init__(self, now: Callable[[], float] | None) -> None:
        self.extractor = Extractor(now=now)

    def match(self, line: str) -> Record | None:
        # At least two pairs, the first at the start: "a=b" inside prose is not logfmt.
        if line.count("=") < 2 or line.find("=") > line.find(" ") >= 0:
            return None
        obj = decode_logfmt(line)
        if obj is None or sum(1 for v in obj.values() if v is not True) < 2:
            return None
        return self.extractor.record(obj, line)


def candidates(
    tz: str | None = None, now: Callable[[], float] | None = None
) -> tuple[list[Matcher], list[Matcher]]:
    """(strict, loose) matchers in the order ``auto`` tries them."""
    from parsers.aws_alb import AwsAlbParser
    from parsers.cri import CriParser
    from parsers.enrich import enrich_any
    from parsers.kernel import KernelParser
    from parsers.mysql import MysqlErrorMatcher, MysqlSlowMatcher
    from parsers.postgresql import PostgresqlParser
    from parsers.rabbitmq import RabbitmqParser
    from parsers.syslog import SyslogParser

    strict: list[Matcher] = [
        _Json(now),
        CriParser(now=now),
        AccessLogMatcher(),
        SyslogParser(now=now, tz=tz, enrich=enrich_any),
        NginxErrorMatcher(tz),
        ApacheErrorMatcher(tz, now),
        AwsAlbParser(),
        *build_shapes(JAVA_SPECS, tz, now),
        *build_shapes(OTHER_SPECS[:-1], tz, now),
        PostgresqlParser(tz=tz),
        MysqlErrorMatcher(),
        MysqlSlowMatcher(),
        RabbitmqParser(),
        KernelParser(now=now, tz=tz),
    ]
    loose: list[Matcher] = [*build_shapes(OTHER_SPECS[-1:], tz, now), _Logfmt(now)]
    return strict, loose


def _try(cand: Matcher, line: str) -> Record | None:
    # A candidate that trips over a line it half-recognises must not stop the others trying.
    try:
        return cand.match(line)
    except Exception:
        return None


class AutoParser(LineParser):
    name = "auto"
    description = (
        "Detects the format per source (and per line where needed) among the built-ins and common shapes."
    )
    expected = "known"

    def __init__(self, tz: str | None = None, now: Callable[[], float] | None = None) -> None:
        self.strict, self.loose = candidates(tz, now)
        self._last: Matcher = self.strict[0]

    def match(self, line: str) -> Record | None:
        try:
            rec = self._last.match(line)
        except Exception:
            rec = None
        if rec is not None:
            return rec
        for cand in self.strict:
            if cand is not self._last:
                rec = _try(cand, line)
                if rec is not None:
                    self._last = cand
                    return rec
        for cand in self.loose:
            rec = _try(cand, line)
            if rec is not None:
                return rec
        return None

    def failed(self, line: str) -> Record:
        return Record(message=line, error="unrecognised format")

    @property
    def detected(self) -> str:
        """The name of the format that matched last (diagnostics)."""
        last: Any = self._last
        return getattr(last, "name", type(last).__name__)
