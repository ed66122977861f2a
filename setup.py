"""Maps the repository's top-level folders into the installed `posegraph` namespace.

The repository keeps MediaPipe's split (runtime, calculators, graphs, models) as top-level folders; installed, they
become `posegraph.calculators`, `posegraph.graphs` and `posegraph.models` so that no generic top-level names land in
site-packages.
"""

from setuptools import find_packages, setup

FOLDERS = {"posegraph": "posegraph", "posegraph.calculators": "calculators",
           "posegraph.graphs": "graphs", "posegraph.models": "models"}

packages = []
for package, folder in FOLDERS.items():
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=FOLDERS)
