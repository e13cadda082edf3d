{% import "_selection.sql" as run with context -%}
SELECT l.cart_id, l.line_number, l.sku, l.quantity, l.unit_price, p.name AS product_name, c.currency
FROM cart_lines l
JOIN carts c ON c.cart_id = l.cart_id
LEFT JOIN products p ON p.sku = l.sku
WHERE l.cart_id IN ({{ run.selected_carts() }})
