"""The layer rule of the README's Architecture: data flows down, nothing imports upward."""

import ast
from pathlib import Path

import fastslow

PACKAGE = Path(fastslow.__file__).parent

# Higher numbers are higher layers; a module may import its own layer and the ones below.
LAYERS = {
    "cli": 5,
    "__main__": 5,
    "evaluate": 4,
    "prime": 4,
    "distill": 4,
    "tpo": 4,
    "serve": 4,
    "judges": 3,
    "gradients": 4,
    "report": 4,
    "vote_curve": 4,
    "runs": 3,
    "training": 3,
    "strategies": 2,
    "models": 1,
    "tasks": 1,
    "store": 1,
    "errors": 0,
    "flags": 0,
    "paths": 0,
    "progress": 0,
    "stats": 0,
    "jsonlines": 0,
    "__init__": 0,
}


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.startswith("fastslow.") else "__init__"
    assert top in LAYERS, f"{module}: give it a layer in tests/test_layers.py"
    return LAYERS[top]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fastslow"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fastslow")}
    return found


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = "fastslow." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for imported in _imports(path):
            if imported != "fastslow" and _layer(imported) > _layer(name):
                upward.append(f"{name} imports {imported}")
    assert not upward, upward
