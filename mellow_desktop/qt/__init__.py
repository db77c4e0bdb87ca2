"""The Qt shell of the desktop app: windows, widgets, dialogs and background jobs over the core."""
