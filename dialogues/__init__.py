"""Dialogue engine: (conversation state, NLU result, event) -> (new state, replies, effects)."""
