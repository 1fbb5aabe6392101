"""The tables people read: narrow summary rows linking to detail sections, images that exist, legends in the report's
words; rendered to HTML as GitHub would (python-markdown), from the committed results and from fresh records."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import markdown
import pytest

from harness.claims import ClaimResult, Verdict
from harness.claims.verdicts import rules_markdown
from harness.report import write_record, write_results
from harness.report.labels import curve_label
from harness.report.tables import CSV_COLUMNS, WIDTH
from harness.stats import mean_ci

ROOT = Path(__file__).resolve().parents[1]
VERDICTS = ("NOT REPRODUCED", "REPRODUCED", "INCONCLUSIVE", "ARTIFACT", "NOT RUN")
ENV = {"profile": "smoke", "device": "CPU: test", "torch": "x", "cuda": "none", "python": "3", "commit": "abc",
       "date": "today"}


class _Page(HTMLParser):
    """Ids, image sources and each table body row's text and links of one rendered page."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.rows = set(), [], []
        self._row, self._body = None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        elif tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:  # header rows name the columns, not claims
            self._row = {"text": "", "links": []}
        elif tag == "a" and self._row is not None and "href" in attrs:
            self._row["links"].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._body = False
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self._row["text"] += data


def _render(path: Path) -> _Page:
    page = _Page()
    page.feed(markdown.markdown(path.read_text(), extensions=["tables"]))
    return page


def check_folder(folder: Path) -> dict[str, _Page]:
    """Every verdict row of every table links to a detail anchor that exists; every image exists; no summary-table
    line is wider than WIDTH; the legend prints the rules once. Returns the rendered pages."""
    pages = {p.name: _render(p) for p in sorted(folder.glob("*.md"))}
    assert "README.md" in pages, f"{folder}: no README.md"
    for name, page in pages.items():
        source = (folder / name).read_text()
        wide = [line for line in source.splitlines() if line.startswith("|") and len(line) > WIDTH]
        assert not wide, f"{folder / name}: {len(wide)} table lines over {WIDTH} characters, e.g. {wide[0][:120]}"
        assert source.count(rules_markdown()) == 1, f"{folder / name}: the legend's rules, once"
        verdict_rows = [row for row in page.rows if any(v in row["text"] for v in VERDICTS)]
        assert verdict_rows, f"{folder / name}: no verdict rows"
        for row in verdict_rows:
            details = [link for link in row["links"] if "#" in link]
            assert details, f"{folder / name}: a verdict row without a link to its detail: {row['text'][:100]}"
            file, anchor = details[0].split("#", 1)
            target = pages.get(file or name)
            assert target is not None, f"{folder / name}: {details[0]} links to a file that is not there"
            assert unquote(anchor) in target.ids, f"{folder / name}: {details[0]}: no such anchor in {file or name}"
        for src in page.images:
            assert (folder / unquote(src)).is_file(), f"{folder / name}: image {src} does not exist"
    return pages


@pytest.mark.parametrize("profile", ["smoke", "full"])
def test_committed_tables_render_with_working_links_images_and_narrow_rows(profile):
    folder = ROOT / "results" / profile
    if not (folder / "README.md").exists():
        pytest.skip(f"no committed results/{profile}")
    pages = check_folder(folder)
    readme = (folder / "README.md").read_text()
    # A report's forest plot opens its section; the README is a summary, not the detail.
    assert "plots/r002-forest.png" in readme and (folder / "plots" / "r002-forest.png").is_file()
    assert "Parts:" not in readme and any("r002.md#" in link for row in pages["README.md"].rows for link in row["links"])
    # Every curve a record has is shown under its claim's detail.
    shown = {Path(src).name for page in pages.values() for src in page.images}
    assert {p.name for p in (folder / "plots").glob("*__*.png")} <= shown


def _result(claim_id, reading, verdict=Verdict.REPRODUCED, curves=None, notes=""):
    return ClaimResult(claim_id=claim_id, reading=reading, verdict=verdict, claimed="53 %", measured="52 %",
                       unit="%", interval=None if verdict == Verdict.NOT_RUN else mean_ci([51.0, 52.0, 53.0]),
                       seeds=[0, 1, 2], data="cifar10/test", curves=curves or {}, wall_s=1.5, notes=notes)


def test_fresh_tables_put_not_run_rows_last_with_their_estimate_and_keep_claims_csv(tmp_path):
    write_record(tmp_path, _result("r000.teacher_ema", "literal", Verdict.NOT_RUN,
                                   notes="needs about 4.6 h on CPU: X (1 threads) (39,075 member-steps at batch 64, "
                                         "0.4 s each; training steps only); the session's budget had 2.1 h left"), ENV)
    write_record(tmp_path, _result("r002.depth_sweep", "momentum=0", curves={"test_acc_depth3": [[0.4, 0.5]] * 2}), ENV)
    write_record(tmp_path, _result("r000.conv_shape", "literal", Verdict.NOT_REPRODUCED), ENV)
    write_results(tmp_path, {**ENV, "profile": "full"})
    check_folder(tmp_path)
    readme = (tmp_path / "README.md").read_text()
    r000 = readme[readme.index("## Report 000"):readme.index("## Report 002")]
    assert r000.index("r000.conv_shape") < r000.index("**NOT RUN** (1)") < r000.index("r000.teacher_ema")
    # One line: what it needs and where; the basis stays in the detail.
    assert "needs about 4.6 h on CPU: X (1 threads); the session's budget had 2.1 h left |" in r000
    assert "member-steps" in (tmp_path / "r000.md").read_text()
    assert "plots/r002.depth_sweep__momentum=0.png" in (tmp_path / "r002.md").read_text()
    with open(tmp_path / "claims.csv") as f:
        assert list(csv.DictReader(f).fieldnames) == CSV_COLUMNS


def test_curve_legends_speak_the_reports_words_and_carry_its_figures():
    assert curve_label("r002.depth_sweep", "test_acc_depth3") == ("3 FC layers", {"last": "acc_3"})
    assert curve_label("r002.fix_bn_skip", "fixed_test_acc") == ("with BN + skip", {"last": "acc_fixed"})
    assert curve_label("r002.tanh_learns", "train_loss")[0].startswith("tanh")
    # The report's losses go on the loss the reading judges: the epoch mean, or the running loss.
    epoch_figures = {1: "loss_epoch1", 2: "loss_epoch2"}
    assert curve_label("r002.tanh_learns", "train_loss", "momentum=0")[1] == epoch_figures
    assert curve_label("r002.tanh_learns", "train_loss_running", "momentum=0")[1] == {}
    assert curve_label("r002.tanh_learns", "train_loss", "momentum=0,running-loss")[1] == {}
    assert curve_label("r002.tanh_learns", "train_loss_running", "momentum=0,running-loss")[1] == epoch_figures
    assert curve_label("r002.regularization_ranking", "l2_val2000_acc") == ("L2 regularization", {"last": "acc_l2"})
    assert curve_label("r002.nothing", "some_key") == ("some key", {})
