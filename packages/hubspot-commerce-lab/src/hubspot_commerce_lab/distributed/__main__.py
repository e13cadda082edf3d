"""``python -m hubspot_commerce_lab.distributed``: see :mod:`hubspot_commerce_lab.distributed.lab_command`."""

import sys

from hubspot_commerce_lab.distributed.lab_command import main

sys.exit(main())
