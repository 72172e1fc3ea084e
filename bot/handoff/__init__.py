"""Mediator handoff: the case state machine, the relay to the person, live console events, timers, notifications."""
