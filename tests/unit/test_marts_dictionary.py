"""docs/data_dictionary.md is generated from the code and kept in sync with it; comments carry units."""

import importlib.util
from pathlib import Path

import duckdb
import pytest

from assets.catalog import table_specs
from assets.marts import columns as C

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("data_dictionary", ROOT / "scripts" / "data_dictionary.py")
dd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dd)


def _row(col: C.Col) -> str:
    return f"| `{col.name}` | {col.type} | {col.meaning.replace('|', '/')} | {col.unit} |"


def test_committed_dictionary_lists_every_specified_column_as_the_code_says():
    text = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    specs = table_specs().values()  # marts, int and stg alike
    missing = [f"{s.table}.{c.name}" for s in specs for c in s.columns if _row(c) not in text]
    assert missing == [], "docs/data_dictionary.md is stale: run python scripts/data_dictionary.py"
    for s in specs:
        assert f"## `{s.table}`" in text


def test_other_published_tables_come_from_their_comments_with_units(tmp_path):
    db = tmp_path / "pub.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema marts")
    con.execute("create table marts.epci_mergers (annee integer, population bigint, note varchar)")
    con.execute("comment on table marts.epci_mergers is 'One row per EPCI change'")
    con.execute("comment on column marts.epci_mergers.population is 'Population involved [unit: inhabitants]'")
    con.execute("comment on column marts.epci_mergers.annee is 'Year of 1 January'")
    con.close()
    text = dd.render(list(C.SPECS.values()), db)
    assert "## `marts.epci_mergers`\n\nOne row per EPCI change" in text
    assert "| `population` | BIGINT | Population involved | inhabitants |" in text
    assert "| `note` | VARCHAR | (no comment) |  |" in text
    assert "- `marts.epci_mergers`" in text


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("Share of places [unit: share (0-1)]", ("Share of places", "share (0-1)")),
        ("No unit here", ("No unit here", "")),
        (None, ("", "")),
    ],
)
def test_unit_is_read_from_the_end_of_a_comment(comment, expected):
    assert dd.split_unit(comment) == expected


def test_spec_comment_carries_the_unit():
    col = next(c for c in C.ESS_MARKET_SHARE.columns if c.name == "share_facilities")
    assert col.comment().endswith("[unit: share (0-1)]")
    assert dd.split_unit(col.comment()) == (col.meaning, col.unit)


def test_apply_comments_refuses_a_table_that_drifted_from_its_spec():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.operators (siren varchar)")
    with pytest.raises(RuntimeError, match="differ from the specification"):
        C.apply_comments(con, C.OPERATORS)
