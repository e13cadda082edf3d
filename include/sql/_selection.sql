{#- Shared by every query: which rows belong to this run.
    A row belongs to the run when its updated_at falls in [window_start, window_end), or every row on a full
    refresh. Orders are also pulled in for payments in the window, and customers and products for the orders,
    carts and lines in the run, so every reference the run writes can be resolved and checked. -#}
{% macro in_window(column) -%}
{% if full_refresh %}1 = 1{% else %}{{ column }} >= '{{ window_start }}' AND {{ column }} < '{{ window_end }}'{% endif %}
{%- endmacro %}

{% macro selected_orders() -%}
SELECT order_id FROM orders WHERE {{ in_window('updated_at') }}
UNION
SELECT order_id FROM payments WHERE {{ in_window('updated_at') }}
{%- endmacro %}

{% macro selected_carts() -%}
SELECT cart_id FROM carts WHERE {{ in_window('updated_at') }}
{%- endmacro %}
