{#-
  Generic test: the per-column rules of one model in one node and one scan (a dbt node per column and rule costs
  more than its query). `not_null`: columns that must have a value. `accepted_values`: {column: [values]}; NULL
  passes, as with dbt's accepted_values; strings are quoted, numbers and booleans are SQL literals. Each failing row
  is returned once, led by `failed_rules`, which names every rule it breaks and the bad value.
  Tables with an enforced contract carry these rules as not_null / check constraints instead.
-#}
{% test column_rules(model, not_null=[], accepted_values={}) %}
    {%- set rules = [] -%}
    {%- for column in not_null -%}
        {%- do rules.append("case when " ~ column ~ " is null then '" ~ column ~ " is null' end") -%}
    {%- endfor -%}
    {%- for column, values in accepted_values.items() -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- set literal = ("'" ~ (value | replace("'", "''")) ~ "'") if value is string else (value | string) -%}
            {%- do literals.append(literal) -%}
        {%- endfor -%}
        {%- do rules.append(
            "case when " ~ column ~ " not in (" ~ (literals | join(", ")) ~ ") then '" ~ column ~ " = ' || "
            ~ "'''' || cast(" ~ column ~ " as varchar) || ''' not accepted' end"
        ) -%}
    {%- endfor -%}
select *
from (
    select
        concat_ws('; ', {{ rules | join(', ') }}) as failed_rules,
        *
    from {{ model }}
) as checked
where failed_rules <> ''
{% endtest %}
