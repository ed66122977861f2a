"""posegraph's calculator library, one family per folder (MediaPipe's calculators/ split).

The runtime loads this package through the ``posegraph.calculators`` entry point, the same way it loads third-party
calculator packages. Importing it registers nothing heavy: it declares which module defines each calculator
(``CALCULATOR_MODULES``, ``VARIANT_MODULES`` from ``_index``) and the registry imports a module when a graph first
asks for one of its names, so a MoveNet graph never pays for OpenPose's kernels or MediaPipe's dialect.
"""

from ._index import CALCULATOR_MODULES, VARIANT_MODULES
from .mediapipe import names  # noqa: F401  (MediaPipe names -> posegraph's equivalents: data only)

__all__ = ["CALCULATOR_MODULES", "VARIANT_MODULES"]
