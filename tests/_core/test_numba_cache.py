"""The one numba cache policy of the kernel modules (stats resampling, sim network)."""

from __future__ import annotations

import pickle
from pathlib import Path

from sciplab._core.numba_cache import cache_files_usable


def test_whole_files_are_kept_and_broken_ones_removed(tmp_path: Path) -> None:
    whole_index = tmp_path / "kernels.f-10.py311.nbi"
    whole_index.write_bytes(pickle.dumps("stamp") + pickle.dumps({"index": 1}))
    whole_code = tmp_path / "kernels.f-10.py311.1.nbc"
    whole_code.write_bytes(pickle.dumps(b"code"))
    truncated = tmp_path / "kernels.g-20.py311.1.nbc"
    truncated.write_bytes(pickle.dumps(b"code" * 10)[:-3])
    other_module = tmp_path / "other.f-10.py311.nbi"
    other_module.write_bytes(b"")
    assert cache_files_usable(tmp_path, "/pkg/kernels.py") is True
    assert whole_index.exists() and whole_code.exists()
    assert not truncated.exists()
    assert other_module.exists()  # another module's files are not this module's business
