"""Records pytest sessions to an mcp-pytest server over MCP (Streamable HTTP); standard library only.

Installed, pytest loads the plugin through its `pytest11` entry point (mcp_pytest.plugin); from a source
checkout, `-p mcp_pytest` imports this package, so its hooks are the plugin's.
"""

__version__ = "0.1.0"

from .plugin import pytest_addoption, pytest_configure  # noqa: E402,F401  (the hooks, for -p mcp_pytest)
