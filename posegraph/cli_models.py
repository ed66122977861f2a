"""``posegraph models list|pull``: which known models are where, and fetching the missing ones.

``list`` resolves every manifest entry with the resolver's own search order (explicit path, ``POSEGRAPH_MODELS``,
``../shared/models``, the user cache), so what it says is what a graph would load. ``pull`` downloads into the user
cache (``~/.cache/posegraph/models``), verified by sha256; see `posegraph.models.download`.
"""

from __future__ import annotations

import argparse
import sys

from .cli_report import UsageError


def _where(name: str) -> tuple[str, str]:
    from .models import ModelIntegrityError, ModelNotFoundError, resolve_model

    try:
        return "found", str(resolve_model(name, verify="size"))
    except ModelNotFoundError:
        return "missing", ""
    except ModelIntegrityError as exc:
        return "damaged", str(exc).split(". Source:")[0]


def cmd_models_list(args: argparse.Namespace) -> int:
    from .models import load_manifest

    specs = load_manifest()
    width = max(len(n) for n in specs)
    missing = []
    for name, spec in specs.items():
        state, detail = _where(name)
        if state == "missing":
            how = "posegraph models pull " + name if spec.downloadable else "no public download: " + spec.source
            print(f"{name:<{width}}  missing  ({how})")
            if spec.downloadable:
                missing.append(name)
        else:
            print(f"{name:<{width}}  {state:<7}  {detail}")
    if missing:
        print(f"\n{len(missing)} model(s) missing; `posegraph models pull --all` fetches them into the user cache")
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    from .models import load_manifest
    from .models.download import TqdmProgress, pull

    specs = load_manifest()
    if args.all == bool(args.names):
        raise UsageError("models pull: give model names or --all (`posegraph models list` shows them)")
    names = [n for n, s in specs.items() if s.downloadable] if args.all else args.names
    unknown = [n for n in names if n not in specs]
    if unknown:
        from .models.resolver import _suggestions
        raise UsageError(f"models pull: unknown model {', '.join(map(repr, unknown))}. {_suggestions(unknown[0])}")
    progress = None if args.quiet else TqdmProgress(sys.stderr)
    try:
        for name in names:
            result = pull(name, target=args.dir, mirror=args.mirror, progress=progress, force=args.force)
            if progress is not None:
                progress.close()
            print(f"{name}: {result.status} -> {result.path}")
    finally:
        if progress is not None:
            progress.close()
    return 0


def register(sub) -> None:
    parser = sub.add_parser("models", help="list the known models and where they are; download missing ones",
                            description=__doc__.split("\n\n")[0].replace("``", "`"))
    msub = parser.add_subparsers(dest="models_command", required=True, metavar="{list,pull}",
                                 help="list: where each model is; pull: download")
    lister = msub.add_parser("list", help="every known model: where it was found, or that it is missing")
    lister.set_defaults(func=cmd_models_list)
    puller = msub.add_parser("pull", help="download models from their public source into the user cache",
                             description="Download models from the public URL recorded in the manifest into "
                                         "~/.cache/posegraph/models ($XDG_CACHE_HOME), verify the sha256 (a "
                                         "mismatch is deleted and reported) and resume partial downloads.")
    puller.add_argument("names", nargs="*", metavar="NAME", help="model names (see `posegraph models list`)")
    puller.add_argument("--all", action="store_true", help="every model that has a public download")
    puller.add_argument("--dir", metavar="DIR", help="download into DIR instead of the user cache")
    puller.add_argument("--mirror", metavar="URL",
                        help="fetch FILE from URL/FILE instead of the public URLs (also POSEGRAPH_MODELS_MIRROR)")
    puller.add_argument("--force", action="store_true", help="download again even when a good copy is there")
    puller.set_defaults(func=cmd_models_pull)


__all__ = ["register"]
