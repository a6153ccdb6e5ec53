"""dbt's `invocation_args_dict` for the SQL linter (pyproject [tool.sqlfluff]): the project folder as dbt names it
when run from there."""

project_dir = "."
