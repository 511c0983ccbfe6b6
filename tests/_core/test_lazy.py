"""Lazy package exports (PEP 562), used by ``sciplab``, ``sciplab.scoring`` and ``sciplab.stats.change``."""

from __future__ import annotations

import sys
import types

import pytest

from sciplab._core.lazy import lazy_exports


def test_lazy_exports_import_on_first_use_and_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    package = types.ModuleType("fake_pkg")
    monkeypatch.setitem(sys.modules, "fake_pkg", package)
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    package.__getattr__, package.__dir__ = lazy_exports("fake_pkg", {"rgb_to_hsv": "colorsys"})  # type: ignore[attr-defined]
    assert "colorsys" not in sys.modules
    assert "rgb_to_hsv" in dir(package)
    import colorsys

    assert package.rgb_to_hsv is colorsys.rgb_to_hsv
    assert vars(package)["rgb_to_hsv"] is colorsys.rgb_to_hsv  # cached: __getattr__ not asked again
    with pytest.raises(AttributeError, match="'fake_pkg' has no attribute 'nope'"):
        package.nope  # noqa: B018


def test_stats_change_exports_resolve() -> None:
    import sciplab.stats.change as change
    from sciplab.stats.change import reliable

    for name in change.__all__:
        assert getattr(change, name) is not None, name
    assert change.client_change is reliable.client_change
