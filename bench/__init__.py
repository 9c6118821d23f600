"""Vigil's benchmarks: `scripts/bench [NAME...]` (see docs/benchmarks.md).

Everything here measures; nothing here is imported by the product.
"""
