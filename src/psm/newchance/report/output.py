"""The report's output folder: checked before any work, built aside, swapped in whole, locked.

A report run must never lose work: not an earlier report, not a file a user put in the folder, and not
half of a report mixed with another run's. :class:`OutputFolder` gives these guarantees:

* **Checks first.** :meth:`OutputFolder.check` runs before any notebook: the target must be a folder
  (or absent) under a writable parent; if it exists and is not empty it must be a report written by
  this command (it holds the marker file :data:`MARKER`), and every file in it must be listed in that
  marker. A file the tool did not write is never deleted: the run is refused, naming the file.
* **Built aside.** The new report is written into ``.<name>.building-<pid>`` beside the target
  (same file system, so the swap is a rename). The old report stays untouched while notebooks run.
* **Swapped in whole.** :meth:`OutputFolder.commit` writes the marker (the list of files written),
  renames the old report aside, renames the new one into place and then removes the old one; SIGINT
  and SIGTERM are held during the two renames, so an interruption leaves the old report or the new
  one, never a mixture.
* **Locked.** ``.<name>.lock`` beside the target holds the running process's id; a second run into
  the same folder refuses with a clear message while the first is alive. A lock or building folder
  left by a killed process (its pid no longer running) is cleared by the next run.
* **A note about the folder** (:data:`KEPT`: the repository keeps ``reports/README.md``) is not a
  foreign file: it is accepted, never listed in the marker, and carried over unchanged by each swap.
* **Failure or interruption.** The building folder is removed and the old report is left as it was.
  Files a failed run wants to keep (the executed part of a failed notebook) go beside the target via
  :meth:`OutputFolder.keep_beside`, named ``<name>.failed-<notebook>.html``; after an interruption
  (Ctrl-C, SIGTERM) not even those are left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path
from types import TracebackType

from psm.errors import PSMError

__all__ = ["KEPT", "MARKER", "OutputFolder", "OutputFolderError"]

MARKER = ".psm-report"
"""Marker file at the top of a report: a header line, then one written file per line (posix paths)."""
KEPT = ("README.md",)
"""Top-level files that describe the folder: accepted in it and carried over unchanged."""
_HEADER = "# written by python -m psm.newchance report; the files below are replaced by the next run"


class OutputFolderError(PSMError, RuntimeError):
    """The output folder cannot be used (not a folder, not writable, holds files the tool did not
    write, or another report run is writing it)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def written_files(folder: Path) -> set[str] | None:
    """The files listed in ``folder``'s marker, or None if it has no marker."""
    marker = folder / MARKER
    if not marker.is_file():
        return None
    lines = marker.read_text("utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")} | {MARKER}


class OutputFolder:
    """The report folder ``target``, used as a context manager around the whole run::

        folder = OutputFolder(out_dir)
        folder.check()                  # before any work
        with folder:                    # lock, building folder
            ... write into folder.building ...
            folder.commit()             # swap in; without it the old report stays
    """

    def __init__(self, target: Path | str):
        self.target = Path(os.path.abspath(target))
        self.name = self.target.name
        self.parent = self.target.parent
        self.lock = self.parent / f".{self.name}.lock"
        self.building = self.parent / f".{self.name}.building-{os.getpid()}"
        self._locked = False
        self._kept: list[Path] = []

    # -- checks ---------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`OutputFolderError` if the target cannot be (re)written safely; touches nothing."""
        if not self.name or self.target == self.target.parent:
            raise OutputFolderError(f"output folder {self.target} is a file-system root; choose a sub-folder")
        ancestor = self.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise OutputFolderError(f"output folder {self.target}: {ancestor} is a file, not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise OutputFolderError(f"output folder {self.target}: cannot write in {ancestor} (permission denied)")
        if self.target.is_symlink() or (self.target.exists() and not self.target.is_dir()):
            raise OutputFolderError(f"output path {self.target} exists and is not a folder; nothing was changed")
        if not self.target.is_dir():
            return
        present = _files(self.target)
        if not [name for name in present if name not in KEPT] and not any(
            p.is_dir() for p in self.target.iterdir()
        ):  # empty, or only the folder's note
            return
        listed = written_files(self.target)
        if listed is None:
            raise OutputFolderError(
                f"output folder {self.target} is not empty and was not written by this command; "
                "choose an empty or new folder (nothing was deleted)"
            )
        foreign = [name for name in present if name not in listed and name not in KEPT]
        if foreign:
            shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
            raise OutputFolderError(
                f"output folder {self.target} holds files this command did not write: {shown}; "
                "move them elsewhere first (nothing was deleted)"
            )

    # -- lock and building folder ---------------------------------------------------------------

    def __enter__(self) -> OutputFolder:
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self._acquire()
        except OSError as exc:
            raise OutputFolderError(f"cannot use the output folder {self.target}: {exc.strerror or exc}") from None
        try:
            self._clear_leftovers()
            self.building.mkdir()
        except OSError as exc:
            self._release()
            raise OutputFolderError(f"cannot create {self.building}: {exc.strerror or exc}") from None
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self.building.exists():
                shutil.rmtree(self.building, ignore_errors=True)
            if kind is not None and not issubclass(kind, Exception):  # interrupted: leave nothing new
                for path in self._kept:
                    path.unlink(missing_ok=True)
        finally:
            self._release()

    def _acquire(self) -> None:
        for _ in range(2):
            try:
                descriptor = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = self._lock_pid()
                if pid is not None and _pid_alive(pid):
                    raise OutputFolderError(
                        f"another report run (process {pid}) is writing {self.target}; wait for it to finish "
                        f"or choose another folder (lock file {self.lock})"
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    self.lock.unlink()  # left by a run that was killed
                continue
            with os.fdopen(descriptor, "w") as handle:
                handle.write(f"{os.getpid()}\n")
            self._locked = True
            return
        raise OutputFolderError(f"cannot take the lock {self.lock}; another run is starting")

    def _lock_pid(self) -> int | None:
        try:
            return int(self.lock.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _release(self) -> None:
        if self._locked:
            with contextlib.suppress(FileNotFoundError):
                self.lock.unlink()
            self._locked = False

    def _clear_leftovers(self) -> None:
        """Remove building/old folders of this target left by runs that were killed (pid not alive)."""
        for pattern in (f".{self.name}.building-*", f".{self.name}.old-*"):
            for leftover in self.parent.glob(pattern):
                pid = leftover.name.rsplit("-", 1)[-1]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    shutil.rmtree(leftover, ignore_errors=True)

    # -- results --------------------------------------------------------------------------------

    def keep_beside(self, suffix: str, text: str) -> Path:
        """Write ``<name>.<suffix>`` beside the target (kept after a failure); return its path."""
        path = self.parent / f"{self.name}.{suffix}"
        path.write_text(text, "utf-8")
        self._kept.append(path)
        return path

    def commit(self) -> None:
        """Write the marker into the building folder and swap it in place of the old report."""
        for name in KEPT:  # the folder's note goes with it, unchanged
            if (self.target / name).is_file() and not (self.building / name).exists():
                shutil.copy2(self.target / name, self.building / name)
        files = [name for name in _files(self.building) if name != MARKER and name not in KEPT]
        (self.building / MARKER).write_text("\n".join([_HEADER, *files]) + "\n", "utf-8")
        old = self.parent / f".{self.name}.old-{os.getpid()}"
        held = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            if self.target.exists():
                os.rename(self.target, old)
            os.rename(self.building, self.target)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        shutil.rmtree(old, ignore_errors=True)
