"""Sigurno NLU: normalisation, intent classification, country extraction and risk detection."""
