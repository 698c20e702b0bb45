"""Quark's assistant as a front door: every flow an MCP tool, each call a write to a hosted session."""
