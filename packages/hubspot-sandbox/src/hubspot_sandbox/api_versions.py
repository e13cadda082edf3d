"""HubSpot's path families: numbered (``/crm/v3/objects/...``) and date-versioned (``/crm/objects/2026-09``).

``parse`` splits a path into its API, version and the segments after the version, so the router sends both
families to the same handlers; ``Dialect`` carries the few things a version changes inside those handlers.
Sources for each difference are listed in docs/reference/sandbox.md ("HubSpot API versions").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hubspot_sandbox.error_bodies import malformed
from hubspot_sandbox.validation_rules import RuleCheck

DATED_VERSIONS = ("2026-03", "2026-09")
# The numbered versions each API answers on: objects v3 (records) and v4 (a record's associations),
# associations v4, OAuth v1 (token, token metadata), v2 (private app token info), v3 (token, introspection).
NUMBERED_VERSIONS = {
    "objects": ("v3", "v4"),
    "properties": ("v3",),
    "pipelines": ("v3",),
    "associations": ("v4",),
    "oauth": ("v1", "v2", "v3"),
}
CATEGORIES = {"HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED", "WORK"}


@dataclass(frozen=True)
class ApiPath:
    """A HubSpot path: its API (``objects``...), version (``v3``, ``2026-09``...), prefix and the rest."""

    api: str
    version: str
    base: str  # the path up to and including the version: "/crm/v3/objects", "/crm/objects/2026-09"
    rest: tuple[str, ...]

    @property
    def dated(self) -> bool:
        """Whether this is a date-versioned path."""
        return self.version in DATED_VERSIONS

    @property
    def text(self) -> str:
        """The path itself."""
        return "/".join((self.base, *self.rest))

    def label(self, method: str, *tail: str) -> str:
        """The route's name for the stats: method and path template in this path's own family."""
        return f"{method} {'/'.join((self.base, *tail))}"


def parse(path: str) -> ApiPath | None:
    """The API, version and rest of a HubSpot path; None for paths outside both families."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "crm":
        if parts[1] in NUMBERED_VERSIONS.get(parts[2], ()):
            return ApiPath(parts[2], parts[1], "/" + "/".join(parts[:3]), tuple(parts[3:]))
        if parts[2] in DATED_VERSIONS and parts[1] in NUMBERED_VERSIONS and parts[1] != "oauth":
            return ApiPath(parts[1], parts[2], "/" + "/".join(parts[:3]), tuple(parts[3:]))
    if parts[:3] == ["account-info", "v3", "details"] and len(parts) == 3:  # no dated form is documented
        return ApiPath("account-info", "v3", "/account-info/v3", ("details",))
    if len(parts) >= 2 and parts[0] == "oauth" and parts[1] in (*NUMBERED_VERSIONS["oauth"], *DATED_VERSIONS):
        return ApiPath("oauth", parts[1], f"/oauth/{parts[1]}", tuple(parts[2:]))
    return None


@dataclass(frozen=True)
class Dialect:
    """What a request's version changes in the shared handlers; the default is the numbered family."""

    version: str = "v3"
    rules: RuleCheck | None = None  # the portal's write validation rules, enforced from 2026-09 on

    def at_least(self, version: str) -> bool:
        """Whether this is a date version at or after ``version`` (numbered versions never are)."""
        return self.version in DATED_VERSIONS and self.version >= version

    def association_spec(self, spec: Any) -> tuple[str, int]:
        """(category, type id) of an association type input. The date-versioned reference pages send
        ``associationTypeId`` alone; the numbered spec requires ``associationCategory`` too."""
        if not isinstance(spec, dict) or not isinstance(spec.get("associationTypeId"), int):
            raise malformed("associationCategory and associationTypeId are required")
        category = spec.get("associationCategory")
        if category is None and self.version in DATED_VERSIONS:
            category = "HUBSPOT_DEFINED"  # the only category of the sandbox's association types
        if category not in CATEGORIES:
            raise malformed("associationCategory and associationTypeId are required")
        return category, spec["associationTypeId"]
