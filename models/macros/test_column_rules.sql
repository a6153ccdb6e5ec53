{#-
  Generic test: every rule of one model in one node and one scan of it (a dbt node per column and rule costs more
  than its query). Each failing row is returned once, led by `failed_rules`, which names every rule it breaks and the
  bad value or key (every row of a repeated key fails); a sum that differs adds one row of its own.
  Set work in SQL: a window count per key, a semi-join per relationship, one aggregate per sum.
  - `not_null`: columns that must have a value.
  - `accepted_values`: {column: [values]}; NULL passes, as with dbt's accepted_values; strings are quoted, numbers and
    booleans are SQL literals.
  - `unique`: keys, each a list of columns no two rows share (NULL is a value like any other, as in GROUP BY: pair
    with not_null where a key must have one).
  - `relationships`: [{column, to, field}]: the column's value must be a `field` of model `to`; NULL passes, as in dbt.
  - `equal_sums`: [{column, compare_model, compare_column}]: the sum of `column` (SQL) over the model equals that of
    `compare_column` over `compare_model` (a ref): a mart reconciled with its staging model.
  A rule may be given as a mapping with `where` (SQL): it then holds only for rows where that is true, as a test's
  `where` config would; `model_where` / `compare_where` filter the two sides of a sum.
  Tables with an enforced contract carry not_null / accepted values as constraints instead.
-#}
{% test column_rules(model, not_null=[], accepted_values={}, unique=[], relationships=[], equal_sums=[]) %}
    {%- set rules = [] -%}
    {%- set key_counts = [] -%}
    {%- set key_columns = [] -%}
    {%- for entry in not_null -%}
        {%- set column = entry.column if entry is mapping else entry -%}
        {%- do rules.append(rules_case(entry, column ~ " is null", "'" ~ column ~ " is null'")) -%}
    {%- endfor -%}
    {%- for column, entry in accepted_values.items() -%}
        {%- set literals = [] -%}
        {%- for value in (entry['values'] if entry is mapping else entry) -%}
            {%- set literal = ("'" ~ (value | replace("'", "''")) ~ "'") if value is string else (value | string) -%}
            {%- do literals.append(literal) -%}
        {%- endfor -%}
        {%- do rules.append(rules_case(
            entry, column ~ " not in (" ~ (literals | join(", ")) ~ ")",
            "'" ~ column ~ " = ' || " ~ rules_quoted(column) ~ " || ' not accepted'"
        )) -%}
    {%- endfor -%}
    {%- for entry in unique -%}
        {%- set columns = entry.columns if entry is mapping else entry -%}
        {%- set counted = "_hpw_key_rows_" ~ loop.index -%}
        {%- do key_columns.append(counted) -%}
        {%- set filter = (" filter (where " ~ entry.where ~ ")") if entry is mapping and entry.where else "" -%}
        {%- do key_counts.append(
            "count(*)" ~ filter ~ " over (partition by " ~ (columns | join(", ")) ~ ") as " ~ counted
        ) -%}
        {%- set values = [] -%}
        {%- for column in columns -%}{%- do values.append(rules_quoted(column)) -%}{%- endfor -%}
        {%- do rules.append(rules_case(
            entry, counted ~ " > 1",
            "'duplicate key (" ~ (columns | join(", ")) ~ ") = (' || " ~ (values | join(" || ', ' || ")) ~ " || ')'"
        )) -%}
    {%- endfor -%}
    {%- for entry in relationships -%}
        {%- set parent = (entry.to if entry.to is string else entry.to.identifier) ~ "." ~ entry.field -%}
        {%- do rules.append(rules_case(
            entry,
            entry.column ~ " not in (select " ~ entry.field ~ " from " ~ entry.to ~ " where " ~ entry.field
            ~ " is not null)",
            "'" ~ entry.column ~ " = ' || " ~ rules_quoted(entry.column) ~ " || ' not in " ~ parent ~ "'"
        )) -%}
    {%- endfor -%}
with keyed as (
    select
        *{% for count in key_counts %},
        {{ count }}{% endfor %}
    from {{ model }}
),

checked as (
    select
        concat_ws('; ', {{ rules | join(', ') if rules else "null" }}) as failed_rules,
        *
    from keyed
)

select *{% if key_columns %} exclude ({{ key_columns | join(", ") }}){% endif %}
from checked
where failed_rules <> ''
{% for entry in equal_sums -%}
union all by name
select
    'sums differ: ' || cast(model_total as varchar) || ' <> ' || cast(compare_total as varchar)
    || {{ rules_string(
        ', sum(' ~ entry.column ~ ') vs sum(' ~ entry.compare_column ~ ') of ' ~ entry.compare_model.identifier
    ) }} as failed_rules
from
    (
        select coalesce(sum({{ entry.column }}), 0) as model_total
        from {{ model }} where {{ entry.model_where or "true" }}
    ) as model_side,
    (
        select coalesce(sum({{ entry.compare_column }}), 0) as compare_total
        from {{ entry.compare_model }} where {{ entry.compare_where or "true" }}
    ) as compare_side
where model_total <> compare_total
{% endfor -%}
{% endtest %}

{#- `condition` flags a row ("case when"), restricted to the entry's `where` if it has one; `message` is SQL text. -#}
{% macro rules_case(entry, condition, message) %}
    {%- set where = entry.where if entry is mapping and entry.where else none -%}
    {%- set condition = ("(" ~ where ~ ") and (" ~ condition ~ ")") if where else condition -%}
    {{- return("case when " ~ condition ~ " then " ~ message ~ " end") -}}
{% endmacro %}

{#- SQL text of a column's value in quotes, or NULL unquoted (a concatenation with NULL would be NULL). -#}
{% macro rules_quoted(column) %}
    {{- return("coalesce('''' || cast(" ~ column ~ " as varchar) || '''', 'NULL')") -}}
{% endmacro %}

{% macro rules_string(text) %}
    {{- return("'" ~ (text | replace("'", "''")) ~ "'") -}}
{% endmacro %}
