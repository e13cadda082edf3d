"""The unique source-key property (``key_property`` in the mapping): the object types a run needs it on, and
creating it there once the run is known to go ahead.

Creating it is the run's first change to the portal, so it waits for extraction, validation and the quota
plan (the ``plan_quota`` task, before any write task): a run that fails before then changes nothing. setup
checks the schema scopes it needs before anything is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hubspot_commerce.storage import read_json, replace_json
from hubspot_commerce.sync.tasks.task_context import HubSpotApi, RunContext
from hubspot_commerce.sync.validate import definitions_by_name

log = logging.getLogger(__name__)


def keyed_written_types(run: RunContext) -> list[str]:
    """The object types the run creates records of (a stream it writes without ``upsert_by``): the key
    property is needed there. None on a dry run."""
    mapping = run.mapping
    written = {mapping.streams[name].object_type for name in run.options.written_streams()}
    return [object_type for object_type in mapping.keyed_object_types if object_type in written]


def lacking_key_property(run: RunContext, definitions: Mapping[str, list[dict]]) -> list[str]:
    """The object types the run needs the key property on whose ``definitions`` do not have it."""
    name = run.mapping.key_property.name
    return [t for t in keyed_written_types(run) if name not in definitions_by_name(definitions[t])]


def create_key_property(run: RunContext, hubspot: HubSpotApi) -> list[str]:
    """Create the key property where the run needs it and the portal lacked it when setup read the
    definitions, and add its definition, as HubSpot now gives it, to the run's stored definitions (which
    prepare and mirror read; replaced whole, since prepare may be reading them). Returns the object types
    it was created on: none on a dry run or when it exists everywhere."""
    files, key = run.files, run.mapping.key_property
    stored = {t: read_json(files.definitions(t)) for t in keyed_written_types(run)}
    lacking = lacking_key_property(run, stored)
    if not lacking:
        return []
    hubspot.ensure_properties_by_type({t: stored[t] for t in lacking}, [key.definition()])
    for object_type, current in hubspot.get_properties_by_type(lacking).items():
        created = definitions_by_name(current)[key.name]
        replace_json(files.definitions(object_type), [*stored[object_type], created])
        log.info("%s.%s: created", object_type, key.name)
    return lacking
