"""framescope: how much does each source emphasise each theme, and how does it frame it?"""

__version__ = "0.1.0"
