"""NLU backends: the built-in classifier (default) and a Rasa server over HTTP."""
