"""CloudWatch Logs API limits the sink enforces itself (the service rejects, moto does not check).

Source: the PutLogEvents API reference,
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
(and PutRetentionPolicy for the retention values, CreateLogGroup / CreateLogStream for names).
"""

from __future__ import annotations

#: A request holds at most this many bytes, counted as UTF-8 message bytes plus
#: :data:`EVENT_OVERHEAD_BYTES` per event.
MAX_REQUEST_BYTES = 1_048_576
#: Bytes the service adds to each event's message when counting a request's size.
EVENT_OVERHEAD_BYTES = 26
#: At most this many events per request.
MAX_REQUEST_EVENTS = 10_000
#: The documented maximum size of one event (1 MB; older documentation said 256 KB). Counted with
#: the per-event overhead, so one event alone always fits in a request.
MAX_EVENT_BYTES = 1_048_576
#: The smallest event size a user may configure (``max_event_bytes``).
MIN_EVENT_BYTES = 1024
#: The events of one request must span less than 24 hours (first to last timestamp).
MAX_REQUEST_SPAN_MS = 24 * 3600 * 1000
#: Events older than 14 days are rejected ("tooOld").
MAX_EVENT_AGE_MS = 14 * 24 * 3600 * 1000
#: Events more than 2 hours in the future are rejected ("tooNew").
MAX_EVENT_FUTURE_MS = 2 * 3600 * 1000
#: A message must be at least one character long.
MIN_MESSAGE_BYTES = 1

#: The values PutRetentionPolicy accepts for ``retentionInDays``.
RETENTION_DAYS = frozenset(
    (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
)

#: Log group names: 1-512 characters of a-z A-Z 0-9 '_' '-' '/' '.' '#'.
MAX_GROUP_NAME = 512
GROUP_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/.#")
#: Log stream names: 1-512 characters, no ':' or '*'.
MAX_STREAM_NAME = 512
STREAM_NAME_FORBIDDEN = frozenset(":*")
