"""The unique source-key property (``key_property`` in the mapping): the object types a run needs it on, and
creating it there once the run is known to go ahead.

Creating it is the run's first change to the portal, so it waits for extraction, validation and the quota
plan (the ``plan_quota`` task, before any write task; the plan counts its requests): a run that fails before
then changes nothing. setup checks the schema scopes it needs before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from hubspot_commerce.storage import read_json, replace_json
from hubspot_commerce.sync.mapping import SyncMapping
from hubspot_commerce.sync.tasks.task_context import HubSpotApi, RunContext
from hubspot_commerce.sync.validate import definitions_by_name

log = logging.getLogger(__name__)
REQUESTS_PER_TYPE = 2  # a create, and a read of the definitions HubSpot then holds


def keyed_types(mapping: SyncMapping, streams: Iterable[str]) -> list[str]:
    """The object types ``streams`` create records of (no ``upsert_by``): the key property is needed there."""
    written = {mapping.streams[name].object_type for name in streams}
    return [object_type for object_type in mapping.keyed_object_types if object_type in written]


def lacking_key_property(
    mapping: SyncMapping, streams: Iterable[str], definitions: Mapping[str, list[dict]]
) -> list[str]:
    """The object types ``streams`` need the key property on whose ``definitions`` do not have it."""
    name = mapping.key_property.name
    return [t for t in keyed_types(mapping, streams) if name not in definitions_by_name(definitions[t])]


def key_property_requests(run: RunContext) -> int:
    """The requests creating the key property will cost (a create and a read per object type lacking it,
    as setup found them), for the streams selected: a dry run plans what a real run would send."""
    streams = run.options.objects
    return REQUESTS_PER_TYPE * len(lacking_key_property(run.mapping, streams, _stored(run, streams)))


def create_key_property(run: RunContext, hubspot: HubSpotApi) -> list[str]:
    """Create the key property where the run needs it and the portal lacked it when setup read the
    definitions, and add its definition, as HubSpot now gives it, to the run's stored definitions (which
    prepare and mirror read; replaced whole, since prepare may be reading them). Returns the object types
    it was created on: none on a dry run or when it exists everywhere."""
    streams, key = run.options.written_streams(), run.mapping.key_property
    stored = _stored(run, streams)
    lacking = lacking_key_property(run.mapping, streams, stored)
    if not lacking:
        return []
    hubspot.ensure_properties_by_type({t: stored[t] for t in lacking}, [key.definition()])
    for object_type, current in hubspot.get_properties_by_type(lacking).items():
        created = definitions_by_name(current)[key.name]
        replace_json(run.files.definitions(object_type), [*stored[object_type], created])
        log.info("%s.%s: created", object_type, key.name)
    return lacking


def _stored(run: RunContext, streams: Iterable[str]) -> dict[str, list[dict]]:
    """The definitions setup kept of the object types ``streams`` create records of."""
    return {t: read_json(run.files.definitions(t)) for t in keyed_types(run.mapping, streams)}
