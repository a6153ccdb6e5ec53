"""Issue 7, case 15: live-mode faults from a real HTTP server on 127.0.0.1, through one full build.

In one live build: the DMDC file answers 503, 503, then the file (retried, lands, passes); the FA.gov file never
answers within the timeout (retried, then a clear error naming source and URL); the bases file answers 200 with an
HTML error page (landed immutably as downloaded, then rejected with a clear error and kept for inspection).
The published warehouse stays byte-identical.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest

from pipelines.sources import RAW_TABLES_BY_NAME
from tests.conftest import reused_folder
from tests.faults import corrupt as c
from tests.faults.conftest import publish_copy

pytestmark = pytest.mark.e2e
fetch = pytest.importorskip("pipelines.fetch")
from tests.livehttp import LiveServer  # noqa: E402

TROOPS, AID, BASES = (RAW_TABLES_BY_NAME[n] for n in ("us_troops_dmdc", "us_foreign_aid_summary", "us_bases"))
PATH = {t.name: urlsplit(t.live_url).path for t in (TROOPS, AID, BASES)}


@pytest.fixture(scope="module")
def live_build(built_warehouse, tmp_path_factory):
    published = publish_copy(built_warehouse, reused_folder(tmp_path_factory, "warehouse"))
    with LiveServer() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("HPW_MODE", "live")
        env.setenv("HPW_LIVE_BASE_URL", server.base_url)
        env.setenv("HPW_FETCH_BACKOFF", "0.01")
        env.setenv("HPW_FETCH_TIMEOUT", "0.3")
        env.setenv("HPW_FETCH_ATTEMPTS", "3")
        server.script[PATH[TROOPS.name]] = [503, 500]
        server.delay[PATH[AID.name]] = 1.5
        server.set_file(PATH[BASES.name], c.HTML_ERROR_PAGE)
        result = published.build()
        requests = {name: len(server.gets(path)) for name, path in PATH.items()}
    return result, published, requests


def test_15_http_503_then_500_then_success_is_retried_and_lands(live_build):
    result, published, requests = live_build
    assert requests[TROOPS.name] == 3
    troops = {a.asset: a for a in result.assets}["raw/us_troops_dmdc"]
    assert troops.checks_passed >= 1 and troops.checks_failed == 0 and troops.rows_landed > 3000
    log = fetch.read_log(fetch.data_dir(published.root))
    row = log.filter(log["raw_table"] == TROOPS.name).row(-1, named=True)
    assert row["attempts"] == 3 and row["http_status"] == 200
    assert row["sha256"] == hashlib.sha256(TROOPS.bundled_path.read_bytes()).hexdigest()


def test_15_timeout_fails_the_build_naming_source_and_url(live_build):
    result, published, requests = live_build
    assert not result.success
    error = result.failures[AID.name]
    assert "[us_foreign_aid]" in error and PATH[AID.name] in error and "timed out" in error and "3 attempts" in error
    assert requests[AID.name] == 3
    assert published.unchanged()


def test_15_error_page_served_with_200_is_kept_and_rejected(live_build):
    result, published, _ = live_build
    error = result.failures[BASES.name]
    assert "[us_bases]" in error and "HTML page" in error and "503 Service Temporarily Unavailable" in error
    sha = hashlib.sha256(c.HTML_ERROR_PAGE).hexdigest()
    landed = list((fetch.data_dir(published.root) / "landing").rglob(f"{sha}/*"))
    assert landed and landed[0].read_bytes() == c.HTML_ERROR_PAGE  # the raw landing area keeps what was served
    kept = [p for p in result.rejected_files if p.parent.name == "us_bases"]
    assert kept and kept[0].read_bytes() == c.HTML_ERROR_PAGE
    assert published.unchanged()
