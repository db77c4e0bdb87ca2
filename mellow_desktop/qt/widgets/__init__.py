"""Widgets of the main window: clip panels and their views, conversation, prompt, history."""
