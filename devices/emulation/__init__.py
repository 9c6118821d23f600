"""Emulated BLE wearables on bumble virtual controllers, behind the real bleak API.

Where things live:

- `backend/`: a bleak backend (scanner + client) that drives a bumble `Device` as the
  gateway's adapter; inject it with `backend=` and `bumble=` (see `docs/emulation.md`).
- `wearables/`: bumble peripherals (HR strap, BP cuff, pulse oximeter) that notify what the
  scenario model says.
- `scenario.py`: the pure session model (vitals, flags, connectivity at scenario time t).
- `radio.py` / `hub.py`: the virtual air, in one process or shared between processes.
- `command.py`: `vigil emulate`.
"""
