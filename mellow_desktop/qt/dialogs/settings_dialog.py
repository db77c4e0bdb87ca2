"""Settings ▸ Generation and audio devices, and storing :class:`~mellow_desktop.core.settings.AppSettings`
in QSettings (groups "generation" and "audio")."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mellow.generation import GenerationOptions
from mellow_desktop.core.settings import DEVICES, MAX_LEN_LIMIT, AppSettings


def load_settings(qs: QSettings) -> AppSettings:
    """The user's settings from QSettings (defaults where missing or malformed)."""
    return AppSettings.from_values(qs.value)


def save_settings(qs: QSettings, settings: AppSettings) -> None:
    """Store ``settings`` in QSettings (groups "generation" and "audio")."""
    for key, value in settings.to_values().items():
        qs.setValue(key, value)


class SettingsDialog(QDialog):
    """Generation (length, greedy vs sampling, device) and audio input/output devices."""

    def __init__(self, current: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        settings = current.generation
        self.setWindowTitle("Settings")
        self.max_len = QSpinBox(self)
        self.max_len.setRange(1, MAX_LEN_LIMIT)
        self.max_len.setValue(settings.max_len)
        self.max_len.setSuffix(" tokens")
        self.max_len.setToolTip("The answer stops after this many tokens (or earlier at the end token)")
        self.greedy = QRadioButton("As published (greedy)", self)
        self.greedy.setToolTip("Always the most likely next token: the published model's behaviour")
        self.sampling = QRadioButton("Sampling (differs from the published behaviour)", self)
        group = QButtonGroup(self)
        group.addButton(self.greedy)
        group.addButton(self.sampling)
        (self.sampling if settings.sample else self.greedy).setChecked(True)
        self.temperature = QDoubleSpinBox(self)
        self.temperature.setRange(0.05, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(settings.temperature)
        self.top_p = QDoubleSpinBox(self)
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(settings.top_p)
        self.fixed_seed = QCheckBox("Fixed seed", self)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.fixed_seed.setChecked(settings.seed is not None)
        self.seed.setValue(settings.seed or 0)
        self.device = QComboBox(self)
        for key, label in DEVICES:
            self.device.addItem(label, key)
        self.device.setCurrentIndex(max(0, self.device.findData(current.device)))
        self.device.setToolTip("Takes effect when the model is loaded next (Model ▸ Reload)")

        gen = QGroupBox("Generation", self)
        form = QFormLayout(gen)
        form.addRow("Maximum length:", self.max_len)
        form.addRow(self.greedy)
        form.addRow(self.sampling)
        form.addRow("Temperature:", self.temperature)
        form.addRow("Top-p:", self.top_p)
        form.addRow(self.fixed_seed, self.seed)
        form.addRow("Device:", self.device)

        audio = QGroupBox("Audio", self)
        aform = QFormLayout(audio)
        self.input_device = QComboBox(self)
        self.output_device = QComboBox(self)
        self._fill_devices(current.input_device, current.output_device)
        aform.addRow("Record from:", self.input_device)
        aform.addRow("Play to:", self.output_device)
        self.audio_note = QLabel("", self)
        self.audio_note.setWordWrap(True)
        aform.addRow(self.audio_note)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(gen)
        lay.addWidget(audio)
        lay.addWidget(buttons)
        self.sampling.toggled.connect(self._update_enabled)
        self.fixed_seed.toggled.connect(self._update_enabled)
        self._update_enabled()

    def _fill_devices(self, input_device: str, output_device: str) -> None:
        from mellow.audio_io.devices import (
            AudioUnavailable,
            list_input_devices,
            list_output_devices,
        )

        for combo, current, lister in (
            (self.input_device, input_device, list_input_devices),
            (self.output_device, output_device, list_output_devices),
        ):
            combo.addItem("System default", "")
            try:
                for dev in lister():
                    combo.addItem(dev.label, dev.name)
            except (AudioUnavailable, OSError) as exc:
                combo.setToolTip(str(exc))
            combo.setCurrentIndex(max(0, combo.findData(current)))

    def _update_enabled(self) -> None:
        on = self.sampling.isChecked()
        for w in (self.temperature, self.top_p, self.fixed_seed):
            w.setEnabled(on)
        self.seed.setEnabled(on and self.fixed_seed.isChecked())

    def chosen(self) -> AppSettings:
        """The settings as chosen in the dialog ("" audio device: the system default)."""
        generation = GenerationOptions(
            max_len=self.max_len.value(),
            sample=self.sampling.isChecked(),
            temperature=self.temperature.value(),
            top_p=self.top_p.value(),
            seed=self.seed.value() if self.fixed_seed.isChecked() else None,
        )
        return AppSettings(
            generation=generation,
            device=str(self.device.currentData()),
            input_device=str(self.input_device.currentData()),
            output_device=str(self.output_device.currentData()),
        )
