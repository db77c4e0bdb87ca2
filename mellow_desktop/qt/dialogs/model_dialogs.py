"""The Model menu's dialogs: choose a checkpoint, choose a tokenizer (folder or .gguf), download progress."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

CHECKPOINT_FILTER = "Checkpoints (*.ckpt *.safetensors *.pt *.pth);;All files (*)"


def ask_checkpoint(parent: QWidget | None, folder: str) -> str:
    """A checkpoint file chosen by the user, or "" when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open Mellow checkpoint", folder, CHECKPOINT_FILTER)
    return path


def ask_tokenizer(parent: QWidget | None, folder: str) -> str:
    """A tokenizer folder (with tokenizer.json) or .gguf file chosen by the user, or "" when cancelled."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Choose tokenizer",
        "Is the tokenizer a folder (with tokenizer.json) or a single .gguf file?",
        parent=parent,
    )
    as_folder = box.addButton("Folder…", QMessageBox.ButtonRole.AcceptRole)
    as_file = box.addButton(".gguf file…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is as_folder:
        return QFileDialog.getExistingDirectory(parent, "Tokenizer folder", folder)
    if box.clickedButton() is as_file:
        path, _ = QFileDialog.getOpenFileName(parent, "Tokenizer file", folder, "GGUF (*.gguf)")
        return path
    return ""


class DownloadDialog(QProgressDialog):
    """A window-modal, cancellable progress dialog for the model download."""

    def __init__(self, parent: QWidget | None, model: str = "v0") -> None:
        super().__init__("Connecting…", "Cancel", 0, 1000, parent)
        self.setWindowTitle(f"Download Mellow {model}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setMinimumWidth(420)

    def show_progress(self, name: str, done: float, total: float) -> None:
        """``done`` of ``total`` bytes of file ``name`` (total 0: unknown)."""
        if total > 0:
            self.setValue(int(1000 * done / total))
            self.setLabelText(f"{name}: {done / 1e6:.0f} of {total / 1e6:.0f} MB")
        else:
            self.setLabelText(f"{name}: {done / 1e6:.1f} MB")


def show_info(parent: QWidget | None, text: str) -> None:
    QMessageBox.information(parent, "Mellow Desktop", text)
