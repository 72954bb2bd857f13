"""The package's structure: every calculator names its source, every public name says why.

These tests read the source tree (with `ast`, so nothing is imported beyond the calculators)
and fail with the list of offenders, so a newcomer sees at once what to fix.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from neurocart.standards import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "neurocart"
DOCS = ROOT / "docs"

DOI = re.compile(r"\b10\.\d{4,9}/[^\s;,]+")
YEAR = re.compile(r"\b(19|20)\d\d\b")
# A source published without a DOI (a government document, for instance) must say so in its
# module docstring and give the publisher's address instead.
NO_DOI = re.compile(r"has no DOI.*?https://\S+", re.DOTALL)

AWAITING_DOCSTRING: set[str] = set()
"""Public names allowed without a docstring (none)."""


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_calculator_names_its_publication_and_doi(name: str) -> None:
    calc = REGISTRY[name]
    assert YEAR.search(calc.citation), f"{name}: citation names no year: {calc.citation!r}"
    assert re.search(r"[A-Z][a-z]+", calc.citation), f"{name}: citation names no author"
    module = importlib.import_module(calc.function.__module__)
    doc = module.__doc__ or ""
    if DOI.search(calc.citation) or DOI.search(doc):
        return
    assert NO_DOI.search(doc), (
        f"{name}: neither its citation nor {module.__name__}'s docstring gives a DOI "
        "(10.xxxx/...); a source without one must say 'has no DOI' and give its https address"
    )


def _python_files() -> list[Path]:
    migrations = PACKAGE / "store" / "migrations"
    return sorted(p for p in PACKAGE.rglob("*.py") if not p.is_relative_to(migrations))


def test_the_tree_is_found() -> None:
    files = _python_files()
    assert len(files) > 100
    assert not any("migrations" in p.parts for p in files)


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(p.relative_to(PACKAGE))
        for p in _python_files()
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert not missing, "modules without a docstring:\n" + "\n".join(missing)


def test_every_public_function_and_class_has_a_docstring() -> None:
    missing = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name.startswith("_"):
                continue
            where = f"{path.relative_to(PACKAGE)}:{node.name}"
            doc = ast.get_docstring(node)
            if (doc is None or not doc.strip()) and where not in AWAITING_DOCSTRING:
                missing.append(f"{where} (line {node.lineno})")
    assert not missing, f"{len(missing)} public names without a docstring:\n" + "\n".join(missing)


# Files of the specification the project was built from. They are not in the repository, so a
# reference to one is a dead end for a reader (and clinicians see rule sources in alerts).
SPEC_FILES = (
    "toxicity",
    "outcomes",
    "pathway",
    "trials",
    "calculators",
    "biomarkers",
    "interop",
    "i18n-zh",
    "frames",
)
SPEC_REF = re.compile(
    r"(?P<dir>(?:\.\./)?shared/spec|\bspec/|\bspec §)"
    r"|(?P<prefix>[\w./-]*?)\b(?P<name>" + "|".join(SPEC_FILES) + r")\.md"
)
TEXT_SUFFIXES = {".py", ".toml", ".md", ".html", ".j2", ".txt", ".js", ".css", ".cfg"}


THIS_FILE = Path(__file__).resolve()
"""Left out of the scan: its samples are the references it looks for."""


def _text_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for base in (ROOT / "src", DOCS, ROOT / "tests", ROOT / "benchmarks"):
        if base.exists():
            files += [
                p
                for p in base.rglob("*")
                if p.is_file()
                and p.suffix in TEXT_SUFFIXES
                and p.resolve() != THIS_FILE
                and not any(part.endswith(".egg-info") for part in p.parts)
                and "__pycache__" not in p.parts
            ]
    return sorted(files)


def _is_own_doc(path: Path, prefix: str, name: str) -> bool:
    """A link to a page of the project's own docs/ (docs/pathway.md, or pathway.md from docs/)."""
    if not (DOCS / f"{name}.md").exists():
        return False
    if prefix.endswith("docs/"):
        return True
    return prefix in ("", "./") and path.parent == DOCS


def spec_references(path: Path, root: Path = ROOT) -> list[str]:
    """Lines of `path` that point at a specification file that is not in the repository."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for match in SPEC_REF.finditer(line):
            if match["dir"] is None and _is_own_doc(path, match["prefix"], match["name"]):
                continue
            found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
            break
    return found


def test_no_reference_to_specification_files_outside_the_repository() -> None:
    files = _text_files()
    assert any(p.name == "default.toml" for p in files)
    assert any(p.name == "test_icaht.py" for p in files), "tests/ must be scanned too"
    assert THIS_FILE not in files
    found = [ref for path in files for ref in spec_references(path)]
    assert not found, (
        "cite the publication (authors, year, journal) or a docs/ page instead of:\n"
        + "\n".join(found)
    )


def test_the_reference_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "a = 1  # see toxicity.md §8\n"
        "b = 2  # shared/spec/trials.md\n"
        "c = 3  # ../shared/spec\n"
        "d = 4  # Lee DW et al. 2019\n"
        "e = 5  # notes/frames.md\n"
        "f = 6  # (spec §9.1)\n"
        'g = 7  # """tested edges (toxicity.md §5)\n'
        "h = 8  # recorded in outcomes.md §3 from memory\n",
        encoding="utf-8",
    )
    hits = [ref.split(": ", 1)[1] for ref in spec_references(sample, tmp_path)]
    assert hits == [
        "a = 1  # see toxicity.md §8",
        "b = 2  # shared/spec/trials.md",
        "c = 3  # ../shared/spec",
        "e = 5  # notes/frames.md",
        "f = 6  # (spec §9.1)",
        'g = 7  # """tested edges (toxicity.md §5)',
        "h = 8  # recorded in outcomes.md §3 from memory",
    ]


def test_own_docs_pages_are_not_flagged() -> None:
    assert spec_references(DOCS / "README.md") == []
    assert (DOCS / "pathway.md").exists()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_calculator_is_described_in_the_user_docs(name: str) -> None:
    text = (DOCS / "calculators.md").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert any(f"`{name}`" in h for h in headings), (
        f"docs/calculators.md has no section for {name!r}: add what it grades, its source "
        "publication and its judgement calls"
    )


def test_docs_links_resolve() -> None:
    for page in sorted(DOCS.glob("*.md")):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
