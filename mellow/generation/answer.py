"""A streamed answer: an iterator of text pieces that ends with a :class:`GenerationResult`."""

from __future__ import annotations

from collections.abc import Iterator

from mellow.generation.options import GenerationResult, GenerationStats


class AnswerStream(Iterator[str]):
    """What :meth:`Engine.stream <mellow.generation.Engine.stream>` returns.

    Iterate it for the text pieces as they are produced; ``result`` is the :class:`GenerationResult` of
    what was produced so far, final once the iteration has ended (finished, cancelled, or :meth:`close`).
    """

    def __init__(self) -> None:
        self.text = ""
        self.tokens: list[int] = []
        self.stats = GenerationStats()
        self._pieces: Iterator[str] = iter(())

    def bind(self, pieces: Iterator[str]) -> None:
        """Set the generator of pieces (it fills :attr:`text`, :attr:`tokens` and :attr:`stats`)."""
        self._pieces = pieces

    def restart(self, stats: GenerationStats) -> None:
        """Forget what a failed attempt produced (the request runs again, e.g. on the CPU)."""
        self.text, self.tokens, self.stats = "", [], stats

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        """Stop generating (the engine's caches stay consistent)."""
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    @property
    def result(self) -> GenerationResult:
        return GenerationResult(self.text, list(self.tokens), self.stats)
