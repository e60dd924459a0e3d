"""Tuples, lists, dicts, sets and the stack: the MARK builders, TUPLE1-3,
APPEND(S), SETITEM(S), ADDITEMS, POP, POP_MARK, DUP."""

from __future__ import annotations

from typing import Any

from helpers.opcode_cases.common import V

VALID: list[Any] = [
    # ---- empty containers
    V(b").", {}, id="EMPTY_TUPLE"),
    V(b"].", {}, id="EMPTY_LIST"),
    V(b"}.", {}, id="EMPTY_DICT"),
    V(b"\x8f.", {}, id="EMPTY_SET"),
    # ---- MARK-based builders
    V(b"(K\x01K\x02t.", {}, id="TUPLE"),
    V(b"(t.", {}, id="TUPLE-empty"),
    V(b"K\x09(K\x01t.", {}, id="TUPLE-below-mark-untouched"),
    V(b"(K\x01(K\x02tt.", {}, id="TUPLE-nested-marks"),
    V(b"(K\x01K\x02l.", {}, id="LIST"),
    V(b"(l.", {}, id="LIST-empty"),
    V(b"(K\x01K\x02d.", {}, id="DICT"),
    V(b"(d.", {}, id="DICT-empty"),
    V(b"(K\x01K\x02K\x01K\x03d.", {}, id="DICT-duplicate-key-last-wins"),
    V(b"(K\x01\x91.", {}, id="FROZENSET"),
    V(b"(\x91.", {}, id="FROZENSET-empty"),
    V(b"(K\x01K\x01K\x02\x91.", {}, id="FROZENSET-duplicates"),
    # ---- TUPLE1/2/3
    V(b"K\x01\x85.", {}, id="TUPLE1"),
    V(b"K\x01K\x02\x86.", {}, id="TUPLE2"),
    V(b"K\x01K\x02K\x03\x87.", {}, id="TUPLE3"),
    # ---- APPEND(S) / SETITEM(S) / ADDITEMS
    V(b"]K\x01a.", {}, id="APPEND"),
    V(b"]K\x01aK\x02a.", {}, id="APPEND-twice"),
    V(b"](K\x01K\x02e.", {}, id="APPENDS"),
    V(b"](e.", {}, id="APPENDS-empty"),
    V(b"}K\x01K\x02s.", {}, id="SETITEM"),
    V(b"}(K\x01K\x02K\x03K\x04u.", {}, id="SETITEMS"),
    V(b"}(u.", {}, id="SETITEMS-empty"),
    V(b"}(K\x01K\x02K\x01K\x05u.", {}, id="SETITEMS-duplicate-key"),
    V(b"\x8f(K\x01K\x02\x90.", {}, id="ADDITEMS"),
    V(b"\x8f(\x90.", {}, id="ADDITEMS-empty"),
    # ---- MARK / POP / POP_MARK / DUP
    V(b"K\x01K\x020.", {}, id="POP"),
    V(b"K\x01(0.", {}, id="POP-pops-mark-when-top"),
    V(b"(0N.", {}, id="POP-mark-on-empty-stack"),
    V(b"K\x01(K\x02K\x031.", {}, id="POP_MARK"),
    V(b"K\x01(1.", {}, id="POP_MARK-empty"),
    V(b"K\x052\x86.", {}, id="DUP"),
]

BAD_STACK: list[Any] = [
    V(b"0.", {}, id="POP-empty"),
    V(b"2.", {}, id="DUP-empty"),
    V(b"K\x01(2.", {}, id="DUP-hidden-by-mark"),
    V(b"a.", {}, id="APPEND-empty"),
    V(b"K\x01a.", {}, id="APPEND-one-item"),
    V(b"]K\x01(K\x02a.", {}, id="APPEND-list-hidden-by-mark"),
    V(b"K\x01K\x02a.", {}, id="APPEND-onto-int"),
    V(b")K\x01a.", {}, id="APPEND-onto-tuple"),
    V(b"(e.", {}, id="APPENDS-nothing-below-mark"),
    V(b"K\x01(K\x02e.", {}, id="APPENDS-onto-int"),
    V(b"N(K\x02e.", {}, id="APPENDS-onto-None"),
    V(b"s.", {}, id="SETITEM-empty"),
    V(b"}K\x01s.", {}, id="SETITEM-two-items"),
    V(b"K\x01K\x02K\x03s.", {}, id="SETITEM-onto-int"),
    V(b"}]K\x01s.", {}, id="SETITEM-unhashable-key"),
    V(b"]K\x00K\x01s.", {}, id="SETITEM-list-index-out-of-range"),
    V(b"(K\x01K\x02u.", {}, id="SETITEMS-nothing-below-mark"),
    V(b"}(K\x01u.", {}, id="SETITEMS-odd"),
    V(b"K\x01(K\x02K\x03u.", {}, id="SETITEMS-onto-int"),
    V(b"}(]K\x01u.", {}, id="SETITEMS-unhashable-key"),
    V(b"(K\x01\x90.", {}, id="ADDITEMS-nothing-below-mark"),
    V(b"K\x01(K\x02\x90.", {}, id="ADDITEMS-onto-int"),
    V(b"\x8f(]\x90.", {}, id="ADDITEMS-unhashable"),
    V(b"(]\x91.", {}, id="FROZENSET-unhashable"),
    V(b"(]K\x01d.", {}, id="DICT-unhashable-key"),
    V(b"(K\x01d.", {}, id="DICT-odd"),
    V(b"\x85.", {}, id="TUPLE1-empty"),
    V(b"K\x01(\x85.", {}, id="TUPLE1-hidden-by-mark"),
    V(b"K\x01\x86.", {}, id="TUPLE2-one-item"),
    V(b"K\x01K\x02\x87.", {}, id="TUPLE3-two-items"),
]

BAD_MARK: list[Any] = [
    V(b"t.", {}, id="TUPLE"),
    V(b"K\x01t.", {}, id="TUPLE-with-item"),
    V(b"(K\x01tt.", {}, id="TUPLE-mark-used-twice"),
    V(b"l.", {}, id="LIST"),
    V(b"K\x01l.", {}, id="LIST-with-item"),
    V(b"d.", {}, id="DICT"),
    V(b"K\x01K\x02d.", {}, id="DICT-with-items"),
    V(b"]K\x01e.", {}, id="APPENDS"),
    V(b"}K\x01K\x02u.", {}, id="SETITEMS"),
    V(b"\x8fK\x01\x90.", {}, id="ADDITEMS"),
    V(b"K\x01\x91.", {}, id="FROZENSET"),
    V(b"1.", {}, id="POP_MARK"),
    V(b"K\x011.", {}, id="POP_MARK-with-item"),
]
