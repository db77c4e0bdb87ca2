"""Live audio for the engine and the app alike (no Qt): PortAudio devices and streams (:mod:`.devices`), the
crash-tolerant WAV writer and its repair (:mod:`.wav_writer`), and what counts as silence (:mod:`.levels`).

The desktop's recorder and player (``mellow_desktop.core.audio_io``) and live listening (:mod:`mellow.listen`)
build on these.  Importing the package does not import ``sounddevice``.
"""
