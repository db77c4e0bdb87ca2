"""The model's state and the Model menu's commands: find, download, open and load checkpoint and tokenizer.

:class:`ModelManager` knows which files to use (QSettings "model/checkpoint" and "model/tokenizer", else the
default model folder of ``mellow.model_files``), hands a factory (:func:`~mellow_desktop.core.model_loading.
engine_factory`) to the :class:`~mellow_desktop.qt.engine_host.EngineHost`, and keeps :attr:`state`
("not installed", "loading", "ready", "failed") with a one-line description for the status bar. The tokenizer
(for the live token count) and the download run on the one :class:`~mellow_desktop.qt.jobs.JobRunner`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from mellow.errors import MellowError
from mellow_desktop.core.model_loading import (
    INSTALL_HINT,
    EngineFactory,
    EngineReady,
    engine_factory,
    model_id_for,
)
from mellow_desktop.qt.dialogs.model_dialogs import DownloadDialog, ask_checkpoint, ask_tokenizer, show_info
from mellow_desktop.qt.engine_host import EngineHost
from mellow_desktop.qt.jobs import Job, JobRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Download:
    """A running download: its job, the event that cancels it, and its progress dialog."""

    job: Job
    cancel: threading.Event
    dialog: DownloadDialog


def _load_tokenizer(source: Path | None) -> Any:
    from mellow.model.tokenizer import PromptTokenizer
    from mellow.model_files import find_tokenizer

    return PromptTokenizer.load(find_tokenizer(source))


class ModelManager(QObject):
    """Model state, the Model menu's commands, and the tokenizer used for counting prompt tokens."""

    state_changed = Signal(str, str)  # state, description
    tokenizer_ready = Signal(object)  # PromptTokenizer
    message = Signal(str)  # something the user should read (shown in the conversation)

    def __init__(
        self, host: EngineHost, settings: QSettings, device: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.settings = settings
        self._device = device
        self._parent = parent
        self._jobs = JobRunner(self)
        self.state = "not installed"
        self.description = "Model: not installed"
        self.ready: EngineReady | None = None
        self.tokenizer: Any = None
        self.download_job: Download | None = None
        host.worker.load_progress.connect(lambda text: self._set("loading", f"Model: loading — {text}"))
        host.worker.loaded.connect(self._on_loaded)
        host.worker.load_failed.connect(self._on_load_failed)

    # ------------------------------------------------------------------------------------------- state
    def _set(self, state: str, description: str) -> None:
        self.state, self.description = state, description
        self.state_changed.emit(state, description)

    def _on_loaded(self, ready: EngineReady) -> None:
        self.ready = ready
        self._set("ready", ready.status_text())

    def _on_load_failed(self, message: str) -> None:
        self.ready = None
        self._set("failed", f"Model: not loaded — {message}")

    def is_ready(self) -> bool:
        return self.state == "ready"

    # ------------------------------------------------------------------------------------------- files
    def _setting(self, key: str) -> str:
        return str(self.settings.value(key, "") or "")

    def configured_files(self) -> tuple[Path, Path | None] | None:
        """(checkpoint, tokenizer or None) from the settings or the default folder; None if not installed."""
        ckpt, tok = self._setting("model/checkpoint"), self._setting("model/tokenizer")
        if ckpt and Path(ckpt).is_file():
            return Path(ckpt), (Path(tok) if tok and Path(tok).exists() else None)
        return self.installed_files(self.model_name)

    @property
    def model_name(self) -> str:
        """The chosen one of ``mellow.model_files.KNOWN_MODELS`` (setting "model/name", default v0)."""
        from mellow.model_files import DEFAULT_MODEL, KNOWN_MODELS

        name = self._setting("model/name")
        return name if name in KNOWN_MODELS else DEFAULT_MODEL

    @staticmethod
    def installed_files(name: str) -> tuple[Path, Path | None] | None:
        """(checkpoint, tokenizer) of the known model ``name`` when it is installed, else None."""
        from mellow.model_files import find_model_files

        try:
            files = find_model_files(name)
        except MellowError:
            return None
        return files.checkpoint, files.tokenizer

    def show_models(self, actions: dict[str, QAction]) -> None:
        """Keep the Model menu's known models labelled (installed or not) and the chosen one checked."""
        from mellow.model_files import KNOWN_MODELS, download_hint

        def refresh() -> None:
            for name, action in actions.items():
                installed = self.installed_files(name) is not None
                action.setText(f"Mellow {name}" + ("" if installed else " (not installed: download…)"))
                hint = "" if installed else f"; or run `{download_hint(name)}`"
                action.setToolTip(KNOWN_MODELS[name] + hint)
                action.setChecked(name == self.model_name and not self._setting("model/checkpoint"))
            download = self._parent.findChild(QAction, "action_download_model") if self._parent else None
            if download is not None:
                download.setText(f"&Download Mellow {self.model_name}…")

        self.state_changed.connect(lambda *_: refresh())
        refresh()

    def choose_model(self, name: str) -> None:
        """Use the known model ``name``: load it when installed, else download it (then it is loaded)."""
        self.settings.setValue("model/name", name)
        self.settings.remove("model/checkpoint")
        files = self.installed_files(name)
        if files is None:
            self.download()
        else:
            self.load(*files)

    def start(self) -> None:
        """At startup: load the tokenizer for counting, and the model when it is installed."""
        self.load_tokenizer()
        files = self.configured_files()
        if files is None:
            name = self.model_name
            self._set("not installed", f"Model: not installed — Model ▸ Download Mellow {name}…")
            return
        self.load(*files)

    def load(self, checkpoint: Path, tokenizer: Path | None) -> None:
        """Load the v0 engine from these files on the model's thread."""
        self._set("loading", f"Model: loading {checkpoint.name}…")
        factory = engine_factory(checkpoint, tokenizer, self._device())
        self.host.load(factory, model_id=model_id_for(checkpoint))

    def load_custom(self, factory: EngineFactory, model_id: str) -> None:
        """Load any engine factory (tests use the small config with recipe weights)."""
        self._set("loading", f"Model: loading {model_id}…")
        self.host.load(factory, model_id=model_id)

    def load_tokenizer(self, source: Path | None = None) -> None:
        """Load the tokenizer for the live token count in the background."""
        tok = source or (Path(t) if (t := self._setting("model/tokenizer")) else None)
        self._jobs.submit(lambda: _load_tokenizer(tok), self._on_tokenizer,
                          lambda msg: log.warning("tokenizer: %s", msg), "loading the tokenizer")

    def _on_tokenizer(self, tok: Any) -> None:
        self.tokenizer = tok
        self.tokenizer_ready.emit(tok)

    # ------------------------------------------------------------------------------------------- commands
    def commands(self) -> dict[str, Callable[[], object]]:
        """The Model menu's commands, by action name (see :mod:`mellow_desktop.qt.actions`)."""
        return {"download_model": self.download, "open_checkpoint": self.open_checkpoint,
                "choose_tokenizer": self.choose_tokenizer, "reload_model": self.reload}

    def reload(self) -> None:
        files = self.configured_files()
        if files is None:
            show_info(self._parent, INSTALL_HINT)
        else:
            self.load(*files)

    def open_checkpoint(self) -> None:
        path = ask_checkpoint(self._parent, self._setting("folders/model"))
        if not path:
            return
        self.settings.setValue("model/checkpoint", path)
        self.settings.setValue("folders/model", str(Path(path).parent))
        files = self.configured_files()
        if files is not None:
            self.load(*files)

    def choose_tokenizer(self) -> None:
        path = ask_tokenizer(self._parent, self._setting("folders/model"))
        if path:
            self.settings.setValue("model/tokenizer", path)
            self.load_tokenizer(Path(path))
            if self.state in ("ready", "failed"):
                self.reload()

    # ------------------------------------------------------------------------------------------- download
    def download(self) -> None:
        """Download the chosen model with a cancellable progress dialog, then load it."""
        if self.download_job is not None:
            return
        from mellow.download import download_model
        from mellow.model_files import default_model_dir

        name = self.model_name
        cancel = threading.Event()
        dialog = DownloadDialog(self._parent, name)
        dialog.canceled.connect(self.cancel_download)
        progress = self._jobs.relay(dialog.show_progress)

        def work() -> Any:
            return download_model(default_model_dir(name), model=name, cancel=cancel,
                                  progress=lambda f, d, t: progress(f, float(d), float(t or 0)))

        job = self._jobs.submit(work, self._download_succeeded, self._download_failed, "the download", True)
        self.download_job = Download(job, cancel, dialog)

    def cancel_download(self) -> None:
        if self.download_job is not None:
            self.download_job.cancel.set()

    def _end_download(self) -> bool:
        """Close the dialog and wait for the job; True when the user cancelled."""
        download, self.download_job = self.download_job, None
        if download is None:
            return False
        download.dialog.reset()
        download.dialog.deleteLater()
        download.job.wait()
        return download.cancel.is_set()

    def _download_succeeded(self, files: Any) -> None:
        self._end_download()
        self.settings.remove("model/checkpoint")
        self.load(Path(files.checkpoint), Path(files.tokenizer))

    def _download_failed(self, message: str) -> None:
        if not self._end_download():
            self.message.emit(f"The download failed: {message}")

    def shutdown(self) -> None:
        """Cancel and wait for a running download."""
        if self.download_job is not None:
            self.download_job.cancel.set()
            self.download_job.job.wait()
