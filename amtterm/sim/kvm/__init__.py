"""KVM of the simulated AMT device: its screen as pixels and an RFB server on the redirection port.

* :mod:`.font`, :mod:`.framebuffer`, :mod:`.textscreen`: the synthetic PC's text console drawn
  as VGA text mode (720x400), cut into AMT's 64x64 tiles.
* :mod:`.keys`: X keysyms from the console as the bytes a serial console would send.
"""
