"""amtterm: a terminal-native remote console for Intel AMT (vPro) PCs."""

__version__ = "0.1.0"
