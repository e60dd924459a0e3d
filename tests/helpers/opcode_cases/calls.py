"""Globals and calls: GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ/NEWOBJ_EX,
INST, OBJ."""

from __future__ import annotations

from typing import Any

from helpers.opcode_cases.common import HOOK, S, T, V

VALID: list[Any] = [
    # ---- GLOBAL / STACK_GLOBAL (default registry answers builtin types)
    V(b"cbuiltins\nint\n.", {}, id="GLOBAL-builtins-int"),
    V(b"c__builtin__\nset\n.", {}, id="GLOBAL-py2-name-proto0"),
    V(b"\x80\x02c__builtin__\nxrange\n.", {}, id="GLOBAL-py2-xrange-proto2"),
    V(b"\x80\x02c__builtin__\nunicode\n.", {}, id="GLOBAL-py2-unicode"),
    V(b"\x80\x04" + S("builtins") + S("frozenset") + b"\x93.", {}, id="STACK_GLOBAL"),
    V(
        b"\x80\x04" + S("builtins") + b"\x94" + S("dict") + b"\x94h\x00h\x01\x93.",
        {},
        id="STACK_GLOBAL-memoized-names",
    ),
    V(T("WithDict") + b".", HOOK, id="GLOBAL-find_class-hook"),
    V(
        b"\x80\x04" + S("testmod") + S("WithSlots") + b"\x93.",
        HOOK,
        id="STACK_GLOBAL-find_class-hook",
    ),
    # ---- REDUCE
    V(b"cbuiltins\ncomplex\nK\x01K\x02\x86R.", {}, id="REDUCE-complex"),
    V(b"cbuiltins\nset\n](K\x01K\x02e\x85R.", {}, id="REDUCE-set"),
    V(b"cbuiltins\nfrozenset\n)R.", {}, id="REDUCE-frozenset-empty"),
    V(b"cbuiltins\ntype\nN\x85R.", {}, id="REDUCE-type-None"),
    V(b"cbuiltins\ntype\ncbuiltins\nEllipsis\n\x85R.", {}, id="REDUCE-type-Ellipsis"),
    V(b"cbuiltins\nrange\nK\x00K\x0aK\x02\x87R.", {}, id="REDUCE-range"),
    V(b"cbuiltins\nslice\nK\x01K\x02N\x87R.", {}, id="REDUCE-slice"),
    V(b"cbuiltins\nint\nX\x02\x00\x00\x00ffK\x10\x86R.", {}, id="REDUCE-int-base"),
    V(b"cbuiltins\nbytes\n]K\x01a\x85R.", {}, id="REDUCE-bytes-list"),
    V(b"cbuiltins\nbytearray\nC\x02ab\x85R.", {}, id="REDUCE-bytearray"),
    V(
        b"c_codecs\nencode\nX\x04\x00\x00\x00\xc3\xbfabX\x06\x00\x00\x00latin1\x86R.",
        {},
        id="REDUCE-_codecs.encode",
    ),
    V(
        b"ccopyreg\n__newobj__\ncbuiltins\nint\nK\x05\x86R.",
        {},
        id="REDUCE-copyreg.__newobj__",
    ),
    V(
        b"ccopyreg\n__newobj_ex__\ncbuiltins\ncomplex\n)}X\x04\x00\x00\x00realK\x02s"
        b"\x87R.",
        {},
        id="REDUCE-copyreg.__newobj_ex__",
    ),
    V(
        b"ccopy_reg\n_reconstructor\n(c__builtin__\nlist\nc__builtin__\nlist\n"
        b"(lI1\natR.",
        {},
        id="REDUCE-copy_reg._reconstructor-list",
    ),
    V(T("WithDict") + b"K\x01K\x02\x86R.", HOOK, id="REDUCE-hook-class"),
    # ---- BUILD
    V(T("WithDict") + b")R}X\x01\x00\x00\x00aK\x01sb.", HOOK, id="BUILD-dict-state"),
    V(T("WithDict") + b")RNb.", HOOK, id="BUILD-None-state"),
    V(
        T("WithSlots") + b")\x81N}X\x01\x00\x00\x00xK\x01s\x86b.",
        HOOK,
        id="BUILD-slot-state",
    ),
    V(
        T("Mixed") + b")\x81}X\x01\x00\x00\x00aK\x02s}X\x01\x00\x00\x00xK\x03s\x86b.",
        HOOK,
        id="BUILD-dict-and-slot-state",
    ),
    V(T("WithSetstate") + b")\x81(K\x01K\x02lb.", HOOK, id="BUILD-setstate"),
    V(T("WithSetstate") + b")\x81Nb.", HOOK, id="BUILD-setstate-None"),
    V(
        b"ctypes\nSimpleNamespace\n)\x81}X\x01\x00\x00\x00aK\x01sb.",
        HOOK,
        id="BUILD-SimpleNamespace",
    ),
    # ---- NEWOBJ / NEWOBJ_EX
    V(b"cbuiltins\nint\n)\x81.", {}, id="NEWOBJ-int"),
    V(b"cbuiltins\nint\nK\x05\x85\x81.", {}, id="NEWOBJ-int-arg"),
    V(b"cbuiltins\nlist\n)\x81.", {}, id="NEWOBJ-list"),
    V(T("WithKwNew") + b"K\x01\x85\x81.", HOOK, id="NEWOBJ-hook-class"),
    V(
        b"cbuiltins\ncomplex\n)}X\x04\x00\x00\x00realK\x02s\x92.",
        {},
        id="NEWOBJ_EX-complex",
    ),
    V(
        T("WithKwNew") + b"K\x01\x85}X\x01\x00\x00\x00kK\x02s\x92.",
        HOOK,
        id="NEWOBJ_EX-hook-class",
    ),
    # ---- INST / OBJ
    V(b"(S'5'\nibuiltins\nint\n.", {}, id="INST-int"),
    V(b"(K\x01K\x02ibuiltins\ncomplex\n.", {}, id="INST-complex"),
    V(b"(ibuiltins\nlist\n.", {}, id="INST-no-args-uses-new"),
    V(b"(itestmod\nWithDict\n(S'a'\nI1\ndb.", HOOK, id="INST-hook-then-BUILD"),
    V(b"(K\x01itestmod\nWithDict\n.", HOOK, id="INST-hook-args-calls"),
    V(b"(cbuiltins\ncomplex\nK\x01K\x02o.", {}, id="OBJ-complex"),
    V(b"(cbuiltins\nlist\no.", {}, id="OBJ-no-args"),
    V(b"(" + T("WithDict") + b"o.", HOOK, id="OBJ-hook"),
    V(b"(" + T("WithDict") + b"K\x03o.", HOOK, id="OBJ-hook-args"),
]

BAD_STACK: list[Any] = [
    V(b"b.", {}, id="BUILD-empty"),
    V(b"K\x01b.", {}, id="BUILD-one-item"),
    V(b"K\x01(X\x01\x00\x00\x00aK\x02db.", {}, id="BUILD-dict-state-on-int"),
    V(b"]K\x05b.", {}, id="BUILD-int-state-on-list"),
    V(b"R.", {}, id="REDUCE-empty"),
    V(b")R.", {}, id="REDUCE-one-item"),
    V(b"K\x01)R.", {}, id="REDUCE-int-not-callable"),
    V(b"cbuiltins\ncomplex\n]R.", {}, id="REDUCE-args-list"),
    V(b"cbuiltins\ncomplex\nK\x01R.", {}, id="REDUCE-args-int"),
    V(b"cbuiltins\nint\nX\x01\x00\x00\x00x\x85R.", {}, id="REDUCE-emulator-rejects"),
    V(
        b"cbuiltins\ncomplex\nX\x01\x00\x00\x00a\x85}\x86R.",
        {},
        id="REDUCE-complex-bad-arg",
    ),
    V(b"\x81.", {}, id="NEWOBJ-empty"),
    V(b")\x81.", {}, id="NEWOBJ-one-item"),
    V(b"K\x01)\x81.", {}, id="NEWOBJ-cls-int"),
    V(b"cbuiltins\nint\n]\x81.", {}, id="NEWOBJ-args-list"),
    V(b"\x92.", {}, id="NEWOBJ_EX-empty"),
    V(b")}\x92.", {}, id="NEWOBJ_EX-two-items"),
    V(b"K\x01)}\x92.", {}, id="NEWOBJ_EX-cls-int"),
    V(b"cbuiltins\nint\n]}\x92.", {}, id="NEWOBJ_EX-args-list"),
    V(b"cbuiltins\nint\n)K\x01\x92.", {}, id="NEWOBJ_EX-kwargs-int"),
    V(b"\x93.", {}, id="STACK_GLOBAL-empty"),
    V(b"\x8c\x03int\x93.", {}, id="STACK_GLOBAL-one-item"),
    V(b"K\x01\x8c\x03int\x93.", {}, id="STACK_GLOBAL-module-int"),
    V(b"\x8c\x08builtinsK\x01\x93.", {}, id="STACK_GLOBAL-name-int"),
    V(b"C\x08builtinsC\x03int\x93.", {}, id="STACK_GLOBAL-bytes-names"),
    V(b"(o.", {}, id="OBJ-no-class"),
    V(b"(K\x01o.", {}, id="OBJ-int-class"),
    V(b"(K\x01K\x02ibuiltins\nint\n.", {}, id="INST-emulator-rejects-args"),
]

BAD_MARK: list[Any] = [
    V(b"cbuiltins\nlist\no.", {}, id="OBJ"),
    V(b"ibuiltins\nlist\n.", {}, id="INST"),
    V(b"K\x01ibuiltins\nint\n.", {}, id="INST-with-item"),
]

TRUNCATED: list[Any] = [
    V(b"cbuiltins\nin", id="GLOBAL-name"),
    V(b"cbuiltins", id="GLOBAL-module"),
    V(b"c", id="GLOBAL-nothing"),
    V(b"(ibuiltins\nlis", id="INST-name"),
    V(b"(ibuilt", id="INST-module"),
]

MALFORMED: list[Any] = [
    V(b"c\xff\nx\n.", {}, id="GLOBAL-module-bad-utf8"),
    V(b"cbuiltins\n\xff\n.", {}, id="GLOBAL-name-bad-utf8"),
    V(b"c\nint\n.", {}, id="GLOBAL-empty-module"),
    V(b"(i\xff\nx\n.", {}, id="INST-module-bad-utf8"),
]
