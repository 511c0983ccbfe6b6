"""The package's version, the one ``pyproject.toml`` declares (a test keeps the two equal).

Read from here rather than the installed metadata: ``importlib.metadata`` costs a whole-process
analysis about 20 ms to import and look up, and every result records the version.
"""

__version__ = "0.1.0"
