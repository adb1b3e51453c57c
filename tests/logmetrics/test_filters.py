"""The column-at-once filters and value aggregation agree with the per-value definitions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logagent.logmetrics.config import Condition, MetricDef, as_number
from logagent.logmetrics.engine import MetricState, RowFilter, predicate

CONDITIONS = [
    "v < 10",
    "v <= 10",
    "v > -2.5",
    "v >= 0",
    "v = 3",
    "v != 3",
    "v = abc",
    "v != abc",
    "v = ''",
    "v =~ a.*",
    "v !~ [0-9]+",
    "v = '3'",
]

numbers = st.one_of(
    st.integers(-20, 20),
    st.floats(-20, 20),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, 2.0, 3.0]),
)
texts = st.one_of(st.sampled_from(["abc", "3", "3.0", "", "a1", "12", "nan", "-1"]), st.text(max_size=4))
anything = st.one_of(numbers, texts, st.none(), st.booleans())
# Homogeneous columns take the vectorised path; mixed ones the per-value one.
columns = st.one_of(
    st.lists(numbers, max_size=30),
    st.lists(texts, max_size=30),
    st.lists(st.one_of(numbers, st.none()), max_size=30),
    st.lists(anything, max_size=30),
)


@settings(max_examples=50, deadline=None)
@given(col=columns, cond=st.sampled_from(CONDITIONS), pick=st.lists(st.booleans(), max_size=30))
def test_row_filter_agrees_with_the_predicate(col, cond, pick):
    c = Condition.parse(cond)
    pred = predicate(c)
    flt = RowFilter(c)
    assert flt.apply(col, None) == [i for i, v in enumerate(col) if pred(v)]
    sel = [i for i, p in zip(range(len(col)), pick, strict=False) if p]
    assert flt.apply(col, sel) == [i for i in sel if pred(col[i])]


def _per_line(kind: str, keys: list, vals: list) -> dict:
    """The aggregate computed one value at a time, straight from the definitions."""
    out: dict = {}
    for k, v in zip(keys, vals, strict=True):
        x = as_number(v)
        if x is None or math.isnan(x) or (kind == "counter" and x < 0):
            continue
        if kind == "counter":
            out[k] = out.get(k, 0.0) + x
        elif kind == "gauge":
            out[k] = x
        else:
            acc = out.setdefault(k, [0, 0, 0, 0.0])
            acc[0 if x <= 0.5 else 1 if x <= 2 else 2] += 1
            acc[3] += x
    return out


@pytest.mark.parametrize("kind", ["counter", "gauge", "histogram"])
@pytest.mark.parametrize("labelled", [False, True])
@settings(max_examples=25, deadline=None)
@given(
    vals=st.one_of(
        st.lists(numbers, max_size=20), st.lists(texts, max_size=20), st.lists(anything, max_size=20)
    )
)
def test_value_aggregation_agrees_with_the_definitions(kind, labelled, vals):
    mdef = MetricDef(
        name="m_total" if kind == "counter" else "m",
        type=kind,
        field="v",
        labels=["k"] if labelled else [],
        buckets=[0.5, 2] if kind == "histogram" else None,
    )
    state = MetricState(mdef, lambda: 0.0)
    keys = [(("a", "b")[i % 2],) if labelled else () for i in range(len(vals))]
    got = state._aggregate_values(keys, vals)
    want = _per_line(kind, keys, vals)
    assert got.keys() == want.keys()
    for k in want:
        if kind == "histogram":
            assert got[k][:-1] == want[k][:-1]
            assert got[k][-1] == pytest.approx(want[k][-1], nan_ok=True)
        else:
            assert got[k] == pytest.approx(want[k], nan_ok=True)
