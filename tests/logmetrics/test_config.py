"""``[metrics.NAME]`` validation: every mistake is refused at load with its dotted key."""

from __future__ import annotations

import pytest

from logagent.config.loader import load_config_text
from logagent.errors import ConfigError, ConfigErrors
from logagent.logmetrics.config import DEFAULT_BUCKETS, MetricsSection
from tests.logmetrics.helpers import SOURCES


def load(toml: str) -> MetricsSection:
    return load_config_text(SOURCES + toml).sections["metrics"]


def errors_of(toml: str) -> list[str]:
    with pytest.raises((ConfigError, ConfigErrors)) as info:
        load(toml)
    exc = info.value
    return [str(e) for e in (exc.errors if isinstance(exc, ConfigErrors) else [exc])]


def test_valid_declarations_load_with_defaults():
    section = load(
        """
[metrics.http_requests_total]
type = "counter"
sources = ["web"]
labels = ["status", "method"]
where = ["status >= 500", 'method = "GET"', "path =~ '/api/.*'"]
match = "timeout"
[metrics.http_request_seconds]
type = "histogram"
field = "request_time"
labels = { code = "status" }
[metrics.queue_depth]
type = "gauge"
field = "depth"
"""
    )
    c = section.metrics["http_requests_total"]
    assert c.labels == {"status": "status", "method": "method"}
    assert [(x.field, x.op, x.value, x.number) for x in c.conditions] == [
        ("status", ">=", "500", 500.0),
        ("method", "=", "GET", None),
        ("path", "=~", "/api/.*", None),
    ]
    h = section.metrics["http_request_seconds"]
    assert h.labels == {"code": "status"}
    assert h.bucket_bounds == DEFAULT_BUCKETS
    assert h.max_series == 1000 and h.expire_secs is None
    assert list(section.metrics) == ["http_requests_total", "http_request_seconds", "queue_depth"]


@pytest.mark.parametrize(
    ("toml", "key", "reason"),
    [
        ('[metrics.requests]\ntype = "counter"', "metrics.requests", "must end in '_total'"),
        ('[metrics.depth_total]\ntype = "gauge"\nfield = "d"', "metrics.depth_total", "only counters"),
        (
            '[metrics.logagent_x_total]\ntype = "counter"',
            "metrics.logagent_x_total",
            "reserved for the agent",
        ),
        ('[metrics."9lives_total"]\ntype = "counter"', "metrics.9lives_total", "invalid metric name"),
        ('[metrics."a:b_total"]\ntype = "counter"', "metrics.a:b_total", "invalid metric name"),
        (
            '[metrics.lat_bucket]\ntype = "histogram"\nfield = "x"',
            "metrics.lat_bucket",
            "reserved for histogram",
        ),
        ('[metrics.x_count_total]\ntype = "counter"', "metrics.x_count_total", "must not end in 'count'"),
        ('[metrics.x]\ntype = "gauge"', "metrics.x", "needs `field`"),
        ('[metrics.x]\ntype = "summary"', "metrics.x.type", "expected one of"),
        ('[metrics.x_total]\ntype = "counter"\nbuckets = [1]', "metrics.x_total", "histograms only"),
        ('[metrics.x]\ntype = "histogram"\nfield = "v"\nbuckets = [1, 1]', "metrics.x.buckets", "increasing"),
        ('[metrics.x]\ntype = "histogram"\nfield = "v"\nlabels = ["le"]', "metrics.x", "'le'"),
        ('[metrics.x_total]\ntype = "counter"\nlabels = ["a-b"]', "metrics.x_total.labels", "invalid label"),
        ('[metrics.x_total]\ntype = "counter"\nlabels = ["__a"]', "metrics.x_total.labels", "invalid label"),
        (
            '[metrics.x_total]\ntype = "counter"\nlabels = "status"',
            "metrics.x_total.labels",
            "expected a list",
        ),
        (
            '[metrics.x_total]\ntype = "counter"\nwhere = ["status"]',
            "metrics.x_total.where",
            "FIELD OP VALUE",
        ),
        ('[metrics.x_total]\ntype = "counter"\nwhere = ["a < b"]', "metrics.x_total.where", "needs a number"),
        ('[metrics.x_total]\ntype = "counter"\nwhere = ["a =~ ("]', "metrics.x_total.where", "invalid regex"),
        ('[metrics.x_total]\ntype = "counter"\nmatch = "("', "metrics.x_total.match", "invalid regex"),
        (
            '[metrics.x_total]\ntype = "counter"\nmax_series = 0',
            "metrics.x_total.max_series",
            "greater than 0",
        ),
        ('[metrics.x_total]\ntype = "counter"\nbogus = 1', "metrics.x_total.bogus", "unknown key"),
        ('[metrics.x_total]\ntype = "counter"\nname = "y"', "metrics.x_total.name", "unknown key"),
        ("[metrics]\nx_total = 3", "metrics.x_total", "expected a table"),
    ],
)
def test_bad_declaration_names_key_and_reason(toml, key, reason):
    errs = errors_of(toml)
    assert len(errs) == 1, errs
    assert errs[0].startswith(f"{key}: "), errs
    assert reason in errs[0]


def test_names_whose_samples_clash_are_refused():
    errs = errors_of(
        """
[metrics.req_total]
type = "counter"
[metrics.req]
type = "gauge"
field = "x"
"""
    )
    assert errs == ["metrics.req: its samples clash with metric 'req_total'"]


def test_every_bad_metric_is_reported_at_once():
    errs = errors_of('[metrics.a]\ntype = "counter"\n[metrics.b]\ntype = "gauge"\n')
    assert [e.split(":")[0] for e in errs] == ["metrics.a", "metrics.b"]


def test_where_operators_and_quoting():
    section = load(
        """
[metrics.x_total]
type = "counter"
where = ["a == 1", "b != ''", "c !~ x.*", "d <= 2.5", "e > -1", 'f = "500"']
"""
    )
    conds = section.metrics["x_total"].conditions
    assert [(c.op, c.value, c.number) for c in conds] == [
        ("=", "1", 1.0),
        ("!=", "", None),
        ("!~", "x.*", None),
        ("<=", "2.5", 2.5),
        (">", "-1", -1.0),
        ("=", "500", None),  # quoted: compared as text
    ]


def test_a_metric_naming_an_unknown_source_is_refused():
    errs = errors_of('[metrics.x_total]\ntype = "counter"\nsources = ["web", "nope"]\n')
    assert errs == ["metrics.x_total.sources[1]: unknown source 'nope'"]
