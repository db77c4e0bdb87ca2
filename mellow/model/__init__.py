"""The Mellow v0 network and what it is made of (SPEC.md sections 2-4, 6): ``config`` (frozen dataclasses of
the packaged ``configs/*.yaml``), ``features`` (the mel front end), ``htsat`` (the audio encoder), ``llama``
(the decoder with its preallocated KV cache and batched step), ``model`` (projection and the
[a, SEP, b, SEP] assembly), ``checkpoint`` (safe, strict loading) and ``tokenizer``.  Nothing here finds,
fetches or drives a model: that is ``model_files``, ``download``, ``generation`` and ``scan``.
"""
