"""The synthetic PC behind the simulated AMT device: a pure-Python BIOS, boot loader and shell.

:class:`SyntheticHost` implements :class:`amtterm.sim.host.Host`. What it shows on the serial
console, in boot order:

* POST (``post.py``): vendor line, CPU, memory count-up, an Intel(R) AMT Serial-over-LAN line,
  "Press F2 for Setup, F12 for Boot Menu".
* Setup (``setup.py``): the blue BIOS setup utility with tabs, frames, help and key legend;
  settings persist across reboots of the same host.
* Boot menu (``bootmenu.py``), boot devices with a PXE banner and CD fallbacks (``bootdev.py``).
* Boot loader and kernel messages (``loader.py``), login and a small shell (``shell.py``,
  ``commands.py``) with ``colors`` and ``flood N`` (``flood.py``) for terminal and throughput tests.

Keys are decoded by ``keys.py`` (all three BIOS F-key conventions, Esc by timeout).
"""

from amtterm.sim.synthetic.keys import Key, KeyDecoder, KeyName
from amtterm.sim.synthetic.machine import DEFAULT_EPOCH, SyntheticHost
from amtterm.sim.synthetic.settings import BiosSettings, Hardware

__all__ = ["DEFAULT_EPOCH", "BiosSettings", "Hardware", "Key", "KeyDecoder", "KeyName", "SyntheticHost"]
