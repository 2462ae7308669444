"""Tsunagu's message contracts: the only code every service shares.

One module per topic (``contracts.topics``), one module per source system (``contracts.sources``).
"""
