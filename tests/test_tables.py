"""Markdown tables: the columns in order, numbers right-aligned, cell text kept in its cell."""

from __future__ import annotations

from webui.tables import markdown_table


def test_columns_rows_and_alignment() -> None:
    rows = [{"network": "plain-20", "steps": 400, "error": "9.1%"},
            {"network": "ResNet-56", "steps": 400, "error": "7.0%"}]
    assert markdown_table(rows, right=("steps",)).splitlines() == [
        "| network | steps | error |",
        "|---|---:|---|",
        "| plain-20 | 400 | 9.1% |",
        "| ResNet-56 | 400 | 7.0% |",
    ]


def test_a_pipe_or_a_newline_cannot_break_out_of_its_cell() -> None:
    table = markdown_table([{"name": "a|b", "note": "two\nlines"}])
    assert table.splitlines()[2] == "| a\\|b | two lines |"
    assert len(table.splitlines()) == 3


def test_no_rows_no_table() -> None:
    assert markdown_table([]) == ""
