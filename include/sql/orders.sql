{% import "_selection.sql" as run with context -%}
SELECT order_id, customer_id, order_number, status, currency, subtotal, discount, tax, shipping_cost, total,
       placed_at, updated_at
FROM orders
WHERE order_id IN ({{ run.selected_orders() }})
