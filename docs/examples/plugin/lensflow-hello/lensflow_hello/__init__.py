"""A sample Lensflow plugin. Kept empty: Lensflow reads the data files beside it without importing anything
(only `lensflow drive hello_lines` imports driver.py)."""
