"""Whole recordings: ask one prompt, or a set of questions, of every 10 s window of long files (SPEC.md
section 8).

``types`` holds the rows passed between the parts; ``plan`` makes the windows, ``questions`` the question
sets (files, presets), ``runner`` answers them in batches (each window encoded and its audio part prefilled
once for all its questions), ``driver`` drives a runner batch by batch with one progress object, ``keys``
makes the resume keys (per window and question), ``merge`` turns scores into detections, ``writers`` reads
and writes the export formats.
"""
