"""``python -m posegraph``: the same as the ``posegraph`` command."""

import sys

from .cli import main

sys.exit(main())
