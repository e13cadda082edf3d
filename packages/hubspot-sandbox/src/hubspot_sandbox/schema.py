"""What the sandbox portal knows before any data arrives: object types, default properties, association types.

Property sets follow HubSpot's object guides (see docs/reference/sandbox.md). They are plain data; the
validation rules live in ``validation.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

PORTAL_ID = 24681357

# ISO 4217 codes offered by the currency enumerations (HubSpot lists the portal's currencies; a sandbox
# portal accepts every active code).
_CURRENCY_TEXT = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
    "GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KRW KWD KYD KZT LAK "
    "LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF "
    "YER ZAR ZMW ZWL"
)
CURRENCY_CODES = tuple(_CURRENCY_TEXT.split())

ORDER_PIPELINE_ID = "14a2e10e-5471-408a-906e-c51f3b04369e"
ORDER_STAGES = {
    "4b27b500-f031-4927-9811-68a0b525cbae": "Open",
    "937ea84d-0a4f-4dcf-9028-3f9c2aafbf03": "Processed",
    "aa99e8d0-c1d5-4071-b915-d240bbb1aed9": "Shipped",
    "3725360f-519b-4b18-a593-494d60a29c9f": "Delivered",
    "3c85a297-e9ce-400b-b42e-9f16853d69d6": "Cancelled",
}

# HubSpot property type -> the fieldType its UI uses by default.
FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}
VALID_FIELD_TYPES = {
    "string": {"text", "textarea", "html", "phonenumber", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}


@dataclass(frozen=True)
class PropertyDef:
    """One property definition as the properties API describes it."""

    name: str
    type: str
    label: str = ""
    group: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    read_only: bool = False
    calculated: bool = False
    unique: bool = False
    non_negative: bool = False  # e.g. a line item's unit price
    hubspot_defined: bool = True
    field_type: str = ""
    description: str = ""
    created_at: str = "2020-01-01T00:00:00.000Z"

    @cached_property
    def plain_text(self) -> bool:
        """A string property that stores any string as sent (no email rules)."""
        return self.type == "string" and self.name != "email"

    @cached_property
    def option_values(self) -> frozenset[str]:
        """The values an enumeration or bool property accepts."""
        return frozenset(value for value, _ in self.options)

    def to_json(self) -> dict:
        """The body HubSpot's properties API returns for this property."""
        return {
            "updatedAt": self.created_at,
            "createdAt": self.created_at,
            "name": self.name,
            "label": self.label or self.name.replace("_", " ").strip().capitalize(),
            "type": self.type,
            "fieldType": self.field_type or FIELD_TYPES[self.type],
            "description": self.description,
            "groupName": self.group,
            "options": [
                {"label": label, "value": value, "displayOrder": i, "hidden": False}
                for i, (value, label) in enumerate(self.options)
            ],
            "displayOrder": -1,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.unique,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only or self.calculated,
            },
            "formField": not (self.read_only or self.calculated),
            "archived": False,
        }


@dataclass(frozen=True)
class ObjectType:
    """A CRM object type. ``served`` False: known for association types only, the sandbox holds no records."""

    name: str  # path name, e.g. "line_items"
    type_id: str  # e.g. "0-8"
    legacy_name: str  # HubSpot's legacyObjectType, used in error messages, e.g. "LINE_ITEM"
    scope: str  # scope stem: crm.objects.<scope>.read / .write
    create_date: str  # "createdate" or "hs_createdate"
    modified_date: str  # "hs_lastmodifieddate" ("lastmodifieddate" on contacts)
    required: tuple[str, ...]
    default_read: tuple[str, ...]  # properties returned by reads that name none
    properties: dict[str, PropertyDef] = field(default_factory=dict)
    served: bool = True

    @property
    def read_scope(self) -> str:
        """The scope reading records needs."""
        return f"crm.objects.{self.scope}.read"

    @property
    def write_scope(self) -> str:
        """The scope writing records needs."""
        return f"crm.objects.{self.scope}.write"

    @property
    def schema_read_scope(self) -> str:
        """The scope reading property definitions needs (besides the read scope)."""
        return f"crm.schemas.{self.scope}.read"

    @property
    def schema_write_scope(self) -> str:
        """The scope creating properties needs."""
        return f"crm.schemas.{self.scope}.write"


def _options(*values: str) -> tuple[tuple[str, str], ...]:
    """Enumeration options whose labels are the values, capitalised."""
    return tuple((value, value.replace("_", " ").capitalize()) for value in values)


BOOL_OPTIONS = (("true", "Yes"), ("false", "No"))
CURRENCY_OPTIONS = tuple((code, code) for code in CURRENCY_CODES)


def _props(group: str, *specs: tuple) -> dict[str, PropertyDef]:
    """Build definitions from (name, type[, keyword overrides]) tuples."""
    result = {}
    for spec in specs:
        name, type_ = spec[0], spec[1]
        extra = spec[2] if len(spec) > 2 else {}
        if type_ == "bool":
            extra = {"options": BOOL_OPTIONS, **extra}
        result[name] = PropertyDef(name=name, type=type_, group=group, **extra)
    return result


def _system(create_date: str, modified_date: str) -> dict[str, PropertyDef]:
    """The read-only system properties every record has."""
    ro = {"read_only": True}
    return _props(
        "system",
        ("hs_object_id", "number", ro),
        (create_date, "datetime", ro),
        (modified_date, "datetime", ro),
        ("hs_lastmodifieddate", "datetime", ro),  # contacts have both this and lastmodifieddate
        ("hs_created_by_user_id", "number", ro),
        ("hs_updated_by_user_id", "number", ro),
        ("hs_object_source", "string", ro),
        ("hs_object_source_id", "string", ro),
        ("hs_object_source_label", "string", ro),
        ("hs_object_source_user_id", "number", ro),
        ("hs_merged_object_ids", "string", ro),
        ("hs_all_owner_ids", "enumeration", ro),
    )


def _address(prefix: str, *parts: str) -> list[tuple]:
    """String properties for the parts of an address, e.g. hs_shipping_address_city."""
    return [(f"{prefix}_{part}", "string") for part in parts]


CALC = {"read_only": True, "calculated": True}
RO = {"read_only": True}
CURRENCY = {"options": CURRENCY_OPTIONS}

_ORDER = _props(
    "order_information",
    ("hs_order_name", "string"),
    ("hs_currency_code", "enumeration", CURRENCY),
    ("hs_source_store", "string"),
    ("hs_fulfillment_status", "string"),
    ("hs_shipping_status_url", "string"),
    ("hs_shipping_tracking_number", "string"),
    ("hs_pipeline", "enumeration", {"options": ((ORDER_PIPELINE_ID, "Order Pipeline"),)}),
    ("hs_pipeline_stage", "enumeration", {"options": tuple(ORDER_STAGES.items())}),
    ("hs_external_order_id", "string"),
    ("hs_external_order_status", "string"),
    ("hs_external_order_url", "string"),
    ("hs_external_created_date", "datetime"),
    ("hs_processed_date", "datetime"),
    ("hs_total_price", "number"),
    ("hs_subtotal_price", "number"),
    ("hs_tax", "number"),
    ("hs_shipping_cost", "number"),
    ("hs_order_discount", "number"),
    ("hs_discount_codes", "string"),
    ("hs_payment_status", "string"),
    ("hs_payment_processing_method", "string"),
    ("hs_tags", "string"),
    ("hs_buyer_accepts_marketing", "bool"),
    ("hs_external_cart_id", "string"),
    ("hs_external_checkout_id", "string"),
    ("hs_order_note", "string"),
    ("hs_exchange_rate", "number", CALC),
    ("hs_homecurrency_amount", "number", CALC),
    *_address("hs_shipping_address", "street", "city", "state", "postal_code", "country", "phone", "name"),
    *_address(
        "hs_billing_address",
        "email",
        "firstname",
        "lastname",
        "name",
        "phone",
        "street",
        "city",
        "state",
        "postal_code",
        "country",
    ),
)

_CART = _props(
    "cart_information",
    ("hs_cart_name", "string"),
    ("hs_external_cart_id", "string"),
    ("hs_source_store", "string"),
    ("hs_external_status", "string"),
    ("hs_cart_url", "string"),
    ("hs_total_price", "number"),
    ("hs_subtotal_price", "number"),
    ("hs_currency_code", "enumeration", CURRENCY),
    ("hs_cart_discount", "number"),
    ("hs_tax", "number"),
    ("hs_shipping_cost", "number"),
    ("hs_tags", "string"),
    ("hs_external_created_date", "datetime"),
    ("hs_external_updated_date", "datetime"),
    ("hs_homecurrency_amount", "number", CALC),
    ("hs_exchange_rate", "number", CALC),
)

_LINE_ITEM = _props(
    "lineiteminformation",
    ("name", "string"),
    ("description", "string"),
    ("hs_sku", "string"),
    ("quantity", "number"),
    ("price", "number", {"non_negative": True, "label": "Unit price"}),
    ("amount", "number", {**CALC, "label": "Net price"}),
    ("hs_line_item_currency_code", "enumeration", CURRENCY),
    ("hs_product_id", "number"),
    ("hs_tax_rate_group_id", "string"),
    ("discount", "number", {"label": "Unit discount"}),
    ("hs_discount_percentage", "number"),
    ("hs_total_discount", "number", CALC),
    ("hs_cost_of_goods_sold", "number"),
    ("hs_position_on_quote", "number"),
    ("hs_external_id", "string"),
    (
        "recurringbillingfrequency",
        "enumeration",
        {"options": _options("weekly", "biweekly", "monthly", "quarterly", "per_six_months", "annually")},
    ),
    ("hs_recurring_billing_period", "string"),
    ("hs_recurring_billing_start_date", "date"),
    ("hs_recurring_billing_end_date", "date"),
    ("hs_pricing_model", "enumeration", {"options": _options("flat", "volume", "graduated", "stairstep")}),
    ("hs_tier_ranges", "string"),
    ("hs_tier_prices", "string"),
)

_PAYMENT = _props(
    "payment_information",
    ("hs_initial_amount", "number"),
    ("hs_initiated_date", "datetime"),
    ("hs_currency_code", "enumeration", CURRENCY),
    ("hs_customer_email", "string"),
    ("hs_fees_amount", "number"),
    ("hs_internal_comment", "string"),
    (
        "hs_latest_status",
        "enumeration",
        {
            "options": _options(
                "processing",
                "succeeded",
                "failed",
                "partially_refunded",
                "refunded",
                "processing_refund",
                "disputed_won",
                "disputed_lost",
                "disputed_action_required",
                "disputed_awaiting_decision",
            )
        },
    ),
    ("hs_payment_method_bank_or_issuer", "string"),
    ("hs_payment_method_last_4", "string"),
    (
        "hs_payment_method_type",
        "enumeration",
        {
            "options": _options(
                "card", "ach", "cash", "check", "wire_transfer", "other", "sepa", "bacs", "pads"
            )
        },
    ),
    ("hs_payout_date", "datetime"),
    (
        "hs_processor_type",
        "enumeration",
        {"options": _options("hs_payments", "byo_stripe", "none", "quickbooks", "xero")},
    ),
    ("hs_reference_number", "string"),
    ("hs_refunds_amount", "number"),
    ("hs_line_item_discounts_amount", "number"),
    ("hs_shipping_ship_to_name", "string"),
    *_address("hs_billing_address", "city", "country", "line_1", "line_2", "state", "zip"),
    *_address("hs_shipping_address", "city", "country", "line_1", "line_2", "state", "zip"),
    ("hs_payment_method", "string", RO),
    ("hs_payment_id", "string", RO),
    ("hs_payment_source_app", "string", RO),
    ("hs_payment_source_id", "string", RO),
    ("hs_payment_source_name", "string", RO),
    ("hs_payment_source_url", "string", RO),
    ("hs_payment_type", "string", RO),
    ("hs_digital_wallet_type", "string", RO),
    ("hs_platform_fee", "number", RO),
    ("hs_settlement_currency_code", "string", RO),
    ("hs_total_discounts_amount", "number", RO),
    ("hs_order_discount_code", "string", RO),
    ("hs_order_discount_amount", "number", RO),
    ("hs_order_discount_percentage", "number", RO),
    ("hs_net_amount", "number", CALC),
    ("hs_payment_creation_method", "string", RO),
    ("hs_has_associated_invoice", "bool", RO),
)

_PRODUCT = _props(
    "productinformation",
    ("name", "string"),
    ("description", "string"),
    ("price", "number"),
    ("hs_sku", "string", {"unique": True, "label": "SKU"}),
    ("hs_cost_of_goods_sold", "number"),
    ("hs_product_type", "enumeration", {"options": _options("inventory", "non_inventory", "service")}),
    ("hs_recurring_billing_period", "string"),
    (
        "recurringbillingfrequency",
        "enumeration",
        {"options": _options("weekly", "biweekly", "monthly", "quarterly", "per_six_months", "annually")},
    ),
    ("hs_url", "string"),
    ("hs_images", "string"),
    ("hs_folder_id", "number"),
    ("tax", "number"),
    ("hs_pricing_model", "enumeration", {"options": _options("flat", "volume", "graduated", "stairstep")}),
    ("hs_tier_ranges", "string"),
    ("hs_tier_prices", "string"),
)

_CONTACT = _props(
    "contactinformation",
    ("email", "string", {"unique": True, "label": "Email"}),
    ("firstname", "string"),
    ("lastname", "string"),
    ("phone", "string", {"field_type": "phonenumber"}),
    ("mobilephone", "string", {"field_type": "phonenumber"}),
    ("company", "string"),
    ("website", "string"),
    ("jobtitle", "string"),
    ("address", "string"),
    ("city", "string"),
    ("state", "string"),
    ("zip", "string"),
    ("country", "string"),
    (
        "lifecyclestage",
        "enumeration",
        {
            "options": _options(
                "subscriber",
                "lead",
                "marketingqualifiedlead",
                "salesqualifiedlead",
                "opportunity",
                "customer",
                "evangelist",
                "other",
            )
        },
    ),
    (
        "hs_lead_status",
        "enumeration",
        {
            "options": _options(
                "NEW",
                "OPEN",
                "IN_PROGRESS",
                "OPEN_DEAL",
                "UNQUALIFIED",
                "ATTEMPTED_TO_CONTACT",
                "CONNECTED",
                "BAD_TIMING",
            )
        },
    ),
)


def _object(
    name: str,
    type_id: str,
    legacy: str,
    scope: str,
    create_date: str,
    props: dict,
    required: tuple[str, ...],
    default_read: tuple[str, ...],
    modified_date: str = "hs_lastmodifieddate",
) -> ObjectType:
    """An object type with its system properties and default read set."""
    properties = {**_system(create_date, modified_date), **props}
    return ObjectType(
        name,
        type_id,
        legacy,
        scope,
        create_date,
        modified_date,
        required,
        (*default_read, create_date, modified_date, "hs_object_id"),
        properties,
    )


OBJECT_TYPES: tuple[ObjectType, ...] = (
    _object(
        "products", "0-7", "PRODUCT", "products", "createdate", _PRODUCT, (), ("name", "description", "price")
    ),
    _object(
        "orders", "0-123", "ORDER", "orders", "hs_createdate", _ORDER, ("hs_order_name",), ("hs_order_name",)
    ),
    _object(
        "line_items",
        "0-8",
        "LINE_ITEM",
        "line_items",
        "createdate",
        _LINE_ITEM,
        (),
        ("name", "price", "quantity", "amount", "hs_product_id"),
    ),
    _object(
        "commerce_payments",
        "0-101",
        "COMMERCE_PAYMENT",
        "commercepayments",
        "hs_createdate",
        _PAYMENT,
        ("hs_initial_amount", "hs_initiated_date"),
        ("hs_initial_amount", "hs_latest_status"),
    ),
    _object("carts", "0-142", "CART", "carts", "hs_createdate", _CART, (), ("hs_cart_name",)),
    _object(
        "contacts",
        "0-1",
        "CONTACT",
        "contacts",
        "createdate",
        _CONTACT,
        (),
        ("email", "firstname", "lastname"),
        modified_date="lastmodifieddate",
    ),
)

# Objects HubSpot associates commerce records with, which the sandbox does not hold: association types to
# them exist (labels, type ids), but no record can be found there.
UNSERVED_TYPES: tuple[ObjectType, ...] = tuple(
    ObjectType(name, type_id, legacy, name, "createdate", "hs_lastmodifieddate", (), (), served=False)
    for name, type_id, legacy in (
        ("companies", "0-2", "COMPANY"),
        ("deals", "0-3", "DEAL"),
        ("quotes", "0-14", "QUOTE"),
        ("invoices", "0-53", "INVOICE"),
    )
)

OBJECTS_BY_KEY: dict[str, ObjectType] = {}
for _obj in (*OBJECT_TYPES, *UNSERVED_TYPES):
    OBJECTS_BY_KEY[_obj.name] = _obj
    OBJECTS_BY_KEY[_obj.type_id] = _obj
# HubSpot also resolves singular names in paths.
OBJECTS_BY_KEY.update(
    {
        "product": OBJECTS_BY_KEY["products"],
        "order": OBJECTS_BY_KEY["orders"],
        "line_item": OBJECTS_BY_KEY["line_items"],
        "cart": OBJECTS_BY_KEY["carts"],
        "contact": OBJECTS_BY_KEY["contacts"],
        "commerce_payment": OBJECTS_BY_KEY["commerce_payments"],
    }
)


@dataclass(frozen=True)
class AssociationType:
    """A HUBSPOT_DEFINED association type between two object types (one direction)."""

    type_id: int
    from_type: str
    to_type: str
    reverse_id: int
    label: str | None = None


def _pairs(*rows: tuple) -> dict[int, AssociationType]:
    """Both directions of each (from, to, forward id, reverse id[, label]) row."""
    table: dict[int, AssociationType] = {}
    for from_type, to_type, forward, reverse, *label in rows:
        table[forward] = AssociationType(forward, from_type, to_type, reverse, *label)
        table[reverse] = AssociationType(reverse, to_type, from_type, forward, *label)
    return table


# HubSpot's association type table for the commerce objects (rows whose reverse id is documented). Products
# have none: line items point at products through the hs_product_id property instead.
ASSOCIATION_TYPES: dict[int, AssociationType] = _pairs(
    ("orders", "line_items", 513, 514),
    ("orders", "contacts", 507, 508),
    ("orders", "carts", 593, 592),
    ("orders", "commerce_payments", 523, 524),
    ("orders", "companies", 934, 935),
    ("orders", "companies", 509, 510, "Primary"),
    ("orders", "deals", 512, 511),
    ("orders", "invoices", 518, 517),
    ("carts", "line_items", 590, 591),
    ("carts", "contacts", 586, 587),
    ("carts", "deals", 1347, 1346),
    ("commerce_payments", "contacts", 387, 388),
    ("commerce_payments", "line_items", 395, 396),
    ("commerce_payments", "companies", 389, 390),
    ("commerce_payments", "deals", 391, 392),
    ("commerce_payments", "invoices", 542, 541),
    ("line_items", "deals", 20, 19),
    ("line_items", "quotes", 68, 67),
    ("line_items", "invoices", 410, 409),
)
