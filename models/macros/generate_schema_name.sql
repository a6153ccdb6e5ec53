{#-
  A model's schema is the layer folder it lives in (staging/, intermediate/, marts/), unless the model
  names one explicitly. Analysts see `staging.*` and `marts.*`, not dbt's default `main_marts`.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is not none -%}
        {{ custom_schema_name | trim }}
    {%- elif node.resource_type in ('model', 'snapshot') -%}
        {{ node.original_file_path.replace('\\', '/').split('/')[0] }}
    {%- else -%}
        {{ target.schema }}
    {%- endif -%}
{%- endmacro %}
