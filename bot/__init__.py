"""Sigurno application: settings, CLI, web server, channels, storage and the mediator console."""
