{% import "_selection.sql" as run with context -%}
SELECT sku, name, description, price, cost, product_type, updated_at
FROM products
WHERE {{ run.in_window('updated_at') }}
   OR sku IN (SELECT sku FROM order_lines WHERE order_id IN ({{ run.selected_orders() }}))
   OR sku IN (SELECT sku FROM cart_lines WHERE cart_id IN ({{ run.selected_carts() }}))
