"""``python -m hubspot_commerce.sandbox``: the same as the ``hubspot-sandbox`` command."""

from hubspot_commerce.sandbox.cli import main

main()
