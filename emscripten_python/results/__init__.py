"""The result model and what reads it: validation, bundles, comparisons."""
