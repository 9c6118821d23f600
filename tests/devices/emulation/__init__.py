"""Tests of devices.emulation (a package so that helpers import the same way in every pytest import mode)."""
