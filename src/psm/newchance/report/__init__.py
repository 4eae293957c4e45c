"""Stage 4 — the report: running the notebooks headless, writing tables, figures and the index, the
disclosure control applied to every output, and the evaluation's figures."""
