"""Folder sources validate their stacked files once (data_contracts._base.enforce_files), with the result, findings
and errors of holding each file to the contract on its own.

SYNTHETIC inputs: copies of real FMTR report files (real layout) with one value changed, in a temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from data_contracts._base import ContractViolation, contract_run
from pipelines.sources import fmtr_training

XML = fmtr_training.XML.bundled_path.parent
FIRST = XML / "1999_2000_Western_Hemisphere_3_fmtrpt_dedup.xml"
SECOND = XML / "1999_2000_Western_Hemisphere_5_fmtrpt_dedup.xml"


def _folder(tmp_path: Path, second_text: str | None = None) -> list[Path]:
    folder = tmp_path / "xml"
    folder.mkdir()
    shutil.copy(FIRST, folder / FIRST.name)
    target = folder / SECOND.name
    if second_text is None:
        shutil.copy(SECOND, target)
    else:
        target.write_text(second_text, encoding="utf-8")
    return [folder / FIRST.name, target]


def _parse(paths: list[Path]):
    with contract_run() as run:
        frame = fmtr_training.parse_xml_files(paths)
    return frame, run.findings


def test_a_clean_folder_gives_what_file_by_file_gives(tmp_path):
    paths = _folder(tmp_path)
    stacked, found = _parse(paths)
    one_by_one = [_parse([p]) for p in paths]
    assert_frame_equal(stacked, pl.concat([frame for frame, _ in one_by_one]))
    assert found.drift_warnings == [w for _, f in one_by_one for w in f.drift_warnings]
    assert_frame_equal(found.flags, pl.concat([f.flags for _, f in one_by_one]))


@pytest.mark.parametrize(
    "change",
    [
        ("<quantity>1</quantity>", "<quantity>-3</quantity>"),  # a pandera check
        ("<quantity>1</quantity>", "<quantity>one</quantity>"),  # a type error
    ],
)
def test_a_broken_file_is_named_with_its_rows_as_file_by_file(tmp_path, change):
    text = SECOND.read_text(encoding="utf-8")
    assert change[0] in text
    paths = _folder(tmp_path, text.replace(change[0], change[1], 1))
    with pytest.raises(ContractViolation) as stacked:
        _parse(paths)
    with pytest.raises(ContractViolation) as alone:
        _parse(paths[1:])
    assert stacked.value.file == SECOND.name
    assert str(stacked.value) == str(alone.value)
