"""Casework's pure rules: alert policy, case workflow, roles and permissions, the audit hash chain."""
