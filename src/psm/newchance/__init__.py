"""The New Chance evaluation (University of Birmingham, 2020), reproducible.

Layers, top to bottom: the command line (``python -m psm.newchance``) and the
notebooks drive; this package holds the evaluation itself (schema and
validation of supplied files, preparation rules, follow-up windows, the main
and sub-group analyses, tables in the published layout, synthetic data); the
general library :mod:`psm` does the statistics. ``psm`` never imports this
package.
"""
