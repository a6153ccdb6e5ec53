{#-
  Generic test: the sum of `column_name` over the model (optionally filtered) equals the sum of
  `compare_column` over `compare_model` (optionally filtered). Reconciles marts against staging.
-#}
{% test equal_sum_model(model, column_name, compare_model, compare_column, model_where='true', compare_where='true') %}
with model_total as (
    select coalesce(sum({{ column_name }}), 0) as total from {{ model }} where {{ model_where }}
),
compare_total as (
    select coalesce(sum({{ compare_column }}), 0) as total from {{ compare_model }} where {{ compare_where }}
)
select model_total.total as model_total, compare_total.total as compare_total
from model_total, compare_total
where model_total.total <> compare_total.total
{% endtest %}
