"""The SQL queries of the README, as published for analysts (marked ``<!-- query: name -->``)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_queries() -> dict[str, str]:
    return dict(re.findall(r"<!-- query: (\w+) -->\n```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.S))
