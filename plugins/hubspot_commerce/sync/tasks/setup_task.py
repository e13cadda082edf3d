"""The ``setup`` task: refuse a window the run cannot use, check the token (refused, or lacking scopes) before
any write, and keep the portal's property definitions for validation and planning. It only reads: the key
property is created by ``plan_quota``, once extraction and validation have passed."""

from __future__ import annotations

import logging
from collections.abc import Collection

from hubspot_commerce.errors import HubSpotMissingScopes
from hubspot_commerce.objects import describe_scopes, missing_scopes
from hubspot_commerce.storage import write_json
from hubspot_commerce.sync.key_property import keyed_types, lacking_key_property
from hubspot_commerce.sync.options import pipelined_object_types, with_pipelines
from hubspot_commerce.sync.tasks.task_context import HubSpotApi, RunContext
from hubspot_commerce.sync.validate import definitions_by_name

log = logging.getLogger(__name__)


def setup_step(run: RunContext, hubspot: HubSpotApi) -> dict[str, str]:
    """Refuse a window with one end (before any request); check the token's scopes against what the run
    will read and write, the key property's schema scopes included; fetch the property definitions of every
    object type the sync touches (concurrently) and keep them for validation and planning. Returns, per
    object type the run creates records of, whether the key property is there or still to be created."""
    run.options.explicit_window()  # extract, beside setup, refuses it too; here before HubSpot is asked
    mapping, streams = run.mapping, run.options.written_streams()
    object_types = mapping.object_types
    written = {mapping.streams[name].object_type for name in streams}
    granted = check_scopes(hubspot, object_types, written, keyed_types(mapping, streams))
    definitions = hubspot.get_properties_by_type(object_types)
    for object_type, pipeline in pipelined_object_types(mapping).items():
        pipelines = hubspot.get_pipelines(object_type)
        definitions[object_type] = with_pipelines(definitions[object_type], pipelines, pipeline)
    lacking = lacking_key_property(mapping, streams, definitions)
    if granted is not None and (missing := missing_scopes(granted, (), (), lacking)):
        raise missing_scopes_error(hubspot.hubspot_conn_id, missing)
    name, status = mapping.key_property.name, {}
    for object_type in mapping.keyed_object_types:
        if object_type in lacking:
            status[object_type] = "missing (plan_quota creates it before the first write)"
        elif name in definitions_by_name(definitions[object_type]):
            status[object_type] = "present"
        else:
            status[object_type] = "missing (not created: nothing of it is written)"
        log.info("%s.%s: %s", object_type, name, status[object_type])
    for object_type, object_definitions in definitions.items():
        write_json(run.files.definitions(object_type), object_definitions)
    return status


def check_scopes(
    hubspot: HubSpotApi, read: Collection[str], written: Collection[str], keyed: Collection[str]
) -> set[str] | None:
    """Fail before any write when HubSpot refuses the token (HubSpotAuthError, from ``token_scopes``) or the
    token lacks a record scope the run needs, naming every missing one (with the schema scopes creating the
    key property would need). Returns the granted scopes; None for a token HubSpot accepts but does not
    describe, which is not checked (its writes would still name a missing scope)."""
    granted = hubspot.token_scopes()
    if granted is None:
        log.warning(
            "HubSpot accepts the token of connection %r but does not say which scopes it has: they are not "
            "checked before writing, and a write that needs a missing one fails naming it",
            hubspot.hubspot_conn_id,
        )
        return None
    missing = missing_scopes(granted, read, written, ())
    if missing:
        missing += missing_scopes(granted, (), (), keyed)
        raise missing_scopes_error(hubspot.hubspot_conn_id, missing)
    log.info("the token has every record scope this run needs (%d scopes granted)", len(granted))
    return granted


def missing_scopes_error(conn_id: str, missing: list[str]) -> HubSpotMissingScopes:
    """One error naming every missing scope once, grouped, with their number."""
    return HubSpotMissingScopes(
        f"The token of connection {conn_id!r} lacks {describe_scopes(missing)}; add them to the private "
        "app, service key or OAuth app in HubSpot and run again (nothing was written).",
        scopes=missing,
    )
