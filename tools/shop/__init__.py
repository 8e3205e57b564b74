"""The shop's data: the typed model, the validated store, paths, importers and the demo."""
