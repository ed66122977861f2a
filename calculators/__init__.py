"""posegraph's calculator library, one family per folder (MediaPipe's calculators/ split).

Importing this package registers every built-in calculator; the runtime does so through the
``posegraph.calculators`` entry point, the same way it loads third-party calculator packages.
"""

from . import core  # noqa: F401
