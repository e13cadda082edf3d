"""A local HubSpot: a real HTTP server that answers HubSpot's CRM v3 batch APIs as HubSpot does.

Start it with the ``hubspot-sandbox`` command or, from Python and tests, with
:class:`hubspot_sandbox.process.SandboxProcess`. It shares no code with the client side.
"""
