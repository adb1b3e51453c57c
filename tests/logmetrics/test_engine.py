"""The per-batch engine: filters, labels, values, the series cap and expiry."""

from __future__ import annotations

import pytest

from logagent.config.loader import load_config_text
from logagent.event import Batch
from logagent.logmetrics.engine import batch_hook
from logagent.metrics import AgentMetrics
from parsers.base import Record
from tests.logmetrics.helpers import SOURCES, FakeClock, batch, make_engine, series_of, value


def L(**kw: str) -> frozenset[tuple[str, str]]:
    return frozenset(kw.items())


def test_counter_counts_lines_by_label_set():
    engine, m = make_engine('[metrics.req_total]\ntype = "counter"\nlabels = ["status", "method"]\n')
    rows = [
        {"status": 200, "method": "GET"},
        {"status": "200", "method": "GET"},  # same series as the int 200
        {"status": 200.0, "method": "GET"},
        {"status": 404, "method": "GET"},
        {"status": 500, "method": "POST"},
    ]
    engine(batch("web", rows))
    engine(batch("web", rows[:1]))
    assert series_of(m, "req_total") == {
        L(status="200", method="GET"): 4,
        L(status="404", method="GET"): 1,
        L(status="500", method="POST"): 1,
    }


def test_label_table_renames_and_missing_field_is_empty():
    engine, m = make_engine('[metrics.req_total]\ntype = "counter"\nlabels = { code = "status" }\n')
    engine(batch("web", [{"status": 301}, {"other": 1}]))
    assert series_of(m, "req_total") == {L(code="301"): 1, L(code=""): 1}


# (where expression, field values, how many match)
WHERE_CASES = [
    ("status >= 500", [499, 500, "503", "x", None, 600.5], 3),
    ("status > 500", [500, 501], 1),
    ("status < 300", [200, "299.9", 300, "abc"], 2),
    ("status <= 300", [300, 301], 1),
    ("status = 200", [200, "200", 200.0, "200.0", "0200", 201], 5),
    ("status = '200'", [200, "200", "200.0"], 2),  # quoted: text equality ("200" and 200's text)
    ("status != 200", [200, 201, None], 2),
    ("method = GET", ["GET", "get", None], 1),
    ("method = ''", ["GET", "", None], 2),  # a missing field is the empty string
    ("method != ''", ["GET", "", None], 1),
    ("path =~ /api/.*", ["/api/x", "/v1/api/x", "/api"], 1),  # anchored, as in PromQL
    ("path !~ /api/.*", ["/api/x", "/v1/api/x", None], 2),
    ("ok = true", [True, False, "true"], 2),
]


@pytest.mark.parametrize(("expr", "values", "expected"), WHERE_CASES)
def test_where_operators(expr, values, expected):
    engine, m = make_engine(f'[metrics.hits_total]\ntype = "counter"\nwhere = ["{expr}"]\n')
    field = expr.split()[0]
    rows = [{} if v is None else {field: v} for v in values]
    engine(batch("web", rows))
    assert (value(m, "hits_total") or 0) == expected


def test_several_where_conditions_all_apply_and_match_is_a_search_on_the_raw_line():
    engine, m = make_engine(
        """
[metrics.slow_total]
type = "counter"
where = ["status >= 500", "method = GET"]
match = "timeout|timed out"
"""
    )
    rows = [
        {"status": 502, "method": "GET"},
        {"status": 502, "method": "GET"},
        {"status": 502, "method": "POST"},
        {"status": 200, "method": "GET"},
    ]
    lines = ["upstream timeout", "ok", "timed out", "timeout"]
    engine(batch("web", rows, lines))
    assert value(m, "slow_total") == 1


def test_counter_adds_a_field_and_counts_bad_values():
    engine, m = make_engine(
        '[metrics.bytes_sent_total]\ntype = "counter"\nfield = "bytes"\nlabels = ["vhost"]\n'
    )
    rows = [
        {"vhost": "a", "bytes": 100},
        {"vhost": "a", "bytes": "250"},
        {"vhost": "b", "bytes": 1.5},
        {"vhost": "b", "bytes": "-"},
        {"vhost": "b", "bytes": -3},  # a counter cannot go down
        {"vhost": "b"},
    ]
    engine(batch("web", rows))
    assert series_of(m, "bytes_sent_total") == {L(vhost="a"): 350, L(vhost="b"): 1.5}
    assert value(m, "logagent_metric_value_errors_total", metric="bytes_sent_total") == 3


def test_gauge_keeps_the_last_value_of_each_series():
    engine, m = make_engine('[metrics.queue_depth]\ntype = "gauge"\nfield = "depth"\nlabels = ["q"]\n')
    engine(batch("web", [{"q": "a", "depth": 5}, {"q": "b", "depth": 1}, {"q": "a", "depth": "7"}]))
    engine(batch("web", [{"q": "b", "depth": 0}, {"q": "b", "depth": "oops"}]))
    assert series_of(m, "queue_depth") == {L(q="a"): 7, L(q="b"): 0}


def test_histogram_buckets_are_upper_inclusive_and_cumulative():
    engine, m = make_engine('[metrics.req_seconds]\ntype = "histogram"\nfield = "t"\nbuckets = [0.1, 1, 5]\n')
    values = [0.05, 0.1, 0.2, 1.0, "3", 7, 100]
    engine(batch("web", [{"t": v} for v in values] + [{"t": "-"}, {}]))
    got = series_of(m, "req_seconds_bucket")
    assert got == {L(le="0.1"): 2, L(le="1.0"): 4, L(le="5.0"): 5, L(le="+Inf"): 7}
    assert value(m, "req_seconds_count") == 7
    assert value(m, "req_seconds_sum") == pytest.approx(sum(float(v) for v in values))
    assert value(m, "logagent_metric_value_errors_total", metric="req_seconds") == 2


def test_sources_restrict_which_batches_feed_a_metric():
    engine, m = make_engine(
        '[metrics.a_total]\ntype = "counter"\nsources = ["web"]\n[metrics.b_total]\ntype = "counter"\n'
    )
    engine(batch("web", [{}, {}]))
    engine(batch("other", [{}]))
    assert value(m, "a_total") == 2
    assert value(m, "b_total") == 3


def test_field_lookup_falls_back_to_source_fields_labels_and_pseudo_fields():
    engine, m = make_engine(
        '[metrics.ev_total]\ntype = "counter"\nlabels = ["unit", "env", "source", "level", "message"]\n'
    )
    b = Batch(
        "web", ["l1", "l2"], labels={"env": "prod"}, fields=[{"unit": "ssh"}, {"unit": "cron", "env": "x"}]
    )
    b.records = [Record(level="error", message="boom", fields={"unit": "parsed"}), Record(message="hi")]
    engine(b)
    assert series_of(m, "ev_total") == {
        L(unit="parsed", env="prod", source="web", level="error", message="boom"): 1,
        L(unit="cron", env="x", source="web", level="", message="hi"): 1,
    }


def test_without_a_parser_message_is_the_raw_line():
    engine, m = make_engine('[metrics.err_total]\ntype = "counter"\nwhere = ["message =~ .*ERROR.*"]\n')
    engine(Batch("web", ["a ERROR b", "fine", "ERROR"]))
    assert value(m, "err_total") == 2


def test_lines_the_parser_rejected_feed_only_match_only_metrics():
    engine, m = make_engine(
        '[metrics.all_total]\ntype = "counter"\nlabels = ["status"]\n'
        '[metrics.raw_total]\ntype = "counter"\nmatch = "."\n'
    )
    b = Batch("web", ["good", "bad"])
    b.records = [Record(fields={"status": 200}), Record(message="bad", error="no match")]
    engine(b)
    assert series_of(m, "all_total") == {L(status="200"): 1}
    assert value(m, "raw_total") == 2


def test_unhashable_field_values_become_text_labels():
    engine, m = make_engine('[metrics.t_total]\ntype = "counter"\nlabels = ["tags"]\n')
    engine(batch("web", [{"tags": ["a", "b"]}, {"tags": "x"}]))
    assert series_of(m, "t_total") == {L(tags="['a', 'b']"): 1, L(tags="x"): 1}


def test_max_series_caps_new_label_sets_and_counts_the_refusals():
    engine, m = make_engine('[metrics.u_total]\ntype = "counter"\nlabels = ["user"]\nmax_series = 2\n')
    engine(batch("web", [{"user": "a"}, {"user": "b"}, {"user": "a"}]))
    engine(batch("web", [{"user": "c"}, {"user": "d"}, {"user": "d"}, {"user": "a"}]))
    engine(batch("web", [{"user": "c"}]))
    assert series_of(m, "u_total") == {L(user="a"): 3, L(user="b"): 1}
    # c and d refused in the 2nd batch (once each), c again in the 3rd.
    assert value(m, "logagent_metric_series_dropped_total", metric="u_total") == 3
    assert value(m, "logagent_metric_series", metric="u_total") == 2


def test_series_not_seen_for_expire_secs_are_forgotten_and_counted():
    clock = FakeClock()
    engine, m = make_engine(
        '[metrics.u_total]\ntype = "counter"\nlabels = ["user"]\nexpire_secs = 60\nmax_series = 2\n', clock
    )
    engine(batch("web", [{"user": "a"}, {"user": "b"}]))
    clock.t += 30
    engine(batch("web", [{"user": "a"}]))
    clock.t += 45  # b last seen 75 s ago, a 45 s ago
    assert series_of(m, "u_total") == {L(user="a"): 2}
    assert value(m, "logagent_metric_series_expired_total", metric="u_total") == 1
    # The freed slot takes a new label set; an expired series restarts from zero.
    engine(batch("web", [{"user": "c"}]))
    clock.t += 61
    engine(batch("web", [{"user": "b"}]))
    assert series_of(m, "u_total") == {L(user="b"): 1}
    assert value(m, "logagent_metric_series_expired_total", metric="u_total") == 3


def test_reload_keeps_series_of_unchanged_metrics_only():
    base = SOURCES + '[metrics.a_total]\ntype = "counter"\n[metrics.b_total]\ntype = "counter"\n'
    m = AgentMetrics()
    hook = batch_hook(load_config_text(base), m)
    assert hook is not None
    hook(batch("web", [{}, {}]))
    changed = (
        SOURCES + '[metrics.a_total]\ntype = "counter"\n[metrics.b_total]\ntype = "counter"\nmatch = "x"\n'
    )
    hook2 = batch_hook(load_config_text(changed), m)
    assert hook2 is hook  # one engine, one collector in the registry
    assert value(m, "a_total") == 2
    assert value(m, "b_total") is None  # redefined: starts again
    assert batch_hook(load_config_text(SOURCES), m) is None
    assert value(m, "a_total") is None
    assert value(m, "logagent_metric_series", metric="a_total") is None  # its gauge goes too


def test_no_metrics_section_means_no_hook():
    assert batch_hook(load_config_text(SOURCES), AgentMetrics()) is None


@pytest.mark.parametrize(
    "values",
    [
        [0.05, 0.1, 0.2, 1.0, 3.0, 7.0, 100.0, 0.0],  # all floats: the C fast path
        ["0.05", 0.1, 0.2, 1, "3", 7, 100, 0],  # mixed: the per-line path
    ],
)
def test_fast_and_per_line_paths_agree(values):
    engine, m = make_engine(
        '[metrics.h]\ntype = "histogram"\nfield = "t"\nbuckets = [0.1, 1, 5]\n'
        '[metrics.c_total]\ntype = "counter"\nfield = "t"\n'
    )
    engine(batch("web", [{"t": v} for v in values]))
    engine(batch("web", [{"t": 0.5}]))
    assert series_of(m, "h_bucket") == {L(le="0.1"): 3, L(le="1.0"): 6, L(le="5.0"): 7, L(le="+Inf"): 9}
    assert value(m, "h_sum") == pytest.approx(111.85)
    assert value(m, "c_total") == pytest.approx(111.85)


def test_negative_or_nan_floats_leave_the_fast_path_and_are_counted():
    engine, m = make_engine(
        '[metrics.h]\ntype = "histogram"\nfield = "t"\nbuckets = [1]\n'
        '[metrics.c_total]\ntype = "counter"\nfield = "t"\n'
    )
    engine(batch("web", [{"t": 2.0}, {"t": -1.0}, {"t": float("nan")}]))
    assert value(m, "c_total") == 2.0  # -1 and NaN refused
    assert value(m, "h_count") == 2  # NaN refused; -1 is a valid observation
    assert value(m, "h_sum") == 1.0
    assert value(m, "logagent_metric_value_errors_total", metric="c_total") == 2
    assert value(m, "logagent_metric_value_errors_total", metric="h") == 1


MATCH_GROUPS = r"""
[metrics.rx_requests_total]
type = "counter"
labels = ["status"]
match = '" (?P<status>\d{3}) (?P<bytes>\d+) (?P<rt>[\d.]+)$'
[metrics.rx_seconds]
type = "histogram"
field = "rt"
buckets = [0.1, 1]
match = '" (?P<status>\d{3}) (?P<bytes>\d+) (?P<rt>[\d.]+)$'
where = ["status >= 500"]
"""


def test_match_named_groups_are_fields_without_a_parser():
    engine, m = make_engine(MATCH_GROUPS)
    lines = [
        '"GET /" 200 10 0.05',
        '"GET /" 500 10 0.5',
        "garbage",
        '"GET /" 503 10 2',
        '"GET /" 200 10 0.01',
    ]
    engine(Batch("web", lines))
    assert series_of(m, "rx_requests_total") == {L(status="200"): 2, L(status="500"): 1, L(status="503"): 1}
    assert series_of(m, "rx_seconds_bucket") == {L(le="0.1"): 0, L(le="1.0"): 1, L(le="+Inf"): 2}
    assert value(m, "rx_seconds_sum") == 2.5


def test_match_groups_override_parsed_fields_and_ignore_parse_failures():
    engine, m = make_engine(
        MATCH_GROUPS
        + '[metrics.mixed_total]\ntype = "counter"\nlabels = ["status", "vhost"]\n'
        + "match = ' (?P<status>\\d{3}) '\n"
    )
    b = Batch("web", ['"GET /" 200 10 0.05', '"GET /" 404 10 0.5', "x 301 y", "nothing"])
    b.records = [
        Record(fields={"status": 999, "vhost": "a"}),
        Record(error="no match"),
        Record(fields={"vhost": "b"}),
        Record(fields={"vhost": "c"}),
    ]
    engine(b)
    # Reads only groups: every matching line counts, parsed or not, with the group's value.
    assert series_of(m, "rx_requests_total") == {L(status="200"): 1, L(status="404"): 1}
    # Also reads a parsed field: the rejected line is out; the others take status from the group.
    assert series_of(m, "mixed_total") == {L(status="200", vhost="a"): 1, L(status="301", vhost="b"): 1}


def test_a_broken_batch_is_skipped_and_logged_once_never_raised(caplog):
    engine, m = make_engine('[metrics.c_total]\ntype = "counter"\nlabels = ["status"]\n')
    bad = Batch("web", ["a", "b"])
    bad.records = [Record(fields={"status": 1})]  # one record for two lines: a parser bug
    engine(bad)
    engine(bad)
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    engine(batch("web", [{"status": 1}]))  # later batches still count
    assert series_of(m, "c_total") == {L(status="1"): 1}
