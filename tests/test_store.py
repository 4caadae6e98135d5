import sqlite3

from fastslow.store import CachedSample, Store, generation_key


def test_put_get_roundtrip_and_wal(tmp_path):
    s = Store(tmp_path / "c.sqlite")
    k = generation_key("m", {"messages": [{"role": "user", "content": "hi"}]}, 0)
    s.put_many("m", [(k, CachedSample("hello", 3, 1, 0.5, "stop", -1.5))])
    got = s.get_many([k, "missing"])
    assert list(got) == [k]
    assert got[k].text == "hello" and got[k].logprob == -1.5
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.count("m") == 1 and s.count("other") == 0


def test_key_depends_on_every_part():
    base = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.7, "seed": 1}
    k = generation_key("m", base, 0)
    assert k == generation_key("m", dict(base), 0)
    assert k != generation_key("m2", base, 0)
    assert k != generation_key("m", base, 1)
    assert k != generation_key("m", {**base, "seed": 2}, 0)
    assert k != generation_key("m", {**base, "temperature": 0.8}, 0)


def test_put_many_is_one_transaction(tmp_path):
    s = Store(tmp_path / "c.sqlite")
    items = [(f"k{i}", CachedSample("t", 1, 1, 0.1, "stop", None)) for i in range(3)]
    items.append(("k0", None))  # a bad row: the whole batch must roll back
    try:
        s.put_many("m", items)
    except (AttributeError, sqlite3.Error):
        pass
    assert s.count() == 0
