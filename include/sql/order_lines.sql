{% import "_selection.sql" as run with context -%}
SELECT l.order_id, l.line_number, l.sku, l.quantity, l.unit_price, l.discount,
       p.name AS product_name, o.currency
FROM order_lines l
JOIN orders o ON o.order_id = l.order_id
LEFT JOIN products p ON p.sku = l.sku
WHERE l.order_id IN ({{ run.selected_orders() }})
