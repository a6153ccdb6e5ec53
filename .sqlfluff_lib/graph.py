"""dbt's `graph` for the SQL linter, which renders the models' Jinja without dbt (pyproject [tool.sqlfluff]):
no nodes, so a model that reads `graph.nodes` lints its parse-time branch."""

nodes: dict = {}
