{#- The catalog query of `dbt docs generate` (`hpw docs`): dbt-duckdb filters the relations with one `or`-ed
    condition per relation, ~90 here, which DuckDB's expression rewriter takes seconds to evaluate; the same
    relations as a list of (schema, name) pairs select the same rows in milliseconds. The rest is the adapter's
    own SQL (dbt/include/duckdb/macros/catalog.sql). -#}
{% macro duckdb__get_catalog_relations(information_schema, relations) -%}
    {%- set named = [] -%}
    {%- set whole_schemas = [] -%}
    {%- for relation in relations -%}
        {%- if not relation.schema -%}
            {%- do exceptions.raise_compiler_error("`get_catalog_relations`: a relation without a schema") -%}
        {%- elif relation.identifier -%}
            {%- do named.append("(upper('" ~ relation.schema ~ "'), upper('" ~ relation.identifier ~ "'))") -%}
        {%- else -%}
            {%- do whole_schemas.append("upper('" ~ relation.schema ~ "')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set where -%}
        where
        {%- if named %} (upper(table_schema), upper(table_name)) in (select * from (values {{ named | join(", ") }}))
        {%- else %} false
        {%- endif -%}
        {%- if whole_schemas %} or upper(table_schema) in ({{ whole_schemas | join(", ") }}){%- endif -%}
    {%- endset -%}
    {%- set query -%}
with tables as (
    {{ duckdb__get_catalog_tables_sql(information_schema) }}
        {{ where }}
),

columns as (
    {{ duckdb__get_catalog_columns_sql(information_schema) }}
        {{ where }}
)

{{ duckdb__get_catalog_results_sql() }}
    {%- endset -%}
    {{ return(run_query(query)) }}
{%- endmacro %}
