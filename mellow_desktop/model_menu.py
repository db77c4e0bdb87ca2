"""The Model menu and the model's state: find, download, open and load the checkpoint and tokenizer.

:class:`ModelManager` knows which files to use (QSettings "model/checkpoint" and "model/tokenizer", else the
default model folder of ``mellow.download``), hands a factory to the
:class:`~mellow_desktop.worker.EngineHost`, and keeps :attr:`ModelManager.state` ("not installed", "loading",
"ready", "failed") with a one-line description
for the status bar. The download runs in its own QThread with a cancellable progress dialog.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QSettings, Qt, QThread, QThreadPool, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QProgressDialog, QWidget

from mellow.errors import MellowError
from mellow_desktop.worker import EngineHost, EngineReady

log = logging.getLogger(__name__)
INSTALL_HINT = (
    "No Mellow model is installed yet. Use <b>Model ▸ Download Mellow v0…</b> (about 0.7 GB, "
    "from Hugging Face) or <b>Model ▸ Open checkpoint…</b> if you already have <i>v0.ckpt</i>. "
    "Everything else — opening, recording, playing and measuring clips — works without it."
)


def engine_factory(
    checkpoint: Path, tokenizer: Path | None, device: str
) -> Callable[[Callable[[str], None]], Any]:
    """A factory that builds the v0 engine on the worker thread; CUDA problems fall back to the CPU."""

    def build(progress: Callable[[str], None]) -> Any:
        from mellow.errors import DeviceError
        from mellow.generation import Engine

        progress(f"reading {checkpoint.name}…")
        tok = str(tokenizer) if tokenizer is not None else None
        try:
            return Engine.load(config="v0", model=str(checkpoint), tokenizer=tok, device=device)
        except (DeviceError, RuntimeError) as exc:
            if device == "cpu" or (isinstance(exc, RuntimeError) and "CUDA" not in str(exc)):
                raise
            progress("the GPU is not usable; loading on the CPU…")
            engine = Engine.load(config="v0", model=str(checkpoint), tokenizer=tok, device="cpu")
            engine.device_note = f"GPU not usable ({' '.join(str(exc).split())[:120]}): using the CPU"
            return engine

    return build


class _TokenizerJob(QRunnable):
    """Loads the prompt tokenizer on the pool (for the live token count)."""

    def __init__(self, source: Path | None, done: Signal, failed: Signal) -> None:
        super().__init__()
        self._source, self._done, self._failed = source, done, failed

    def run(self) -> None:
        try:
            from mellow.download import find_tokenizer
            from mellow.tokenizer import PromptTokenizer

            self._done.emit(PromptTokenizer.load(find_tokenizer(self._source)))
        except MellowError as exc:
            self._failed.emit(str(exc))
        except Exception as exc:
            log.exception("loading the tokenizer failed")
            self._failed.emit(f"cannot load the tokenizer ({type(exc).__name__}: {exc})")


class DownloadThread(QThread):
    """Runs ``mellow.download.download_model`` with progress and a cancel event."""

    progress = Signal(str, float, float)  # filename, bytes done, bytes total (0 when unknown)
    succeeded = Signal(object)  # ModelFiles
    failed = Signal(str)

    def __init__(self, dest: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dest = dest
        self.cancel = threading.Event()

    def run(self) -> None:
        from mellow.download import download_model

        try:
            files = download_model(
                self.dest,
                progress=lambda f, d, t: self.progress.emit(f, float(d), float(t or 0)),
                cancel=self.cancel,
            )
        except MellowError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("download failed")
            self.failed.emit(f"download failed ({type(exc).__name__}: {exc})")
        else:
            self.succeeded.emit(files)


class ModelManager(QObject):
    """Model state, the Model menu's actions, and the tokenizer used for counting prompt tokens."""

    state_changed = Signal(str, str)  # state, description
    tokenizer_ready = Signal(object)  # PromptTokenizer
    message = Signal(str)  # something the user should read (shown in the conversation)
    _tok_done = Signal(object)
    _tok_failed = Signal(str)

    def __init__(
        self, host: EngineHost, settings: QSettings, device: Callable[[], str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.settings = settings
        self._device = device
        self._parent = parent
        self.state = "not installed"
        self.description = "Model: not installed"
        self.ready: EngineReady | None = None
        self.tokenizer: Any = None
        self.download_thread: DownloadThread | None = None
        self.download_dialog: QProgressDialog | None = None
        host.worker.load_progress.connect(self._on_load_progress)
        host.worker.loaded.connect(self._on_loaded)
        host.worker.load_failed.connect(self._on_load_failed)
        self._tok_done.connect(self._on_tokenizer)
        self._tok_failed.connect(self._on_tokenizer_failed)

    # ------------------------------------------------------------------------------------------- state
    def _set(self, state: str, description: str) -> None:
        self.state, self.description = state, description
        self.state_changed.emit(state, description)

    def _on_load_progress(self, message: str) -> None:
        self._set("loading", f"Model: loading — {message}")

    def _on_tokenizer_failed(self, message: str) -> None:
        log.warning("tokenizer: %s", message)

    def _on_loaded(self, ready: EngineReady) -> None:
        self.ready = ready
        note = f" ({ready.note})" if ready.note else ""
        self._set("ready", f"Model: {ready.model_id} ready on {ready.device}{note}")

    def _on_load_failed(self, message: str) -> None:
        self.ready = None
        self._set("failed", f"Model: not loaded — {message}")

    def is_ready(self) -> bool:
        return self.state == "ready"

    # ------------------------------------------------------------------------------------------- files
    def configured_files(self) -> tuple[Path, Path | None] | None:
        """(checkpoint, tokenizer or None) from the settings or the default folder; None if not installed."""
        ckpt = str(self.settings.value("model/checkpoint", "") or "")
        tok = str(self.settings.value("model/tokenizer", "") or "")
        if ckpt and Path(ckpt).is_file():
            return Path(ckpt), (Path(tok) if tok and Path(tok).exists() else None)
        try:
            from mellow.download import find_model_files

            files = find_model_files()
        except MellowError:
            return None
        return files.checkpoint, files.tokenizer

    def start(self) -> None:
        """At startup: load the tokenizer for counting, and the model when it is installed."""
        self.load_tokenizer()
        files = self.configured_files()
        if files is None:
            self._set("not installed", "Model: not installed — Model ▸ Download Mellow v0…")
            return
        self.load(*files)

    def load(self, checkpoint: Path, tokenizer: Path | None) -> None:
        """Load the v0 engine from these files on the worker thread."""
        self._set("loading", f"Model: loading {checkpoint.name}…")
        self.host.load(
            engine_factory(checkpoint, tokenizer, self._device()), model_id=f"v0 ({checkpoint.name})"
        )

    def load_custom(self, factory: Callable[[Callable[[str], None]], Any], model_id: str) -> None:
        """Load any engine factory (tests use the small config with recipe weights)."""
        self._set("loading", f"Model: loading {model_id}…")
        self.host.load(factory, model_id=model_id)

    def load_tokenizer(self, source: Path | None = None) -> None:
        """Load the tokenizer for the live token count in the background."""
        tok = source or (Path(t) if (t := str(self.settings.value("model/tokenizer", "") or "")) else None)
        QThreadPool.globalInstance().start(_TokenizerJob(tok, self._tok_done, self._tok_failed))

    def _on_tokenizer(self, tok: Any) -> None:
        self.tokenizer = tok
        self.tokenizer_ready.emit(tok)

    # ------------------------------------------------------------------------------------------- menu
    def build_menu(self, menu: QMenu) -> None:
        a = menu.addAction("&Download Mellow v0…", self.download)
        a.setToolTip("Fetch the published checkpoint and tokenizer (about 0.7 GB) into the app's data folder")
        a = menu.addAction("&Open checkpoint…", self.open_checkpoint)
        a.setToolTip("Use a Mellow checkpoint file (.ckpt or .safetensors) you already have")
        a = menu.addAction("Choose &tokenizer…", self.choose_tokenizer)
        a.setToolTip("A folder with tokenizer.json or a SmolLM2 .gguf file")
        menu.addSeparator()
        a = menu.addAction("&Reload model", self.reload)
        a.setToolTip("Load the model again (for example after changing the device)")
        menu.setToolTipsVisible(True)

    def reload(self) -> None:
        files = self.configured_files()
        if files is None:
            QMessageBox.information(self._parent, "Mellow Desktop", INSTALL_HINT)
        else:
            self.load(*files)

    def open_checkpoint(self) -> None:
        folder = str(self.settings.value("folders/model", "") or "")
        path, _ = QFileDialog.getOpenFileName(
            self._parent,
            "Open Mellow checkpoint",
            folder,
            "Checkpoints (*.ckpt *.safetensors *.pt *.pth);;All files (*)",
        )
        if not path:
            return
        self.settings.setValue("model/checkpoint", path)
        self.settings.setValue("folders/model", str(Path(path).parent))
        files = self.configured_files()
        if files is not None:
            self.load(*files)

    def choose_tokenizer(self) -> None:
        folder = str(self.settings.value("folders/model", "") or "")
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Choose tokenizer",
            "Is the tokenizer a folder (with tokenizer.json) or a single .gguf file?",
            parent=self._parent,
        )
        as_folder = box.addButton("Folder…", QMessageBox.ButtonRole.AcceptRole)
        as_file = box.addButton(".gguf file…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is as_folder:
            path = QFileDialog.getExistingDirectory(self._parent, "Tokenizer folder", folder)
        elif box.clickedButton() is as_file:
            path, _ = QFileDialog.getOpenFileName(self._parent, "Tokenizer file", folder, "GGUF (*.gguf)")
        else:
            return
        if path:
            self.settings.setValue("model/tokenizer", path)
            self.load_tokenizer(Path(path))
            if self.state in ("ready", "failed"):
                self.reload()

    def download(self) -> None:
        """Download v0 with a cancellable progress dialog, then load it."""
        if self.download_thread is not None:
            return
        thread = DownloadThread(None, self)
        dialog = QProgressDialog("Connecting…", "Cancel", 0, 1000, self._parent)
        dialog.setWindowTitle("Download Mellow v0")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(420)
        dialog.canceled.connect(self.cancel_download)
        # Bound methods of this GUI-thread object: the download thread's signals arrive queued, here.
        thread.progress.connect(self._download_progress)
        thread.succeeded.connect(self._download_succeeded)
        thread.failed.connect(self._download_failed)
        self.download_thread, self.download_dialog = thread, dialog
        thread.start()

    def cancel_download(self) -> None:
        if self.download_thread is not None:
            self.download_thread.cancel.set()

    def _download_progress(self, name: str, done: float, total: float) -> None:
        dialog = self.download_dialog
        if dialog is None:
            return
        if total > 0:
            dialog.setValue(int(1000 * done / total))
            dialog.setLabelText(f"{name}: {done / 1e6:.0f} of {total / 1e6:.0f} MB")
        else:
            dialog.setLabelText(f"{name}: {done / 1e6:.1f} MB")

    def _end_download(self) -> bool:
        """Close the dialog and join the thread; True when the user cancelled."""
        thread, dialog = self.download_thread, self.download_dialog
        self.download_thread = self.download_dialog = None
        cancelled = thread is not None and thread.cancel.is_set()
        if dialog is not None:
            dialog.reset()
            dialog.deleteLater()
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        return cancelled

    def _download_succeeded(self, files: Any) -> None:
        self._end_download()
        self.settings.remove("model/checkpoint")
        self.load(Path(files.checkpoint), Path(files.tokenizer))

    def _download_failed(self, message: str) -> None:
        if not self._end_download():
            self.message.emit(f"The download failed: {message}")

    def shutdown(self) -> None:
        """Cancel and join a running download."""
        thread = self.download_thread
        if thread is not None:
            thread.cancel.set()
            thread.wait()
