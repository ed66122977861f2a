"""posegraph's calculator library, one family per folder (MediaPipe's calculators/ split).

Importing this package registers every built-in calculator; the runtime does so through the
``posegraph.calculators`` entry point, the same way it loads third-party calculator packages.
"""

from . import core  # noqa: F401
from .detection import (detections_to_rois, letterbox_removal, non_max_suppression,  # noqa: F401
                        tensors_to_detections)
from .inference import inference_calculator  # noqa: F401
from .io import landmarks_sink, mask_sink, media_source, video_sink  # noqa: F401
from .landmarks import (landmark_projection, landmarks_to_roi, model_complexity, pose_result,  # noqa: F401
                        smoothing_calculator, tensors_to_landmarks)
from .image import image_to_tensor  # noqa: F401
from .render import pose_renderer  # noqa: F401
from . import segmentation  # noqa: F401
from .topdown import heatmap_pose  # noqa: F401
from .topdown import normalize  # noqa: F401
from .topdown import person_crop  # noqa: F401
from .topdown import picodet  # noqa: F401
from .movenet import crop_region  # noqa: F401
from .movenet import decoder as movenet_decoder  # noqa: F401
from .posenet import decoder as posenet_decoder  # noqa: F401
from .openpose import decoder as openpose_decoder  # noqa: F401
from .classify import analytics  # noqa: F401
from .classify import angles  # noqa: F401
from .classify import knn  # noqa: F401
from .classify import model_classifier  # noqa: F401
from .classify import repetition  # noqa: F401
from .tracking import assign  # noqa: F401
from .tracking import person  # noqa: F401
from .tracking import schedule  # noqa: F401
from .tracking import mask  # noqa: F401
from .tracking import track_smoothing  # noqa: F401
from .tracking import update  # noqa: F401
from . import mediapipe  # noqa: F401  (MediaPipe's names, tags and options; after the families it extends)
