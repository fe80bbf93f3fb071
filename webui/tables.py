"""Small tables drawn as Markdown text, for pages that must not load pandas and pyarrow."""

from __future__ import annotations


def markdown_table(rows: list[dict[str, object]], right: tuple[str, ...] = ()) -> str:
    """Rows (dicts with the same keys, in column order) as a Markdown table; ``right``: the
    columns to right-align (numbers).

    For small tables on pages that train: ``st.dataframe`` and ``st.table`` import pandas and
    pyarrow on first use, +73 MB of server RSS (38 MB anonymous), measured in one process
    after ``import torch``; a Markdown table is text.
    """
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |",
             "|" + "".join("---:|" if c in right else "---|" for c in columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
