"""HubSpot's official Python client works against the sandbox and deserialises every response it gets.

``client_side_validation=True`` makes the generated models refuse responses that lack a field HubSpot's
schemas mark required, so these tests check the sandbox's response shapes against HubSpot's own models.
The installed client (hubspot-api-client 12) has numbered-path clients only (``/crm/v3``, ``/crm/v4``,
``/oauth/v1``), so the date-versioned paths are covered by the other sandbox tests, not here.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.associations.v4 import AssociationSpec as V4Spec
from hubspot.crm.associations.v4 import (
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4 import PublicObjectId as V4Id
from hubspot.crm.objects import (
    ApiException,
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.products import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.properties import PropertyCreate

from hubspot_sandbox.process import SandboxProcess
from hubspot_sandbox.schema import ORDER_PIPELINE_ID, ORDER_STAGES, PORTAL_ID


@pytest.fixture
def client(sandbox) -> HubSpot:
    return HubSpot(access_token="test-token", host=sandbox.url, client_side_validation=True)


def test_upsert_and_read_products(client, sandbox):
    batch = client.crm.products.batch_api
    inputs = [
        SimplePublicObjectBatchInputUpsert(
            id_property="hs_sku",
            id=f"SKU-{i}",
            object_write_trace_id=f"p{i}",
            properties={"name": f"Product {i}", "price": "9.50"},
        )
        for i in range(3)
    ]

    first = batch.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
    second = batch.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs[:1]))
    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            id_property="hs_sku",
            inputs=[SimplePublicObjectId(id="SKU-0"), SimplePublicObjectId(id="SKU-404")],
            properties=["hs_sku", "price"],
            properties_with_history=[],
        )
    )

    assert first.status == "COMPLETE"
    assert sorted((r.object_write_trace_id, r.new) for r in first.results) == [
        ("p0", True),
        ("p1", True),
        ("p2", True),
    ]
    assert second.results[0].new is False
    assert second.results[0].id == next(r.id for r in first.results if r.object_write_trace_id == "p0")
    assert [r.properties["hs_sku"] for r in read.results] == ["SKU-0"]
    assert read.num_errors == 1
    assert read.errors[0].category == "OBJECT_NOT_FOUND" and read.errors[0].context["ids"] == ["SKU-404"]
    assert len(sandbox.dump("products")) == 3


def test_create_orders_with_a_207_and_associations(client, sandbox):
    (contact,) = client.crm.objects.batch_api.create(
        "contacts",
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"email": "ann@example.com"}, associations=[]
                )
            ]
        ),
    ).results
    link = PublicAssociationsForObject(
        to=PublicObjectId(id=contact.id),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=507)],
    )
    inputs = [
        SimplePublicObjectBatchInputForCreate(
            object_write_trace_id="good",
            associations=[link],
            properties={"hs_order_name": "Order #1", "hs_currency_code": "USD"},
        ),
        SimplePublicObjectBatchInputForCreate(
            object_write_trace_id="bad",
            associations=[],
            properties={"hs_order_name": "Order #2", "hs_currency_code": "XXX"},
        ),
    ]

    response = client.crm.objects.batch_api.create(
        "orders", BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
    )

    assert response.num_errors == 1
    assert response.errors[0].context["objectWriteTraceId"] == ["bad"]
    assert response.results[0].object_write_trace_id == "good"
    assert response.results[0].properties["hs_order_name"] == "Order #1"
    (stored,) = sandbox.dump("orders")
    assert stored["associations"] == {"contacts": [contact.id]}
    fetched = client.crm.objects.basic_api.get_by_id("orders", stored["id"], associations=["contacts"])
    assert fetched.associations["contacts"].results[0].id == contact.id
    page = client.crm.associations.v4.basic_api.get_page("orders", stored["id"], "contacts")
    # HubSpot sends toObjectId as a JSON integer; this client's model turns it into a string.
    assert [(str(r.to_object_id), r.association_types[0].type_id) for r in page.results] == [
        (contact.id, 507)
    ]


def test_whole_batch_400_surfaces_as_api_exception(client, sandbox):
    inputs = [
        SimplePublicObjectBatchInputForCreate(properties={"hs_order_name": "x", "nope": "1"}, associations=[])
    ]

    with pytest.raises(ApiException) as raised:
        client.crm.objects.batch_api.create(
            "orders", BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
        )

    assert raised.value.status == 400
    assert "PROPERTY_DOESNT_EXIST" in raised.value.body
    assert sandbox.dump("orders") == []


def test_properties_lists_and_labels(client):
    created = client.crm.properties.core_api.create(
        "products",
        PropertyCreate(
            name="external_product_id",
            label="External product id",
            type="string",
            field_type="text",
            group_name="productinformation",
            has_unique_value=True,
        ),
    )
    properties = client.crm.properties.core_api.get_all("products")
    sku = client.crm.properties.core_api.get_by_name("products", "hs_sku")
    labels = client.crm.associations.v4.schema.definitions_api.get_all("line_items", "orders")
    page = client.crm.objects.basic_api.get_page("products", limit=5)

    assert created.has_unique_value is True
    assert "external_product_id" in {p.name for p in properties.results}
    assert sku.has_unique_value is True
    assert [(label.category, label.type_id) for label in labels.results] == [("HUBSPOT_DEFINED", 514)]
    assert page.results == []
    with pytest.raises(AssociationsApiException) as raised:
        client.crm.associations.v4.basic_api.get_page("orders", "404", "contacts")
    assert raised.value.status == 404


def test_single_record_create_and_update(client, sandbox):
    created = client.crm.objects.basic_api.create(
        "carts", SimplePublicObjectInputForCreate(properties={"hs_cart_name": "Cart 1"}, associations=[])
    )
    updated = client.crm.objects.basic_api.update(
        "carts", created.id, SimplePublicObjectInput(properties={"hs_total_price": "12.50"})
    )

    assert updated.properties["hs_total_price"] == "12.50"
    (stored,) = sandbox.dump("carts")
    assert (
        stored["properties"]["hs_cart_name"] == "Cart 1" and stored["properties"]["hs_total_price"] == "12.50"
    )


def test_v4_batch_associations(client, sandbox):
    order_id = _create(client, "orders", {"hs_order_name": "o"})
    contact_id = _create(client, "contacts", {"email": "a@example.com"})
    line_id = _create(client, "line_items", {"name": "li"})
    batch = client.crm.associations.v4.batch_api

    created = batch.create(
        "orders",
        "contacts",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                PublicAssociationMultiPost(
                    _from=V4Id(id=order_id),
                    to=V4Id(id=contact_id),
                    types=[V4Spec(association_category="HUBSPOT_DEFINED", association_type_id=507)],
                )
            ]
        ),
    )
    default = batch.create_default(
        "orders",
        "line_items",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[PublicDefaultAssociationMultiPost(_from=V4Id(id=order_id), to=V4Id(id=line_id))]
        ),
    )
    read = batch.get_page(
        "contacts",
        "orders",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=contact_id)]
        ),
    )

    assert str(created.results[0].to_object_id) == contact_id
    assert default.results[0].association_spec.association_type_id == 513
    assert str(read.results[0].to[0].to_object_id) == order_id
    assert read.results[0].to[0].association_types[0].type_id == 508
    (stored,) = sandbox.dump("orders")
    assert stored["associations"] == {"contacts": [contact_id], "line_items": [line_id]}


def _create(client: HubSpot, object_type: str, properties: dict) -> str:
    """Create one record through the client's basic API; its id."""
    return client.crm.objects.basic_api.create(
        object_type, SimplePublicObjectInputForCreate(properties=properties, associations=[])
    ).id


def test_oauth_refresh_with_the_official_client():
    with SandboxProcess(oauth_clients=["app:secret:refresh-1"]) as sb:
        oauth = HubSpot(host=sb.url, client_side_validation=True).oauth.tokens_api
        tokens = oauth.create(
            grant_type="refresh_token", client_id="app", client_secret="secret", refresh_token="refresh-1"
        )
        client = HubSpot(access_token=tokens.access_token, host=sb.url, client_side_validation=True)
        created = _create(client, "products", {"name": "via oauth"})

        assert tokens.token_type == "bearer" and tokens.expires_in == 1800
        assert [r["id"] for r in sb.dump("products")] == [created]


def test_order_pipeline_with_the_official_client(client):
    pipelines = client.crm.pipelines.pipelines_api

    listed = pipelines.get_all("orders").results
    one = pipelines.get_by_id("orders", ORDER_PIPELINE_ID)

    assert [p.id for p in listed] == [ORDER_PIPELINE_ID]
    assert [(s.id, s.label) for s in one.stages] == list(ORDER_STAGES.items())
    assert {s.write_permissions for s in one.stages} == {"CRM_PERMISSIONS_ENFORCEMENT"}


def test_oauth_access_token_metadata_with_the_official_client():
    with SandboxProcess(oauth_clients=["app:secret:refresh-1:crm.objects.orders.write"]) as sb:
        hubspot = HubSpot(host=sb.url, client_side_validation=True)
        tokens = hubspot.oauth.tokens_api.create(
            grant_type="refresh_token", client_id="app", client_secret="secret", refresh_token="refresh-1"
        )
        info = hubspot.oauth.access_tokens_api.get(tokens.access_token)

    assert info.scopes == ["crm.objects.orders.write"]
    assert info.hub_id == PORTAL_ID
    assert 0 < info.expires_in <= 1800
