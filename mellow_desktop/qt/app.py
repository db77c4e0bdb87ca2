"""Application entry point: QApplication setup, logging, a one-dialog excepthook and ``main()``."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from logging.handlers import RotatingFileHandler
from types import TracebackType

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from mellow.errors import one_line
from mellow_desktop.core import paths
from mellow_desktop.qt.heap import freeze_long_lived
from mellow_desktop.qt.qt_compat import guard_refcount_bug
from mellow_desktop.qt.theme import THEMES, apply_theme, follow_system_scheme

ORGANIZATION = "Mellow"
APPLICATION = "Mellow Desktop"
log = logging.getLogger("mellow_desktop")


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr and to ``<data dir>/mellow-desktop.log`` (rotated at 1 MB)."""
    root = logging.getLogger()
    if any(getattr(h, "_mellow", False) for h in root.handlers):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    try:
        handlers.append(
            RotatingFileHandler(
                paths.data_dir() / "mellow-desktop.log", maxBytes=1_000_000, backupCount=2, encoding="utf-8"
            )
        )
    except OSError as exc:  # a read-only data dir must not stop the app
        print(f"mellow-desktop: cannot write the log file: {exc}", file=sys.stderr)
    for h in handlers:
        h.setFormatter(fmt)
        h._mellow = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


class ErrorReporter:
    """sys.excepthook that logs every unexpected error and shows at most one dialog at a time.

    Errors raised while the dialog is open (for example from a timer that fires every frame) are logged and
    counted instead of opening a dialog each.
    """

    def __init__(self) -> None:
        self._showing = False
        self.suppressed = 0

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        if self._showing or QApplication.instance() is None:
            self.suppressed += 1
            return
        self._showing = True
        try:
            box = QMessageBox(
                QMessageBox.Icon.Critical,
                "Mellow Desktop — unexpected error",
                f"Something went wrong: {exc_type.__name__}: {exc}\n\n"
                "Your clips and history are safe. Details are in the log file.",
            )
            box.setDetailedText("".join(traceback.format_exception(exc_type, exc, tb)))
            box.exec()
        finally:
            self._showing = False


def make_settings() -> QSettings:
    """The app's persistent settings (per user, native format)."""
    return QSettings(ORGANIZATION, APPLICATION)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mellow-desktop", description="Mellow Desktop: ask questions about sounds."
    )
    parser.add_argument("clips", nargs="*", help="up to two audio files to open as Clip A and Clip B")
    parser.add_argument(
        "--theme", choices=THEMES, default="system", help="color scheme (default: follow system)"
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--quit-after", type=float, default=0.0, metavar="SECONDS", help=argparse.SUPPRESS)
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add Mellow Desktop to the desktop's applications menu, then exit")
    parser.add_argument("--uninstall-desktop-entry", action="store_true",
                        help="remove that menu entry, then exit")
    return parser.parse_args(list(argv))


def move_old_data_folder() -> str | None:
    """Move the pre-0.2 ``mellow-desktop`` data folder into Mellow's; the one line to show, or None."""
    from mellow_desktop.core.data_migration import migrate_old_data_folder

    try:
        return migrate_old_data_folder()
    except OSError as exc:  # the app must start anyway; the old folder is tried again next start
        return f"Could not move the old data folder: {one_line(exc)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Start the desktop app and run its event loop; returns the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.install_desktop_entry or args.uninstall_desktop_entry:  # no window: works without a display
        from mellow_desktop.core.desktop_entry import run_command

        return run_command(uninstall=args.uninstall_desktop_entry)
    moved = move_old_data_folder()  # before the log file and the history database are opened
    setup_logging(args.verbose)
    if moved:
        log.info("data folder: %s", moved)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    guard_refcount_bug()
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    apply_theme(app, args.theme)
    if args.theme == "system":
        follow_system_scheme(app)
    sys.excepthook = ErrorReporter()

    from mellow_desktop.qt.main_window import MainWindow  # after the palette, so plots pick it up

    window = MainWindow(settings=make_settings())
    window.show()
    frozen = freeze_long_lived()  # the window's objects live as long as the app: out of the collector's way
    log.info("%d start-up objects kept out of the garbage collector's full passes", frozen)
    window.model.state_changed.connect(lambda state, _text: state == "ready" and freeze_long_lived())
    if moved:
        window.statusBar().showMessage(moved)
    window.start_background_tasks()
    for slot, path in zip(("A", "B"), args.clips[:2], strict=False):
        window.panel(slot).open_file(path)
    if args.quit_after > 0:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    code = app.exec()
    log.info("exiting with code %s", code)
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
