from fastslow.models.base import Request
from fastslow.models.cached import CachedModel
from fastslow.store import Store
from tests.fakes import ScriptedModel


def _req(content, n=1, **kw):
    return Request([{"role": "user", "content": content}], n=n, **kw)


def test_second_call_is_served_from_cache(tmp_path):
    inner = ScriptedModel(lambda r, k: f"{r.messages[0]['content']}-{k}")
    m = CachedModel(inner, Store(tmp_path / "c.sqlite"))
    first = m.generate([_req("a", n=3, temperature=0.7), _req("b")])
    assert m.misses == 4 and m.hits == 0
    again = m.generate([_req("a", n=3, temperature=0.7), _req("b")])
    assert inner.generate_calls == 1
    assert m.hits == 4
    assert [c.texts for c in again] == [c.texts for c in first]
    assert again[0].cached == 3 and again[0].completion_tokens == first[0].completion_tokens


def test_only_missing_samples_are_generated(tmp_path):
    inner = ScriptedModel(lambda r, k: f"s{r.seed}-{k}")
    m = CachedModel(inner, Store(tmp_path / "c.sqlite"))
    m.generate([_req("a", n=2, temperature=0.7)])
    out = m.generate([_req("a", n=4, temperature=0.7)])
    assert inner.requests[-1].n == 2 and inner.requests[-1].seed == 2
    assert out[0].texts[:2] == ["s0-0", "s0-1"] and out[0].cached == 2


def test_cache_survives_a_new_process_object(tmp_path):
    path = tmp_path / "c.sqlite"
    CachedModel(ScriptedModel(["x"]), Store(path)).generate([_req("q")])
    inner = ScriptedModel([])
    out = CachedModel(inner, Store(path)).generate([_req("q")])
    assert out[0].texts == ["x"] and inner.generate_calls == 0


def test_different_sampling_params_miss(tmp_path):
    inner = ScriptedModel(lambda r, k: "y")
    m = CachedModel(inner, Store(tmp_path / "c.sqlite"))
    m.generate([_req("q")])
    m.generate([_req("q", max_tokens=10)])
    m.generate([_req("q", prefill="The answer is")])
    assert inner.generate_calls == 3
