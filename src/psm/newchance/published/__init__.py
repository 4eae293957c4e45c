"""The published evaluation: its numbers (packaged YAML), the comparison of reproduced with published cells,
the audit of the published tables' internal arithmetic, and the calibration targets of the synthetic data."""
