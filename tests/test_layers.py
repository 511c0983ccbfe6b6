"""No layer reaches into another layer's private modules (import-linter checks the direction).

``sciplab.X._y`` may be imported only from inside ``sciplab.X``; ``sciplab._core`` is the shared home
every layer may use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sciplab

SRC = Path(sciplab.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
    return out


def test_no_layer_imports_another_layers_private_modules():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        own = rel.parts[1] if len(rel.parts) > 1 else ""
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] != "sciplab" or len(parts) < 3:
                continue
            layer, rest = parts[1], parts[2:]
            if layer == "_core" or layer == own:
                continue
            if any(p.startswith("_") and not p.startswith("__") for p in rest):
                bad.append(f"{rel}.py:{line} imports {module}")
    assert not bad, "private modules of another layer imported:\n" + "\n".join(bad)
