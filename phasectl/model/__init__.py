"""The model: frozen dataclasses whose dict form is the JSON contract."""
