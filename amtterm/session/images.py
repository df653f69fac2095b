"""ImageDevice: a block device over an image file, opened read-only (file I/O lives here,
outside the sans-IO codec in amtterm.redir).

It satisfies :class:`amtterm.redir.scsi.BlockDevice`. :meth:`ImageDevice.open`
turns every problem with an image into one sentence (ConfigError): missing, a
directory, unreadable, empty, or not a whole number of sectors (2048 bytes for
an ISO, 512 for a floppy; ``shared/protocol/redirection.md`` 6.11). The file is
opened with ``O_RDONLY`` only, so nothing a host does can change it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from amtterm.errors import ConfigError
from amtterm.redir import DriveKind


class ImageDevice:
    """A BlockDevice over an image file, opened read-only and read with ``os.pread``.

    Use :meth:`open`, which turns every problem into one sentence. The file is
    never opened for writing, so nothing the host does can change it.
    """

    def __init__(self, fd: int, path: Path, kind: DriveKind, size: int) -> None:
        self._fd = fd
        self.path = path
        self.kind = kind
        self.block_size = kind.block_size
        self.block_count = size // kind.block_size

    @classmethod
    def open(cls, path: str | os.PathLike[str], kind: DriveKind) -> ImageDevice:
        """Open ``path`` read-only as a ``kind`` image.

        Raises:
            ConfigError: missing, a directory, unreadable, empty, or not a whole number of sectors.
        """
        where = Path(path)
        label = kind.label
        try:
            fd = os.open(where, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise ConfigError(f"The {label} {where} does not exist; check the path.") from None
        except IsADirectoryError:
            raise ConfigError(f"{where} is a directory, not an {label}; give the image file.") from None
        except PermissionError:
            raise ConfigError(
                f"The {label} {where} cannot be read (permission denied); make it readable for this user."
            ) from None
        except OSError as exc:
            raise ConfigError(f"The {label} {where} cannot be opened: {exc.strerror or exc}.") from None
        try:
            size = cls._check(fd, where, kind)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, where, kind, size)

    @staticmethod
    def _check(fd: int, where: Path, kind: DriveKind) -> int:
        label, sector = kind.label, kind.block_size
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{where} is a directory, not an {label}; give the image file.")
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISBLK(info.st_mode)):
            raise ConfigError(f"{where} is not a regular file; give an {label} file.")
        size = os.lseek(fd, 0, os.SEEK_END) if stat.S_ISBLK(info.st_mode) else info.st_size
        if size == 0:
            raise ConfigError(f"The {label} {where} is empty.")
        if size % sector:
            what = "an ISO" if kind is DriveKind.CD else "a floppy image"
            raise ConfigError(
                f"The {label} {where} is {size} bytes, not a whole number of {sector}-byte sectors, "
                f"so it is not {what}."
            )
        try:
            os.pread(fd, 1, 0)
        except OSError as exc:
            raise ConfigError(f"The {label} {where} cannot be read: {exc.strerror or exc}.") from None
        return size

    def read(self, lba: int, count: int) -> bytes:
        """``count`` blocks from ``lba``."""
        return os.pread(self._fd, count * self.block_size, lba * self.block_size)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
