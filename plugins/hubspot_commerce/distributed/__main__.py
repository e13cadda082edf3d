"""``python -m hubspot_commerce.distributed``: see :mod:`hubspot_commerce.distributed.cli`."""

import sys

from hubspot_commerce.distributed.cli import main

sys.exit(main())
