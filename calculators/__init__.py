"""posegraph's calculator library, one family per folder (MediaPipe's calculators/ split).

Importing this package registers every built-in calculator; the runtime does so through the
``posegraph.calculators`` entry point, the same way it loads third-party calculator packages.
"""

from . import core  # noqa: F401
from .inference import tflite_inference  # noqa: F401
from .io import landmarks_sink, media_source, video_sink  # noqa: F401
from .image import image_to_tensor  # noqa: F401
from .render import pose_renderer  # noqa: F401
