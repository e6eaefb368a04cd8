"""curator: poll news feeds, surface what matches your beat, publish a curated RSS and Atom feed."""

__version__ = "0.1.0"
