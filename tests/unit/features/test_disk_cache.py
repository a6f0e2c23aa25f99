"""Models kept on disk between processes: fitted once, reloaded, refitted when unreadable."""

from __future__ import annotations

from makegood.features.disk_cache import cache_path, load_or_fit


class Box:
    def __init__(self, value: int) -> None:
        self.value = value


def test_cache_key_follows_every_part(tmp_path, monkeypatch):
    monkeypatch.setenv("MAKEGOOD_CACHE_DIR", str(tmp_path))
    a = cache_path("emotion", "1", "data")
    assert a.parent == tmp_path and a.name.startswith("emotion-") and a.suffix == ".joblib"
    assert a == cache_path("emotion", "1", "data")
    assert len({a, cache_path("emotion", "2", "data"), cache_path("emotion", "1", "data!")}) == 3
    assert cache_path("intents", "1", "data") != a


def test_fitted_once_then_loaded_and_refitted_when_unreadable(tmp_path):
    path = tmp_path / "deep" / "m.joblib"
    calls = []

    def fit() -> Box:
        calls.append(1)
        return Box(len(calls))

    assert load_or_fit(path, Box, fit).value == 1 and path.exists()
    assert load_or_fit(path, Box, fit).value == 1 and len(calls) == 1  # loaded, not fitted
    path.write_bytes(b"half a file")
    assert load_or_fit(path, Box, fit).value == 2  # unreadable: fitted again and rewritten
    assert load_or_fit(path, Box, fit).value == 2 and len(calls) == 2
    assert load_or_fit(path, int, lambda: 7) == 7  # another kind stored there: fitted


def test_unwritable_cache_still_returns_the_fit(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert load_or_fit(blocker / "m.joblib", Box, lambda: Box(3)).value == 3
