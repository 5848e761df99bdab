"""Shared analyses: the only place that knows how a leak happens. Rules only read them."""
