"""Evaluation (評価・検証): does the list find the children who need support? Pseudonymous ids only."""
