"""KVM of the simulated AMT device: its screen as pixels and an RFB server on the redirection port.

* :mod:`.font`, :mod:`.framebuffer`, :mod:`.textscreen`: the synthetic PC's text console drawn
  as VGA text mode (720x400), cut into AMT's 64x64 tiles.
* :mod:`.keys`: X keysyms from the console as the bytes a serial console would send.
* :mod:`.screens`: :class:`~.screens.KvmScreen`, what a device's KVM sessions watch and type into
  (:class:`~.screens.SyntheticScreen`), and :mod:`.qemu_screen` (QEMU's screen via its VNC socket).
* :mod:`.viewer`: one console's KVM session, the RFB server side shaped like AMT's.
"""
