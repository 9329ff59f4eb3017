"""The layout rules of docs/architecture.md, checked on the source (so that they cannot erode)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The framework modules allowed to import ``assets``: the composition root and the public-contract re-export.
FRAMEWORK_EXCEPTIONS = {"observatory/definitions.py", "observatory/classification.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_framework_never_imports_assets_but_the_composition_root_and_the_reexport():
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m == "assets" or m.startswith("assets."))
        for p in (ROOT / "observatory").rglob("*.py")
        if str(p.relative_to(ROOT)) not in FRAMEWORK_EXCEPTIONS
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_framework_knows_no_french_identifier():
    """SIREN / SIRET / commune code rules live in assets/common/identifiers.py, not in observatory/."""
    words = ("LA_POSTE", "SIRET_RE", "COMMUNE_RE", "luhn", "arrondissement")
    found = {
        str(p.relative_to(ROOT)): [w for w in words if w in p.read_text(encoding="utf-8")]
        for p in (ROOT / "observatory").rglob("*.py")
        if str(p.relative_to(ROOT)) not in FRAMEWORK_EXCEPTIONS
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_the_classification_contract_is_reexported():
    import assets.sirene.classification as impl
    import observatory.classification as contract

    assert contract.classify_operators is impl.classify_operators
    assert set(contract.__all__) == set(impl.__all__) and all(hasattr(contract, n) for n in impl.__all__)
