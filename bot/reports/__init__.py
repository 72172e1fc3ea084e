"""Reports (issue 11): what each turn adds to the counts, the report built from them, charts, exports, metrics."""
