"""Search CloudWatch Logs with FilterLogEvents, paged with ``nextToken``.

A page may be empty while ``nextToken`` is still set (protocols.md §3), so paging continues
until no token comes back. The grep pattern is applied here, client-side: CloudWatch filter
patterns are a different language (terms, JSON and space-delimited selectors), so a pattern is
only sent to the service when given as one, with ``--filter-pattern``. Time bounds go to the
service (``startTime``/``endTime`` in ms). The TPS quota is low: botocore's standard retry
mode backs off on ``ThrottlingException``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from logagent.grep.events import Entry
from logagent.grep.fields import parse_time

#: FilterLogEvents returns at most 10,000 events per page.
MAX_PAGE = 10_000
RETRY_ATTEMPTS = 8


@dataclass
class CloudWatchQuery:
    group: str
    stream_prefix: str | None = None
    filter_pattern: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    page: int | None = None
    region: str | None = None
    endpoint_url: str | None = None
    client: Any = None
    requests: int = 0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CloudWatchQuery:
        if not args.log_group:
            raise ValueError("--from cloudwatch needs --log-group")
        if args.page_size is not None and not 0 < args.page_size <= MAX_PAGE:
            raise ValueError(f"--page-size must be 1..{MAX_PAGE} for CloudWatch")
        now = time.time_ns()
        start = parse_time(args.since, now) // 1_000_000 if args.since else None
        # endTime is inclusive in FilterLogEvents; --until is exclusive.
        end = parse_time(args.until, now) // 1_000_000 - 1 if args.until else None
        return cls(
            group=args.log_group,
            stream_prefix=args.log_stream_prefix,
            filter_pattern=args.filter_pattern,
            start_ms=start,
            end_ms=end,
            page=args.page_size,
            region=args.region,
            endpoint_url=args.endpoint_url,
        )

    def _client(self) -> Any:
        if self.client is None:
            import boto3
            from botocore.config import Config

            self.client = boto3.session.Session().client(
                "logs",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS}),
            )
        return self.client

    def pages(self) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        # `interleaved` is deprecated and always true on AWS; moto still needs it to merge streams.
        kwargs: dict[str, Any] = {"logGroupName": self.group, "interleaved": True}
        if self.stream_prefix:
            kwargs["logStreamNamePrefix"] = self.stream_prefix
        if self.filter_pattern:
            kwargs["filterPattern"] = self.filter_pattern
        if self.start_ms is not None:
            kwargs["startTime"] = self.start_ms
        if self.end_ms is not None:
            kwargs["endTime"] = self.end_ms
        if self.page:
            kwargs["limit"] = self.page
        try:
            client = self._client()
        except BotoCoreError as exc:  # e.g. no region configured
            raise OSError(f"CloudWatch Logs: {exc}") from None
        while True:
            self.requests += 1
            try:
                resp = client.filter_log_events(**kwargs)
            except ClientError as exc:
                err = exc.response.get("Error", {})
                raise OSError(
                    f"CloudWatch Logs: {err.get('Code', 'error')}: {err.get('Message', exc)}"
                ) from None
            except BotoCoreError as exc:
                raise OSError(f"CloudWatch Logs: {exc}") from None
            yield resp
            token = resp.get("nextToken")
            if not token:
                return
            kwargs["nextToken"] = token

    def entries(self) -> Iterator[Entry]:
        prefix = self.stream_prefix or ""
        for resp in self.pages():
            for ev in resp.get("events", []):
                stream = ev.get("logStreamName", "")
                if not stream.startswith(prefix):
                    continue  # the service filters by prefix; moto ignores it, so check here too
                msg = ev.get("message", "")
                if msg.endswith("\n"):
                    msg = msg[:-1]
                yield Entry(
                    ts_ns=int(ev["timestamp"]) * 1_000_000,
                    line=msg,
                    name=stream,
                    labels={"log_group": self.group, "log_stream": stream},
                )
