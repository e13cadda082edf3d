"""The pipelines API: HubSpot's default Order Pipeline, consistent with the hs_pipeline_stage options."""

from __future__ import annotations

from sandbox_helpers import Api, order

from hubspot_sandbox.process import SandboxProcess
from hubspot_sandbox.schema import ORDER_PIPELINE_ID, ORDER_STAGES

EPOCH = "1970-01-01T00:00:00.000Z"


def test_orders_have_the_default_order_pipeline(api):
    listed = api.get(api.pipelines("orders"))
    one = api.get(f"{api.pipelines('0-123')}/{ORDER_PIPELINE_ID}")
    stage_options = api.get(f"{api.properties('orders')}/hs_pipeline_stage").json()["options"]
    pipeline_options = api.get(f"{api.properties('orders')}/hs_pipeline").json()["options"]

    assert listed.status_code == 200
    (pipeline,) = listed.json()["results"]
    assert one.json() == pipeline
    assert pipeline["id"] == ORDER_PIPELINE_ID
    assert pipeline["label"] == "Order Pipeline"
    assert (pipeline["createdAt"], pipeline["archived"]) == (EPOCH, False)
    assert [(s["id"], s["label"]) for s in pipeline["stages"]] == list(ORDER_STAGES.items())
    assert [s["displayOrder"] for s in pipeline["stages"]] == [0, 1, 2, 3, 4]
    assert {s["writePermissions"] for s in pipeline["stages"]} == {"CRM_PERMISSIONS_ENFORCEMENT"}
    assert [o["value"] for o in stage_options] == [s["id"] for s in pipeline["stages"]]
    assert [(o["value"], o["label"]) for o in pipeline_options] == [(ORDER_PIPELINE_ID, "Order Pipeline")]


def test_an_order_takes_a_stage_of_the_pipeline_and_no_other(api, sandbox):
    (pipeline,) = api.get(api.pipelines("orders")).json()["results"]
    shipped = pipeline["stages"][2]["id"]

    good = api.batch(
        "orders", "create", [{"properties": order(hs_pipeline=pipeline["id"], hs_pipeline_stage=shipped)}]
    )
    bad = api.batch("orders", "create", [{"properties": order(hs_pipeline_stage="closedwon")}])

    assert good.status_code == 201
    assert bad.status_code == 400
    (stored,) = sandbox.dump("orders")
    assert stored["properties"]["hs_pipeline_stage"] == shipped


def test_unknown_pipeline_is_404_and_object_types_without_pipelines_are_400(api):
    missing = api.get(f"{api.pipelines('orders')}/default")
    carts = api.get(api.pipelines("carts"))
    deals = api.get(api.pipelines("deals"))

    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"
    assert carts.status_code == 400
    assert carts.json()["category"] == "VALIDATION_ERROR"
    assert deals.status_code == 404  # the sandbox holds no deals


def test_pipelines_need_a_read_scope_of_the_object():
    with SandboxProcess(
        tokens=["orders:crm.objects.orders.read", "products:crm.objects.products.read"]
    ) as sb:
        allowed = Api(sb.url, "orders", family="2026-09").get("/crm/pipelines/2026-09/orders")
        refused = Api(sb.url, "products").get("/crm/v3/pipelines/orders")

    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.orders.read",
        "crm.pipelines.orders.read",
        "crm.schemas.orders.read",
    ]
