"""README's verdict rules are the ones the code applies: its block is printed from harness.claims.verdicts."""

from pathlib import Path

from harness.claims.verdicts import rules_markdown
from harness.report.tables import verdict_rules

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_prints_the_rules_the_judges_apply():
    text = README.read_text()
    start = text.index("<!-- rules: generated from harness.claims.verdicts.rules_markdown() -->") + len(
        "<!-- rules: generated from harness.claims.verdicts.rules_markdown() -->\n")
    end = text.index("<!-- /rules -->")
    assert text[start:end].strip() == rules_markdown().strip(), "README's rules block is stale: paste rules_markdown()"


def test_every_table_legend_prints_the_same_rules():
    assert rules_markdown() in verdict_rules()
