"""``python -m hubspot_sandbox``: the same as the ``hubspot-sandbox`` command."""

from hubspot_sandbox.cli import main

main()
