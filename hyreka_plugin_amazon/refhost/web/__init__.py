"""The seller console: the help page's screens as a local web page (``hyreka-amazon web``)."""
