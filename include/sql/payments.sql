{% import "_selection.sql" as run with context -%}
SELECT pay.payment_id, pay.order_id, pay.amount, pay.currency, pay.method, pay.status, pay.initiated_at,
       pay.reference, pay.updated_at, o.customer_id
FROM payments pay
LEFT JOIN orders o ON o.order_id = pay.order_id
WHERE {{ run.in_window('pay.updated_at') }}
