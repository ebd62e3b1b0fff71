"""``python -m hyreka_plugin_amazon.refhost.cli``: the command line."""

import sys

from hyreka_plugin_amazon.refhost.cli.main import main

sys.exit(main())
