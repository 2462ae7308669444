"""Linkage (つなぐ). Its hot pure modules run compiled when a build of exactly these sources exists
(``services/linkage/native.py``); otherwise, and with ``TSUNAGU_LINKAGE_NATIVE=0``, as the pure Python they are."""

from services.linkage import native as _native

_native.install()
