"""Foreign Military Training Report (FMTR), Western Hemisphere: one row per training course, FY1999-FY2020.

Two raw tables (data/snapshots/fmtr_training/SOURCE.md):
  fmtr_training_xml   every *.xml in the folder: Security Force Monitor's parsed per-course records, one file (or
                      five, for FY1999) per report. `RawTable` points at one file and the parse reads every *.xml
                      next to it (the given file included), like the World Bank bulk folder; point it at another
                      download folder with `HPW_FMTR_TRAINING_XML_PATH=/downloads/fmtr/any_report.xml`.
  fmtr_training_html  the State Department page of the FY2006 report (no XML exists): its one big table, parsed.

Quirks handled:
- Which fiscal year: a report `YYYY_YYYY+1` records training completed in FY YYYY, and every `<program name>` ends
  with its FY (`FY 99`, `,FY03`, `FY 2007 DoD Training`, `Fiscal Year 2015 ...`; a doubled `FY 00 FY 00` too).
  The FY1999-2000 and FY2000-2001 reports hold two fiscal years (the year reported and the next, planned): every
  row keeps its program FY in `fiscal_year` and `is_report_year` = (program FY = the report's first year). Only
  report-year rows are facts; the planned block is kept in raw, never summed, so FY2000 (in both reports) and FY2001
  (planned in one, reported in the next) are each counted once, from the report that records them as done.
- The FY2005 report is one all-regions file: every region's countries resolve through the crosswalk (the world
  names the global index knows), and land with `in_universe` = false; only the Western Hemisphere reaches facts.
- Country names as printed (`Antigua And Barbuda (UK)`, `Trinidad-Tobago`, `St Kitts & Nevis`, `Bolivia INC`,
  `Netherlands Antilles (NE)`, ...): data/reference/country_aliases.csv (source fmtr_training). A country appears in
  one `<country>` element per program: nothing is aggregated here.
- Program names carry region, country and FY (`DOD Western Hemisphere Region, Colombia,  Section 1004, FY02`) or
  agency and FY (`CTFP - FY 2007 DoD Training`): the program label is cut out of them and grouped through
  data/reference/fmtr_program_groups.csv (IMET, FMF, counter-drug, ...). A label missing there fails the load with
  its rows, as an unknown country does.
- Numbers are text as printed: `$13,063 `, `1 `, `$ ` (blank), missing elements (some years lack `quantity` or
  `total_cost` on some courses) and `N/A`: blank stays NULL, never 0. SFM's scraper sometimes ran the next column
  into the cell (`1965 6/1/2009`, `1 LACKLAND AFB, TX 78236`, `30 30`): the leading number is the value, and the row
  is flagged `value_spill`; a cell that does not start with a number breaks the contract (column, value, row).
- Plausibility (kept, counted by the contract's soft rules, never dropped): trainees 0 with a cost, negative cost.
- HTML: rows are a country header (one cell), a program header (bold first cell, rest blank), a column header
  (`Course Title`, `Students`, ...), courses, and `FY 2006 Program Totals` / `<Country> FY 2006 Totals` rows. The
  totals are not courses: they are kept aside and a course sum that disagrees with its printed program total fails
  the load. Costs are printed `3005`, `2555.7` or `$3,005`; `-` and `&nbsp;` cells are blank.

Live mode: the FY2006 page has a publisher address (State Department archive, below). The XML reports have no
single live file: SFM publishes one XML per report and region in a git repository, under a scrape-run folder that
changes with every re-scrape (`.../output/<run>/4_xml_dedup/...`), and a new fiscal year arrives as a new file, so
a folder cannot be one URL and a guessed list of URLs would silently miss the next report. The XML table therefore
reads its snapshot in live mode (as SIPRI and the World Bank bulk folder do) unless HPW_FMTR_TRAINING_XML_PATH
names a folder the user downloaded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce, enforce_files
from data_contracts.fmtr_training import FmtrTrainingHtml, FmtrTrainingXml
from pipelines import settings
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, file_sha256

SOURCE = "fmtr_training"
SNAPSHOT = "fmtr_training"  # SOURCE.md; the files sit in its xml/ and html/ folders
XML_GLOB = "*.xml"
PROGRAM_GROUPS_FILE = settings.REFERENCE_DIR / "fmtr_program_groups.csv"
WESTERN_HEMISPHERE = "Western Hemisphere"
# Fields of a <training> element (FY1999-2000 has only the first three); others are not read.
TRAINING_FIELDS = (
    "course_title",
    "quantity",
    "total_cost",
    "start_date",
    "end_date",
    "location",
    "student_unit",
    "us_unit",
    "page_number",
)
# Cells that mean "not given" in either format.
BLANK_MARKERS = {"", "$", "-", "n/a", "na", "none", "\u00a0"}

# Report years: `2003_2004_Western_Hemisphere...xml`, `Western_Hemisphere_2006_2007.html`.
REPORT_NAME = re.compile(r"(?:^|_)(?P<first>(?:19|20)\d{2})_(?P<second>(?:19|20)\d{2})(?:_|\.|$)")
REPORT_TITLE = re.compile(r"Fiscal Years?\s+(?P<first>(?:19|20)\d{2})\s+and\s+(?P<second>(?:19|20)\d{2})")
# Program-name patterns (polars / Rust regex syntax).
FY_TOKEN = r"(?i)(?:\bFY|\bFiscal Year)\s*(?:\d{4}|\d{2})\b"
# `CTFP - FY 2007 DoD Training`, `IMET-1 - Fiscal Year 2019 Department of State Training`
DASH_PROGRAM = r"(?i)^(.+?)\s+-\s+(?:FY|Fiscal Year)\s*\d{2,4}\b.*$"
FY_TAIL = r"(?i)[,\s]*(?:(?:FY|Fiscal Year)\s*\d{2,4}\s*)+$"
# `DOD Western Hemisphere Region, Colombia,  Section 1004` (after the FY tail is cut)
REGION_PROGRAM = r"^(?:(?i:DOD|DOS|DOHS|DHS|DOT)\s+)?([A-Za-z ]+?) Region,\s*([^,]+?),\s*(.+)$"
# A number as printed, optionally followed by text the scraper ran in from the next column.
NUMBER = r"^\$?\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)(\s.*)?$"
HTML_TOTAL = re.compile(r"\bFY\s*\d{4}\s+(?:Program\s+)?Totals?\s*$", re.IGNORECASE)
HTML_COLUMNS = {
    "Course Title": "course_title",
    "Students": "quantity",
    "Location": "location",
    "Student's Unit": "student_unit",
    "US Units": "us_unit",
    "Total Cost": "total_cost",
    "Start Date": "start_date",
    "End Date": "end_date",
}


def _fail(path: Path, column: str, check: str, values: list, rows: list[int] | None = None) -> ContractViolation:
    shown = [str(v) for v in values]
    failure = Failure(column, check, values=shown, rows=rows or [], count=len(shown))
    return ContractViolation(SOURCE, path.name, [failure])


def _folder_files(path: Path, pattern: str) -> list[Path]:
    """Every file of one kind next to `path`, and `path` itself: the folder is one download."""
    found = {p.resolve() for p in path.parent.glob(pattern) if p.is_file()} | {path.resolve()}
    return sorted(found, key=lambda p: p.name)


def fiscal_year_expr(program: pl.Expr) -> pl.Expr:
    """The last FY token of a program name as a 4-digit year (`FY 99` -> 1999, `FY03` -> 2003)."""
    token = program.str.extract_all(FY_TOKEN).list.last()
    digits = token.str.extract(r"(\d{4}|\d{2})\s*$").cast(pl.Int32, strict=False)
    two_digit = pl.when(digits >= 90).then(1900 + digits).otherwise(2000 + digits)
    return pl.when(digits < 100).then(two_digit).otherwise(digits)


def program_label_expr(program: pl.Expr) -> pl.Expr:
    """The program as the report names it, without region, country or FY ("Section 1004", "IMET-1")."""
    dash = program.str.extract(DASH_PROGRAM, 1)
    cut = program.str.replace(FY_TAIL, "")
    regional = cut.str.extract(REGION_PROGRAM, 3)
    return pl.coalesce(dash, regional, cut).str.replace_all(r"\s+", " ").str.strip_chars()


def region_expr(program: pl.Expr, file_region: pl.Expr) -> pl.Expr:
    return program.str.replace(FY_TAIL, "").str.extract(REGION_PROGRAM, 1).fill_null(file_region)


def number_text(column: str) -> list[pl.Expr]:
    """`<column>` as printed -> (`<column>` cleaned number text or NULL, `<column>_spill` flag).

    Blank markers become NULL; the leading number is kept without `$` and thousands commas; text after it (the
    scraper's run-in from the next column) only sets the flag. A cell that is not blank and does not start with a
    number is passed through unchanged, so the contract's cast reports it with its row.
    """
    # `-$1,234` -> `-1,234` so that a negative printed cost stays negative (a plausibility issue, not a type error).
    raw = pl.col(column).str.replace_all("\u00a0", " ").str.strip_chars().str.replace(r"^-\s*\$", "-")
    blank = raw.is_null() | raw.str.to_lowercase().is_in(list(BLANK_MARKERS))
    number = raw.str.extract(NUMBER, 1).str.replace_all(",", "")
    spill = raw.str.extract(NUMBER, 2).str.strip_chars()
    return [
        pl.when(blank).then(None).otherwise(pl.coalesce(number, raw)).alias(column),
        (~blank & number.is_not_null() & spill.is_not_null() & (spill != "")).alias(f"{column}_spill"),
    ]


def read_program_groups() -> pl.DataFrame:
    groups = pl.read_csv(PROGRAM_GROUPS_FILE, infer_schema_length=0)
    dupes = groups.filter(pl.col("program").is_duplicated())["program"].unique().to_list()
    if dupes:
        raise ValueError(f"{PROGRAM_GROUPS_FILE.name}: program label(s) listed twice: {dupes}")
    return groups.select("program", "program_group")


def _attach_program_group(frame: pl.DataFrame) -> pl.DataFrame:
    joined = frame.join(read_program_groups(), on="program", how="left", maintain_order="left")
    unmapped = joined.filter(pl.col("program_group").is_null())
    if unmapped.height:
        unmapped = unmapped.filter(pl.col("file") == unmapped["file"][0])  # named file by file, first one first
        labels = unmapped["program"].unique(maintain_order=True).to_list()
        raise ContractViolation(
            SOURCE,
            unmapped["file"][0],
            [
                Failure(
                    "program",
                    f"program label listed in data/reference/{PROGRAM_GROUPS_FILE.name} (add it with its "
                    "program_group)",
                    values=labels,
                    rows=unmapped["source_row"].head(5).to_list(),
                    count=unmapped.height,
                )
            ],
        )
    return joined


# Per-file values carried beside the records of a stack of files (dropped once they are columns of the contract).
FILE_COLUMNS = ("_file", "_report_first", "_file_region", "_file_sha256")


def with_file_columns(records: pl.DataFrame, path: Path, report_first: int) -> pl.DataFrame:
    return records.with_columns(
        _file=pl.lit(path.name),
        _report_first=pl.lit(report_first, pl.Int32),
        _file_region=pl.lit(_file_region(path)),
        _file_sha256=pl.lit(file_sha256(path)),
    )


def _tidy(records: pl.DataFrame) -> pl.DataFrame:
    """Shared by both formats: program FY and label, numbers as printed -> clean text, countries, program groups.
    `records` may stack several files (`with_file_columns`): every step is per row, so a folder of reports is
    tidied in one pass instead of paying polars' per-call overhead once per file."""
    text = [c for c, t in records.schema.items() if t == pl.String and c not in FILE_COLUMNS]
    tidy = (
        records.with_columns(
            pl.col(text).str.replace_all("\u00a0", " ").str.replace_all(r"\s+", " ").str.strip_chars(),
        )
        .with_columns(
            pl.col(text).replace("", None),
        )
        .with_columns(
            *number_text("quantity"),
            *number_text("total_cost"),
            trainees_as_printed=pl.col("quantity"),
            cost_as_printed=pl.col("total_cost"),
        )
        .with_columns(
            value_spill=pl.col("quantity_spill") | pl.col("total_cost_spill"),
        )
        .drop("quantity_spill", "total_cost_spill")
        .rename({"quantity": "trainees", "total_cost": "cost_usd"})
    )
    tidy = tidy.with_columns(
        file=pl.col("_file"),
        report_fiscal_year=pl.col("_report_first"),
        region=region_expr(pl.col("program_name"), pl.col("_file_region")),
        program=program_label_expr(pl.col("program_name")),
        fiscal_year=fiscal_year_expr(pl.col("program_name")),
    ).with_columns(is_report_year=pl.col("fiscal_year") == pl.col("report_fiscal_year"))
    trainees = pl.col("trainees").cast(pl.Float64, strict=False)
    cost = pl.col("cost_usd").cast(pl.Float64, strict=False)
    tidy = tidy.with_columns(
        plausibility_issue=pl.when(cost < 0)
        .then(pl.lit("negative_cost"))
        .when((trainees == 0) & (cost > 0))
        .then(pl.lit("zero_trainees_with_cost"))
    )
    mapped = attach_iso3(tidy, SOURCE, name_col="country_name")
    return _attach_program_group(mapped).with_columns(file_sha256=pl.col("_file_sha256")).drop(FILE_COLUMNS)


def _report_first_year(path: Path, title: str | None = None) -> int:
    """First fiscal year of the report: from the page title (HTML), else the file name (`2003_2004_...`)."""
    match = (REPORT_TITLE.search(title) if title else None) or REPORT_NAME.search(path.name)
    if not match or int(match["second"]) != int(match["first"]) + 1:
        raise _fail(
            path,
            "(report years)",
            "report years `<FY>_<FY+1>` in the file name (e.g. 2003_2004_Western_"
            "Hemisphere...xml) or `Fiscal Years <FY> and <FY+1>` in the page",
            [path.name],
        )
    return int(match["first"])


def _file_region(path: Path) -> str:
    """Region the file name gives (`..._Western_Hemisphere_...`); program names override it in all-region files."""
    return WESTERN_HEMISPHERE if "western_hemisphere" in path.name.casefold() else "(from program name)"


# --------------------------------------------------------------------------------------------------- XML


def read_xml_records(path: Path) -> pl.DataFrame:
    """Stream one SFM XML file: one record per <training>, with its country and program; all text as printed."""
    columns: dict[str, list] = {name: [] for name in ("source_row", "country_name", "program_name", *TRAINING_FIELDS)}
    country: str | None = None
    program: str | None = None
    row = 0
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                if elem.tag == "country":
                    country = elem.get("name")
                elif elem.tag == "program":
                    program = elem.get("name")
                continue
            if elem.tag == "training":
                row += 1
                values = {child.tag: child.text for child in elem}
                columns["source_row"].append(row)
                columns["country_name"].append(country)
                columns["program_name"].append(program)
                for name in TRAINING_FIELDS:
                    columns[name].append(values.get(name))
                elem.clear()
            elif elem.tag in ("program", "country"):
                elem.clear()  # courses are read; free the subtree
    except ET.ParseError as err:
        raise _fail(path, "(xml)", "well-formed XML", [str(err)]) from err
    if row == 0:
        raise _fail(path, "(training records)", "at least one <training> element", ["none found"])
    schema = {"source_row": pl.Int64, **{name: pl.String for name in columns if name != "source_row"}}
    return pl.DataFrame(columns, schema=schema)


def parse_xml(path: Path) -> pl.DataFrame:
    """One SFM XML report file -> tidy course rows meeting FmtrTrainingXml."""
    return parse_xml_files([path])


def parse_xml_files(paths: list[Path]) -> pl.DataFrame:
    """SFM XML report files -> their tidy course rows, stacked in file order; read one file at a time (streamed),
    tidied in one pass, and each file held to the contract on its own (errors name the file), in one validation
    when every file passes."""
    stacked = pl.concat(
        [with_file_columns(read_xml_records(p), p, _report_first_year(p)) for p in paths], how="vertical"
    )
    parts = _tidy(stacked).partition_by("file", maintain_order=True, as_dict=True)
    return enforce_files([(p.name, parts[(p.name,)]) for p in paths], FmtrTrainingXml, source=SOURCE)


def parse_xml_folder(path: Path) -> pl.DataFrame:
    """Every *.xml in the folder of `path`, stacked (each file checked against the contract on its own)."""
    return parse_xml_files(_folder_files(path, XML_GLOB))


# --------------------------------------------------------------------------------------------------- HTML


class _TableRows(HTMLParser):
    """Every <tr> of the page as a list of (cell text, cell is bold) pairs; whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, bool]]] = []
        self._row: list[tuple[str, bool]] | None = None
        self._cell: list[str] | None = None
        self._bold = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._bold = [], False
        elif tag in ("b", "strong") and self._cell is not None:
            self._bold = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((" ".join("".join(self._cell).replace("\u00a0", " ").split()), self._bold))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _decode(raw: bytes) -> str:
    """UTF-8 (the page's charset), else a browser's Windows-1252 / Latin-1 copy: never a lossy decode."""
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_html_records(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The FY2006 page -> (course records, printed totals, report's first FY); `source_row` is the <tr> number."""
    text = _decode(path.read_bytes())
    parser = _TableRows()
    parser.feed(text)
    records: list[dict] = []
    totals: list[dict] = []
    country = program = None
    header: list[str] | None = None
    for number, cells in enumerate(parser.rows, start=1):
        texts = [c for c, _ in cells]
        if len(cells) == 1 and texts[0]:
            country, program, header = texts[0], None, None
        elif texts and texts[0] == "Course Title":
            unknown = [t for t in texts if t not in HTML_COLUMNS]
            if unknown:
                raise _fail(path, "(column header)", f"only the columns {list(HTML_COLUMNS)}", unknown, [number])
            header = [HTML_COLUMNS[t] for t in texts]
        elif texts and cells[0][1] and not any(texts[1:]):
            program, header = texts[0], None
        elif texts and HTML_TOTAL.search(texts[0]):
            totals.append(
                {
                    "source_row": number,
                    "label": texts[0],
                    "country_name": country,
                    "program_name": program,
                    "quantity": texts[1] if len(texts) > 1 else None,
                    "total_cost": texts[5] if len(texts) > 5 else None,
                }
            )
        elif any(texts):
            if header is None or country is None or program is None or len(texts) != len(header):
                raise _fail(
                    path,
                    "(table row)",
                    "a course row under a country, a program and a column header",
                    [" | ".join(texts)[:200]],
                    [number],
                )
            records.append(
                {"source_row": number, "country_name": country, "program_name": program, **dict(zip(header, texts))}
            )
    if not records:
        raise _fail(path, "(courses)", "at least one course row in the page's table", ["none found"])
    schema = {
        "source_row": pl.Int64,
        "country_name": pl.String,
        "program_name": pl.String,
        **{name: pl.String for name in HTML_COLUMNS.values()},
    }
    frame = pl.DataFrame(records, schema=schema, orient="row")
    total_schema = {
        "source_row": pl.Int64,
        "label": pl.String,
        "country_name": pl.String,
        "program_name": pl.String,
        "quantity": pl.String,
        "total_cost": pl.String,
    }
    return frame, pl.DataFrame(totals, schema=total_schema, orient="row"), _report_first_year(path, text)


def _check_program_totals(path: Path, courses: pl.DataFrame, totals: pl.DataFrame) -> None:
    """Each printed `FY 2006 Program Totals` row must equal the sum of the courses above it."""
    printed = totals.filter(pl.col("label").str.contains(r"(?i)program totals?$"))
    printed = printed.with_columns(*number_text("quantity"), *number_text("total_cost"))
    printed = printed.select(
        "source_row",
        "country_name",
        "program_name",
        printed_trainees=pl.col("quantity").cast(pl.Int64, strict=False),
        printed_cost=pl.col("total_cost").cast(pl.Float64, strict=False),
    )
    summed = courses.group_by("country_name", "program_name").agg(
        trainees=pl.col("trainees").sum(), cost=pl.col("cost_usd").sum()
    )
    compared = printed.join(summed, on=["country_name", "program_name"], how="left").filter(
        (pl.col("trainees").fill_null(0) != pl.col("printed_trainees"))
        # totals are printed in whole dollars, courses sometimes with cents: half a dollar of rounding
        | ((pl.col("cost").fill_null(0) - pl.col("printed_cost")).abs() > 0.5)
    )
    if compared.height:
        raise _fail(
            path,
            "trainees / cost_usd",
            "course sums equal the page's printed program totals",
            [
                f"{r['country_name']} / {r['program_name']}: printed {r['printed_trainees']} / {r['printed_cost']}, "
                f"courses {r['trainees']} / {r['cost']}"
                for r in compared.head(5).iter_rows(named=True)
            ],
            compared["source_row"].head(5).to_list(),
        )


def parse_html(path: Path) -> pl.DataFrame:
    """The FY2006 State Department page -> tidy course rows meeting FmtrTrainingHtml."""
    records, totals, report_first = read_html_records(path)
    tidy = _tidy(with_file_columns(records, path, report_first))
    typed = enforce(tidy, FmtrTrainingHtml, source=SOURCE, file=path.name)
    _check_program_totals(path, typed, totals)
    return typed


XML = RawTable(
    name="fmtr_training_xml",
    source=SOURCE,
    cadence="yearly",  # the FMTR is an annual report to Congress
    snapshot=f"{SNAPSHOT}/xml",
    # Anchors the folder: parse reads every *.xml next to it (see module docstring).
    default_file="2020_2021_Western_Hemisphere_fmtrpt_dedup.xml",
    vintage="Security Force Monitor fmtrpt_data @ 203d73f (2024-12-06), Western Hemisphere XML, reports FY1999-FY2020",
    parse=parse_xml_folder,
    description="Foreign Military Training Report courses (SFM parsed XML, every *.xml in the folder): one row per "
    "course as printed, FY1999-FY2020 except FY2006; both fiscal years of the two-year early reports.",
)

HTML = RawTable(
    name="fmtr_training_html",
    source=SOURCE,
    cadence="yearly",
    snapshot=f"{SNAPSHOT}/html",
    default_file="Western_Hemisphere_2006_2007.html",
    vintage="State Department FMTR FY2006-2007, Western Hemisphere page (92089.htm), as saved by SFM @ 203d73f",
    parse=parse_html,
    description="Foreign Military Training Report FY2006, Western Hemisphere: one row per course of the State "
    "Department page's table (program totals checked against the course sums, not stored).",
    live_url="https://2009-2017.state.gov/t/pm/rls/rpt/fmtrpt/2007/92089.htm",
)

RAW_TABLES = (XML, HTML)
