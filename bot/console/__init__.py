"""The mediator console: its pages (pages.py) and its JSON API (api.py), served by `sigurno serve` under /console."""
