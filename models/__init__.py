"""Known model files (the manifest) and where to find them on disk (the resolver).

Usage: `resolve_model("blazepose_detector")` returns the path of the file; `find_spec(name)` its manifest entry
(expected tensors, sha256, provenance, public URL); `posegraph.models.download.pull(name)` fetches it into the user
cache (`posegraph models pull NAME` on the command line).
"""

from .manifest import (
    CompanionFile,
    ManifestError,
    ModelIntegrityError,
    ModelSpec,
    TensorInfo,
    find_spec,
    load_manifest,
    sha256_of,
    verify_file,
)
from .resolver import ENV_VAR, ModelNotFoundError, SearchDir, model_search_dirs, resolve_model, user_cache_dir

__all__ = [
    "ENV_VAR",
    "CompanionFile",
    "ManifestError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "ModelSpec",
    "SearchDir",
    "TensorInfo",
    "find_spec",
    "load_manifest",
    "model_search_dirs",
    "resolve_model",
    "sha256_of",
    "user_cache_dir",
    "verify_file",
]
