"""Dialogs: settings and the model files (download, open checkpoint, choose tokenizer)."""
