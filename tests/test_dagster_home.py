"""The project's Dagster instance (dagster_home/, used by `make dev`): quiet for a first-time user."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance
from dagster_graphql.schema.roots.query import GrapheneQuery

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow  # a Dagster instance and the webserver's GraphQL schema


def test_the_ui_opens_without_the_newsletter_prompt_and_without_telemetry(tmp_path):
    # a copy of the committed dagster.yaml, so the test never writes run storage into the repository
    (tmp_path / "dagster.yaml").write_bytes((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_bytes())
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.nux_enabled is False  # the webserver's shouldShowNux is `nux_enabled and not seen`
        assert instance.telemetry_enabled is False
    assert "shouldShowNux" in GrapheneQuery._meta.fields  # the field the UI asks before showing the dialog
