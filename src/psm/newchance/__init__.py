"""The New Chance evaluation (University of Birmingham, 2020), reproducible.

Layers, top to bottom: the command line (``python -m psm.newchance``) and the
notebooks drive; this package holds the evaluation itself (schema and
validation of supplied files, preparation rules, follow-up windows, the main
and sub-group analyses, tables in the published layout, synthetic data); the
general library :mod:`psm` does the statistics. ``psm`` never imports this
package.
"""

from importlib.util import find_spec

#: module -> distribution of the ``newchance`` extra (``pip install 'psmatch[newchance]'``).
EXTRA_MODULES = {
    "yaml": "pyyaml",
    "pandera": "pandera",
    "nbformat": "nbformat",
    "nbclient": "nbclient",
    "nbconvert": "nbconvert",
    "ipykernel": "ipykernel",
    "tabulate": "tabulate",
    "jinja2": "jinja2",
}


def check_extra() -> None:
    """Raise one ImportError naming every missing distribution of the ``newchance`` extra."""
    missing = [dist for module, dist in EXTRA_MODULES.items() if find_spec(module) is None]
    if missing:
        raise ImportError(
            f"psm.newchance (the New Chance report) needs the 'newchance' extra, which is not installed "
            f"(missing: {', '.join(missing)}). Install it with: pip install 'psmatch[newchance]' "
            "(the core library, import psm, works without it)."
        )


check_extra()
