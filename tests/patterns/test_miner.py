"""The miner and its masking: grouping, wildcards, stable ids, the LRU cap, the store."""

from __future__ import annotations

from pathlib import Path

import orjson

from logagent.patterns import store
from logagent.patterns.masking import Masker, Masking
from logagent.patterns.miner import Miner, MinerOptions, template_id


def test_masking_kinds_and_digit_words():
    m = Masker(Masking())
    assert m.tokens("Received block blk_-1608999687919862906 of size 91178 from /10.250.19.102") == [
        "Received",
        "block",
        "<*>",
        "of",
        "size",
        "<*>",
        "from",
        "<*>",
    ]
    # IPs with ports, UUIDs, hex, paths without digits, a host:port pair as one wildcard.
    assert (
        m.tokens("10.0.0.1:8080 b9000564-fe1a-409b-b8cc-1e88b294cd1d 0xdeadbeef /var/www/html/")
        == ["<*>"] * 4
    )
    assert m.tokens("proxy.example.org:5070 open") == ["proxy.example.org:<*>", "open"]
    # Letters ending in one digit name protocols: their letters stay (SOCKS5 is not HTTPS).
    assert m.tokens("SOCKS5 ssh2 HTTPS") == ["SOCKS<*>", "ssh<*>", "HTTPS"]
    # Spans: a month-name date and a number with its unit are one wildcard each.
    assert m.tokens("at Fri Jun 17 07:07:00 2005 took <1 sec") == ["at", "<*>", "took", "<*>"]
    assert m.tokens("key=value,count=12 (1.16 KiB") == ["key=value,count=<*>", "<*>", "KiB"]
    assert m.tokens('acquire tag="View Lock", name=x') == ["acquire", 'tag="<*>",', "name=x"]
    # A size restated in parentheses is dropped: with or without it, one template.
    assert m.tokens("1190 bytes (1.16 KB) sent") == m.tokens("0 bytes sent") == ["<*>", "bytes", "sent"]


def test_masking_can_be_narrowed():
    m = Masker(Masking(kinds=("ips",), digit_tokens=False))
    assert m.tokens("from 10.0.0.1 size 42 node-7") == ["from", "<*>", "size", "42", "node-7"]
    assert Masker(Masking(kinds=(), digit_tokens=False)).tokens("a 1  b") == ["a", "1", "b"]


def test_lines_of_one_kind_share_a_template():
    m = Miner()
    a, new_a = m.add("Connection from 10.0.0.1 port 22 closed")
    b, new_b = m.add("Connection from 10.0.0.2 port 2222 closed")
    c, new_c = m.add("Disk /dev/sda1 is full")
    assert (new_a, new_b, new_c) == (True, False, True)
    assert a is b and a is not c
    assert a.template == "Connection from <*> port <*> closed"
    assert a.count == 2 and c.count == 1


def test_words_that_vary_become_wildcards_only_with_enough_values():
    m = Miner()
    # Two values at one position: kept apart (initialization/finalization are different events).
    s = m.add("Starting TrustedInstaller initialization.")[0]
    e = m.add("Starting TrustedInstaller finalization.")[0]
    assert s is not e
    users = ["root", "admin", "oracle", "guest", "test"]
    clusters = [m.add(f"Invalid user {u} from 10.0.0.{i}")[0] for i, u in enumerate(users)]
    final = {c.resolve() for c in clusters}
    assert len(final) == 1
    merged = final.pop()
    assert merged.template == "Invalid user <*> from <*>"
    assert merged.count == 5
    # The survivor keeps the id of the oldest member.
    assert merged.id == clusters[0].id
    assert m.add("Invalid user nobody from 10.0.0.9")[0] is merged
    # New templates: the two Starting ones and the first three users; the fourth user merged them.
    assert m.created == 5 and m.merged == 3


def test_ids_are_stable_and_derived_from_the_first_template():
    lines = ["GET /index.html 200", "worker 3 started", "GET /about.html 404", "worker 4 started"]
    one, two = Miner(), Miner()
    ids1 = [one.add(x)[0].id for x in lines]
    ids2 = [two.add(x)[0].id for x in lines]
    assert ids1 == ids2
    assert ids1[1] == template_id(["worker", "<*>", "started"])
    assert len(ids1[0]) == 12


def test_lru_cap_evicts_and_counts():
    m = Miner(MinerOptions(max_templates=3))
    for word in ["alpha", "bravo", "charlie", "delta", "echo"]:
        m.add(f"{word} happened")
    assert len(m.clusters) == 3
    assert m.evicted == 2
    kept = [c.template for c in m.clusters.values()]
    assert kept == ["charlie happened", "delta happened", "echo happened"]
    # Seeing "charlie" again makes "delta" the least recently used.
    m.add("charlie happened")
    m.add("foxtrot happened")
    assert sorted(c.template.split()[0] for c in m.clusters.values()) == ["charlie", "echo", "foxtrot"]
    assert m.evicted == 3


def test_store_round_trip_keeps_ids_templates_and_counts(tmp_path: Path):
    m = Miner()
    for i in range(5):
        m.add(f"session opened for user u{i} by uid {i}")
        m.add(f"job {i} done in {i}ms")
    path = store.store_path(tmp_path, "app/x y")
    assert path.parent == tmp_path / "patterns" and path.name.startswith("app_x_y-")
    assert store.store_path(tmp_path, "app_x_y").name == "app_x_y.json"
    assert store.store_path(tmp_path, "app").name == "app.json"
    store.save(m, path)
    restored = Miner()
    assert store.load(restored, path) == len(m.clusters)
    assert [c.to_dict() for c in restored.clusters.values()] == [c.to_dict() for c in m.clusters.values()]
    # A line of a known kind gets the persisted id, not a new one.
    c, new = restored.add("job 99 done in 7ms")
    assert not new and c.id == m.add("job 98 done in 3ms")[0].id


def test_damaged_store_starts_empty(tmp_path: Path):
    path = tmp_path / "p.json"
    path.write_bytes(b'{"version": 1, "clusters": [{"id": "x"}]}')
    m = Miner()
    assert store.load(m, path) == 0 and not m.clusters
    path.write_bytes(b"not json")
    assert store.load(m, path) == 0
    assert store.load(m, tmp_path / "missing.json") == 0
    # A saved file is valid JSON, replaced atomically (no temporary left behind).
    m.add("hello world")
    store.save(m, path)
    assert orjson.loads(path.read_bytes())["clusters"][0]["template"] == "hello world"
    assert not list(tmp_path.glob("*.tmp"))


def test_no_digit_survives_masking_so_equal_shapes_mine_alike():
    m = Masker(Masking())
    for msg in [
        "Saved to hdfs://10.10.34.11:9000/pjhe/test/1/_temporary/0/task_201706092018_0024_m_000003",
        "worker-12 x86_64 SOCKS5 v2.3.4 id=77 [01/Jan/2024:00:00:00 +0000]",
    ]:
        assert not any(ch.isdigit() for ch in " ".join(m.tokens(msg)))
    # The shape cache (digits read as 0) gives what mining without any cache gives.
    lines = [f"job {i} of user{i % 7} took {i * 37 % 1000}ms on node-{i % 13}" for i in range(300)]
    lines += [f"Invalid user {u} from 10.0.{i}.1" for i, u in enumerate(["a", "b", "c", "d", "e"] * 3)]
    cached, plain = Miner(), Miner(MinerOptions(cache_size=0, shape_cache=0))
    got = [c.resolve().id for c in cached.add_batch(lines)]
    want = [c.resolve().id for c in plain.add_batch(lines)]
    assert got == want
    assert len(set(got)) == 2


def test_dotted_names_do_not_route():
    m = Miner()
    jobs = ["com.apple.a.daily:", "com.apple.b.hourly:", "org.example.c:", "net.d.e:"]
    clusters = {m.add(f"{j} told me to run this job; however, start is later")[0].resolve() for j in jobs}
    assert len(clusters) == 1
    assert clusters.pop().template == "<*> told me to run this job; however, start is later"


def test_blank_messages_share_one_template_even_without_caches():
    m = Miner(MinerOptions(cache_size=0, shape_cache=0))
    clusters = {m.add(x)[0] for x in ["", "   ", "", "\t"]}
    assert len(clusters) == 1 and clusters.pop().template == ""
