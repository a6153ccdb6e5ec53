{#- Tables and views that do not exist yet (every model of a cold build: its build database holds only the raw
    tables) are created under their final name in the model's transaction, as dbt-duckdb itself builds tables with
    foreign keys. The adapter's own materialisations (dbt-duckdb's table, dbt's view) create a `__dbt_tmp` relation,
    rename it into place and drop a `__dbt_backup` that cannot exist: two more statements, their events and cache
    updates per model for nothing. A relation that exists, a leftover tmp or backup relation, or DuckLake keeps the
    adapter's materialisation unchanged. -#}
{% macro _hpw_new_relation(target_relation, backup_type) -%}
    {{- return(
        load_cached_relation(this) is none
        and load_cached_relation(make_intermediate_relation(target_relation)) is none
        and load_cached_relation(make_backup_relation(target_relation, backup_type)) is none
    ) -}}
{%- endmacro %}

{% materialization table, adapter="duckdb", supported_languages=["sql", "python"] %}
    {%- set target_relation = this.incorporate(type="table") -%}
    {%- if not _hpw_new_relation(target_relation, "table")
        or adapter.use_ducklake_table_workarounds(target_relation) -%}
        {{ return(dbt.materialization_table_duckdb()) }}
    {%- endif -%}
    {%- set language = model["language"] -%}
    {%- set grant_config = config.get("grants") -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {%- set partitioned_by = duckdb__get_partitioned_by(target_relation, false) -%}
    {%- set sorted_by = duckdb__get_sorted_by(target_relation, false) -%}
    {% call statement("main", language=language) -%}
        {{- create_table_as(
            False, target_relation, compiled_code, language, partitioned_by=partitioned_by, sorted_by=sorted_by
        ) }}
    {%- endcall %}
    {% do create_indexes(target_relation) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do apply_grants(target_relation, grant_config, should_revoke=false) %}
    {% do persist_docs(target_relation, model) %}
    -- `COMMIT` happens here
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}

{% materialization view, adapter="duckdb" %}
    {%- set target_relation = this.incorporate(type="view") -%}
    {%- if not _hpw_new_relation(target_relation, "view") -%}
        {{ return(dbt.materialization_view_default()) }}
    {%- endif -%}
    {%- set grant_config = config.get("grants") -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {% call statement("main") -%}
        {{ get_create_view_as_sql(target_relation, sql) }}
    {%- endcall %}
    {% do apply_grants(target_relation, grant_config, should_revoke=false) %}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}
