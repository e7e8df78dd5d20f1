"""The sheet's address policy: the addresses a program may use (loopback, all interfaces for a bind,
a lab address of the pack, the host name's address, one given on its input) and the IPv4 literals
other than loopback that its source names.
"""
from __future__ import annotations

import ipaddress
import re

from .i18n import N_, Msg
from .pack import Pack
from .sandbox.netns import hostname_address

_IPV4 = re.compile(rb"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])")


def off_loopback_addresses(source: bytes) -> list[str]:
    """IPv4 literals in a program's source that are not loopback or 0.0.0.0."""
    found = []
    for m in _IPV4.finditer(source):
        try:
            addr = ipaddress.IPv4Address(m.group(1).decode())
        except ValueError:
            continue
        if not (addr.is_loopback or addr.is_unspecified) and str(addr) not in found:
            found.append(str(addr))
    return found


def sheet_address(address: str, pack: Pack, given: tuple[str, ...] = ()) -> bool:
    """True for an address the sheet accepts: loopback, all interfaces (for a bind),
    a lab address the pack declares, the host name's address, or one ``given``
    on the program's input (its stdin prelude)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_loopback or ip.is_unspecified:
        return True
    return address in pack.lab_addresses or address == hostname_address() or address in given


def sheet_addresses_text(pack: Pack, given: tuple[str, ...] = ()) -> Msg:
    """The addresses ``sheet_address`` accepts, in words, for messages."""
    others = [a for a in (*pack.lab_addresses, *given) if a != "127.0.0.1"]
    if others:
        return Msg(N_("127.0.0.1 (or {addresses})"), {"addresses": ", ".join(dict.fromkeys(others))})
    return Msg(N_("127.0.0.1 (or the address given)"))
