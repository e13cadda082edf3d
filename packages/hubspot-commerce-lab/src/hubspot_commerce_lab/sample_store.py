"""Generate a realistic, deterministic sample store as a SQLite file (the demo's and the tests' source).

The tables follow the source contract the sync reads (see ``include/sql/``): products, customers, orders with
order_lines, payments, carts with cart_lines. The same sizes and seed always produce the same file.

Rows are generated and inserted ``CHUNK`` customers, orders or carts at a time (with their lines and
payments), so a store of millions of rows is written in bounded memory; a store of up to ``CHUNK`` of each is
written table by table.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path

SCHEMA = """
CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, price NUMERIC NOT NULL,
    cost NUMERIC, product_type TEXT, updated_at TEXT NOT NULL);
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT,
    phone TEXT, updated_at TEXT NOT NULL);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_number TEXT NOT NULL,
    status TEXT NOT NULL, currency TEXT NOT NULL, subtotal NUMERIC, discount NUMERIC, tax NUMERIC,
    shipping_cost NUMERIC, total NUMERIC NOT NULL, placed_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE order_lines (order_id INTEGER NOT NULL, line_number INTEGER NOT NULL, sku TEXT NOT NULL,
    quantity INTEGER NOT NULL, unit_price NUMERIC NOT NULL, discount NUMERIC,
    PRIMARY KEY (order_id, line_number));
CREATE TABLE payments (payment_id TEXT PRIMARY KEY, order_id INTEGER NOT NULL, amount NUMERIC NOT NULL,
    currency TEXT NOT NULL, method TEXT, status TEXT, initiated_at TEXT NOT NULL, reference TEXT,
    updated_at TEXT NOT NULL);
CREATE TABLE carts (cart_id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT NOT NULL,
    currency TEXT NOT NULL, total NUMERIC, url TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE cart_lines (cart_id INTEGER NOT NULL, line_number INTEGER NOT NULL, sku TEXT NOT NULL,
    quantity INTEGER NOT NULL, unit_price NUMERIC NOT NULL, PRIMARY KEY (cart_id, line_number));
CREATE INDEX products_updated ON products (updated_at);
CREATE INDEX customers_updated ON customers (updated_at);
CREATE INDEX orders_updated ON orders (updated_at);
CREATE INDEX payments_updated ON payments (updated_at);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX carts_updated ON carts (updated_at);
"""

# Every timestamp in the store falls in this year (UTC), so a window override can select any part of it.
STORE_START = datetime(2025, 1, 1, tzinfo=UTC)
STORE_DAYS = 365
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

ADJECTIVES = [
    "Classic",
    "Organic",
    "Compact",
    "Deluxe",
    "Rugged",
    "Smart",
    "Vintage",
    "Eco",
    "Premium",
    "Travel",
    "Ultra",
    "Everyday",
    "Nordic",
    "Urban",
    "Coastal",
]
NOUNS = [
    "Backpack",
    "Mug",
    "Lamp",
    "Notebook",
    "Headphones",
    "Water Bottle",
    "Desk Mat",
    "Candle",
    "T-Shirt",
    "Sneakers",
    "Blanket",
    "Speaker",
    "Plant Pot",
    "Wallet",
    "Sunglasses",
    "Chair",
    "Keyboard",
    "Tea Set",
]
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yara",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Müller",
    "Okafor",
    "Kowalski",
    "Nguyen",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Silva",
    "Johansson",
    "Patel",
    "O'Brien",
    "Haddad",
    "Novak",
    "Schmidt",
]
ORDER_STATUSES = ["open", "processed", "shipped", "delivered", "cancelled"]
ORDER_STATUS_WEIGHTS = [10, 15, 20, 45, 10]
PRODUCT_TYPES = ["physical", "digital", "service"]
PAYMENT_METHODS = ["card", "paypal", "bank_transfer", "cash"]
CART_STATUSES = ["open", "abandoned", "converted"]
CURRENCIES = ["USD", "USD", "USD", "EUR", "GBP"]
CENT = Decimal("0.01")
CHUNK = 50_000  # customers, orders or carts generated and inserted at once (with their lines and payments)

Group = tuple[list[tuple], ...]  # one generated row's rows for each table it fills (an order, its lines, ...)


@dataclass(frozen=True)
class StoreSize:
    """How many rows of each top-level table to generate (lines and payments follow from orders and carts)."""

    products: int = 500
    customers: int = 2_000
    orders: int = 5_000
    carts: int = 1_000


class Prices:
    """The products' prices by SKU, and their SKUs sorted once (every line draws from them)."""

    def __init__(self, of: dict[str, Decimal]) -> None:
        self.of = of
        self.skus = sorted(of)


def _stamp(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


def _moment(rng: random.Random, after: datetime | None = None, within_days: float = STORE_DAYS) -> datetime:
    """A random second in the store's year, or within ``within_days`` after ``after`` (capped at year end)."""
    start = after or STORE_START
    end = min(start + timedelta(days=within_days), STORE_START + timedelta(days=STORE_DAYS))
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randint(0, max(seconds - 1, 0)))


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return (Decimal(rng.randint(low * 100, high * 100)) / 100).quantize(CENT)


def _products(rng: random.Random, count: int) -> list[tuple]:
    rows = []
    for n in range(1, count + 1):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n}"
        price = _money(rng, 3, 400)
        cost = (price * Decimal(rng.randint(30, 70)) / 100).quantize(CENT)
        rows.append(
            (
                f"SKU-{n:05d}",
                name,
                f"The {name.lower()}, sample item {n}.",
                str(price),
                str(cost),
                rng.choice(PRODUCT_TYPES),
                _stamp(_moment(rng)),
            )
        )
    return rows


def _customers(rng: random.Random, count: int) -> Iterator[Group]:
    for n in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "").replace("ü", "ue")
        # A few customers typed their address with capitals; HubSpot stores emails lower-cased.
        email = f"{local}.{n}@example.com" if rng.random() > 0.05 else f"{first}.{last}.{n}@Example.com"
        phone = f"+1-555-{rng.randint(0, 9999):04d}" if rng.random() > 0.3 else None
        yield ([(n, email, first, last, phone, _stamp(_moment(rng)))],)


def _lines(
    rng: random.Random, parent_id: int, prices: Prices, max_lines: int, with_discount: bool
) -> list[tuple]:
    skus = rng.sample(prices.skus, k=min(rng.randint(1, max_lines), len(prices.skus)))
    lines = []
    for number, sku in enumerate(skus, start=1):
        quantity = rng.choice([1, 1, 1, 2, 2, 3, 4, 5])
        row: tuple = (parent_id, number, sku, quantity, prices.of[sku])
        if with_discount:
            discount = (
                (prices.of[sku] * quantity * Decimal("0.1")).quantize(CENT) if rng.random() < 0.15 else None
            )
            row = (*row, discount)
        lines.append(row)
    return lines


def _orders(rng: random.Random, count: int, customers: int, prices: Prices) -> Iterator[Group]:
    """Per order: the order, its lines, its payment (none while open)."""
    for n in range(count):
        order_id = 100_001 + n
        customer_id = rng.randint(1, customers) if customers and rng.random() > 0.12 else None  # guests
        status = rng.choices(ORDER_STATUSES, ORDER_STATUS_WEIGHTS)[0]
        currency = rng.choice(CURRENCIES)
        placed = _moment(rng, within_days=STORE_DAYS - 10)
        updated = _moment(rng, after=placed, within_days=10)
        order_lines = _lines(rng, order_id, prices, 6, with_discount=True)
        subtotal = sum((line[3] * line[4] - (line[5] or 0) for line in order_lines), Decimal(0))
        discount = (subtotal * Decimal("0.05")).quantize(CENT) if rng.random() < 0.2 else Decimal("0.00")
        tax = ((subtotal - discount) * Decimal("0.08")).quantize(CENT)
        shipping = rng.choice([Decimal("0.00"), Decimal("4.99"), Decimal("9.95")])
        total = subtotal - discount + tax + shipping
        order = (
            order_id,
            customer_id,
            f"SO-{order_id}",
            status,
            currency,
            str(subtotal),
            str(discount),
            str(tax),
            str(shipping),
            str(total),
            _stamp(placed),
            _stamp(updated),
        )
        lines = [(*line[:4], str(line[4]), None if line[5] is None else str(line[5])) for line in order_lines]
        payments = []
        if status != "open":
            initiated = _moment(rng, after=placed, within_days=0.01)
            paid_status = {"cancelled": "refunded"}.get(
                status, "succeeded" if rng.random() > 0.03 else "failed"
            )
            payments.append(
                (
                    f"PAY-{order_id}",
                    order_id,
                    str(total),
                    currency,
                    rng.choice(PAYMENT_METHODS),
                    paid_status,
                    _stamp(initiated),
                    f"ch_{rng.getrandbits(48):012x}",
                    _stamp(updated),
                )
            )
        yield [order], lines, payments


def _carts(rng: random.Random, count: int, customers: int, prices: Prices) -> Iterator[Group]:
    """Per cart: the cart and its lines."""
    for n in range(count):
        cart_id = 500_001 + n
        customer_id = rng.randint(1, customers) if customers and rng.random() > 0.3 else None  # anonymous
        cart_lines = _lines(rng, cart_id, prices, 4, with_discount=False)
        total = sum((line[3] * line[4] for line in cart_lines), Decimal(0))
        created = _moment(rng, within_days=STORE_DAYS - 5)
        updated = _moment(rng, after=created, within_days=5)
        cart = (
            cart_id,
            customer_id,
            rng.choice(CART_STATUSES),
            rng.choice(CURRENCIES),
            str(total),
            f"https://shop.example.com/cart/{cart_id}",
            _stamp(created),
            _stamp(updated),
        )
        yield [cart], [(*line[:4], str(line[4])) for line in cart_lines]


def generate_store(path: str | Path, size: StoreSize = StoreSize(), seed: int = 2025) -> dict[str, int]:
    """Write a fresh sample store to ``path`` (replacing any file) and return row counts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        products = _products(rng, size.products)
        counts.update(_write(db, ("products",), (([row],) for row in products)))
        prices = Prices({row[0]: Decimal(row[3]) for row in products})
        counts.update(_write(db, ("customers",), _customers(rng, size.customers)))
        counts.update(
            _write(
                db, ("orders", "order_lines", "payments"), _orders(rng, size.orders, size.customers, prices)
            )
        )
        counts.update(_write(db, ("carts", "cart_lines"), _carts(rng, size.carts, size.customers, prices)))
    db.close()
    return counts


def _write(db: sqlite3.Connection, tables: tuple[str, ...], groups: Iterable[Group]) -> dict[str, int]:
    """Insert ``CHUNK`` groups at a time, table by table; the rows inserted per table."""
    counts = dict.fromkeys(tables, 0)
    groups = iter(groups)
    while chunk := list(islice(groups, CHUNK)):
        for index, table in enumerate(tables):
            rows = [row for group in chunk for row in group[index]]
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            counts[table] += len(rows)
    return counts


def main(argv: list[str] | None = None) -> None:
    """``python -m hubspot_commerce_lab.sample_store PATH [--products N ...]``: write a sample store."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    defaults = StoreSize()
    for field in ("products", "customers", "orders", "carts"):
        parser.add_argument(f"--{field}", type=int, default=getattr(defaults, field))
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    size = StoreSize(args.products, args.customers, args.orders, args.carts)
    for table, count in generate_store(args.path, size, args.seed).items():
        print(f"{table:12} {count:>7}")


if __name__ == "__main__":
    main()
