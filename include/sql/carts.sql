{% import "_selection.sql" as run with context -%}
SELECT cart_id, customer_id, status, currency, total, url, created_at, updated_at
FROM carts
WHERE cart_id IN ({{ run.selected_carts() }})
