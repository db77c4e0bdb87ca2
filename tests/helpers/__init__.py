"""What the tests share (never tests themselves; no test module imports another test module).

- ``paths``: the checkout, the fixtures and the reference clips;
- ``audio_files``: generated tones, noise and recordings written as audio files;
- ``bad_audio``: the matrix of awkward and broken audio files;
- ``engines``: models and engines with the deterministic recipe weights;
- ``processes``: environments for child processes and running ``python -m mellow``;
- ``waits``: waiting for a clip panel, for a child's output file;
- ``scans``: the scan prompt, the reference scan of the Ray tests, hand-made window results;
- ``audio_stack``: the PulseAudio null sink behind PortAudio (and its pytest fixtures);
- ``hub``: a local Hugging Face Hub look-alike (and its pytest fixtures);
- ``required``: the one rule for required real components (skip locally, fail in CI);
- ``app_child``, ``scan_child``: scripts run as child processes by the robustness and scan tests.
"""
