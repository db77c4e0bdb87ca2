"""Whole recordings: ask one prompt of every 10 s window of long files (SPEC.md section 8).

``types`` holds the rows passed between the parts; ``plan`` makes the windows, ``runner`` answers them in
batches, ``merge`` turns scores into detections, ``writers`` reads and writes the export formats.
"""
