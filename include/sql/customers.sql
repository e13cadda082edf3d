{% import "_selection.sql" as run with context -%}
SELECT customer_id, email, first_name, last_name, phone, updated_at
FROM customers
WHERE {{ run.in_window('updated_at') }}
   OR customer_id IN (SELECT customer_id FROM orders WHERE order_id IN ({{ run.selected_orders() }}))
   OR customer_id IN (SELECT customer_id FROM carts WHERE cart_id IN ({{ run.selected_carts() }}))
