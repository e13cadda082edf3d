"""The ``setup`` task: check the token (refused, or lacking scopes) before any write, keep the portal's
property definitions for validation and planning, and create the source-key property where the run creates
records."""

from __future__ import annotations

import logging
from collections.abc import Collection

from hubspot_commerce.errors import HubSpotMissingScopes
from hubspot_commerce.objects import describe_scopes, missing_scopes
from hubspot_commerce.storage import write_json
from hubspot_commerce.sync.options import pipelined_object_types, with_pipelines
from hubspot_commerce.sync.tasks.task_context import HubSpotApi, RunContext
from hubspot_commerce.sync.validate import definitions_by_name

log = logging.getLogger(__name__)


def setup_step(run: RunContext, hubspot: HubSpotApi) -> dict[str, str]:
    """Check the token's scopes against what the run will read and write, before any write; fetch the
    property definitions of every object type the sync touches (concurrently) and keep them for validation
    and planning; make sure each object type the run creates records of has the unique source-key
    property. A dry run writes no stream: it only looks."""
    run.options.explicit_window()  # extract, beside setup, refuses it too; here before HubSpot is asked
    mapping = run.mapping
    object_types = mapping.object_types
    written = {mapping.streams[name].object_type for name in run.options.written_streams()}
    keyed = [t for t in mapping.keyed_object_types if t in written]
    granted = check_scopes(hubspot, object_types, written, keyed)
    definitions = hubspot.get_properties_by_type(object_types)
    for object_type, pipeline in pipelined_object_types(mapping).items():
        pipelines = hubspot.get_pipelines(object_type)
        definitions[object_type] = with_pipelines(definitions[object_type], pipelines, pipeline)
    name = mapping.key_property.name
    new_properties = [t for t in keyed if name not in definitions_by_name(definitions[t])]
    if granted is not None and (missing := missing_scopes(granted, (), (), new_properties)):
        raise missing_scopes_error(hubspot.hubspot_conn_id, missing)
    status: dict[str, str] = {}
    if new_properties:
        key_definition = [mapping.key_property.definition()]
        hubspot.ensure_properties_by_type({t: definitions[t] for t in new_properties}, key_definition)
        definitions.update(hubspot.get_properties_by_type(new_properties))
    for object_type in mapping.keyed_object_types:
        if object_type in new_properties:
            status[object_type] = "created"
        else:
            exists = name in definitions_by_name(definitions[object_type])
            status[object_type] = "present" if exists else "missing (not created: nothing of it is written)"
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
