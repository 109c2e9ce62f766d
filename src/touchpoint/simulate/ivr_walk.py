"""Hotline calls walking the IVR menu key by key, all calls of a batch in step.

Each loop turn advances every call still in the menu by one action (the right key, a wrong
turn, a back-track, a timeout, an invalid key, a zero-out or a hang-up), so the cost is a few
NumPy operations per turn rather than Python work per event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import Ivr

EVENT_TYPES = (
    "call_start",
    "prompt",
    "key",
    "timeout",
    "invalid",
    "transfer_agent",
    "self_service_complete",
    "hang_up",
)
CALL_START, PROMPT, KEY, TIMEOUT, INVALID, TRANSFER, COMPLETE, HANG_UP = range(8)
MAX_TURNS = 40  # a caller still lost after this many actions hangs up


@dataclass
class Walk:
    """Events of a batch of calls (``call`` indexes the batch) and each call's ending."""

    call: np.ndarray
    seq: np.ndarray
    offset_ms: np.ndarray  # milliseconds after the call's start
    node: np.ndarray
    event_type: np.ndarray
    key: np.ndarray  # object array: "" where no key
    terminal: np.ndarray  # per call: TRANSFER, COMPLETE or HANG_UP
    terminal_node: np.ndarray  # per call
    failed_service: np.ndarray  # per call: ended after a leaf service failed
    end_ms: np.ndarray  # per call: offset of the terminal event


class _Log:
    def __init__(self) -> None:
        self.parts: list[tuple] = []

    def add(self, calls, seq, offset, node, kind, key) -> None:
        n = len(calls)
        if n:
            key_array = np.full(n, key, dtype=object) if isinstance(key, str) else key
            kind_array = np.full(n, kind, dtype=np.int8) if np.isscalar(kind) else kind
            self.parts.append(
                (calls, seq.copy(), offset.copy(), node.copy(), kind_array, key_array)
            )

    def stack(self):
        return [np.concatenate([p[i] for p in self.parts]) for i in range(6)]


def _ms(seconds: np.ndarray) -> np.ndarray:
    return np.round(seconds * 1000).astype(np.int64)


class _Calls:
    """The state of every call of a batch while it walks, and the events logged so far."""

    def __init__(self, menu: Menu, ivr: Ivr, target_leaf: np.ndarray, is_seeker: np.ndarray):
        n = len(target_leaf)
        self.menu, self.ivr, self.target_leaf, self.is_seeker = menu, ivr, target_leaf, is_seeker
        self.node = np.zeros(n, dtype=np.int64)
        self.t = np.zeros(n)  # seconds since the call started
        self.seq = np.ones(n, dtype=np.int64)
        self.lost_at_wrong = np.zeros(n, dtype=bool)  # took a wrong turn: next is the back key
        self.terminal = np.full(n, -1, dtype=np.int8)
        self.terminal_node = np.zeros(n, dtype=np.int64)
        self.failed_service = np.zeros(n, dtype=bool)
        self.log = _Log()

    def add(self, idx: np.ndarray, kind, key) -> None:
        """Log one event of kind ``kind`` for the calls ``idx`` where they are now."""
        self.log.add(idx, self.seq[idx], _ms(self.t[idx]), self.node[idx], kind, key)

    def end(self, idx: np.ndarray, kind) -> None:
        self.add(idx, kind, "0" if np.isscalar(kind) and kind == TRANSFER else "")
        self.terminal[idx], self.terminal_node[idx] = kind, self.node[idx]

    def actions(self, a: np.ndarray, cur: np.ndarray, back, u, turn: int) -> dict[str, np.ndarray]:
        """Each call's action at a menu (not on its way back, not at a leaf): one draw of
        ``u`` against the odds of zero-out, hang-up, timeout, invalid key and wrong turn,
        raised at confusing nodes; the rest press the right key."""
        menu, ivr = self.menu, self.ivr
        at_menu = ~back & ~menu.is_leaf[cur]
        factor = np.where(menu.confusing[cur], ivr.confusing_factor, 1.0)
        p_zero = np.where(
            self.is_seeker[a] & (cur == menu.root), ivr.agent_seeker_zero_out, ivr.zero_out * factor
        )
        p_hang = np.ones(len(a)) if turn == MAX_TURNS else ivr.hang_up * np.sqrt(factor)
        p_wrong = np.where(menu.n_children[cur] > 1, ivr.wrong_turn * factor, 0.0)
        odds = (p_zero, p_hang, ivr.timeout * factor, ivr.invalid_key * factor, p_wrong)
        edges = np.cumsum(np.stack(np.broadcast_arrays(*odds)), axis=0)
        undecided = at_menu.copy()
        chosen = {}
        for name, edge in zip(("zero", "hang", "timeout", "invalid", "wrong"), edges, strict=True):
            chosen[name] = undecided & (u < edge)
            undecided &= ~chosen[name]
        chosen["right"] = undecided
        return chosen

    def replay_prompt(self, a: np.ndarray, timeout, invalid, th: np.ndarray) -> None:
        """Timeout and invalid key: logged, and the prompt plays again (logged later)."""
        self.add(a[timeout], TIMEOUT, "")
        idx = a[invalid]
        pressed = np.array(["9", "#"], dtype=object)[
            kr.integers(kr.fold(th[invalid], Site.INVALID_KEY), 0, 2)
        ]
        self.add(idx, INVALID, pressed)

    def move(self, a, cur, th, right, wrong, back) -> np.ndarray:
        """Keys that move: right, wrong (to a sibling of the right child) and back; returns
        which of ``a`` moved."""
        menu = self.menu
        goal = menu.next_hop[self.target_leaf[a], cur]
        destination = np.where(right, goal, -1)
        if wrong.any():
            w = np.flatnonzero(wrong)
            options = [
                menu.children[c][menu.children[c] != g]
                for c, g in zip(cur[w], goal[w], strict=True)
            ]
            pick = kr.uniform(kr.fold(th[w], Site.WRONG_TURN))
            destination[w] = [opt[int(p * len(opt))] for opt, p in zip(options, pick, strict=True)]
        destination[back] = menu.parent[cur[back]]
        moves = right | wrong | back
        idx = a[moves]
        self.add(idx, KEY, np.where(back[moves], "*", menu.key[destination[moves]]).astype(object))
        self.node[idx] = destination[moves]
        self.lost_at_wrong[a[wrong]] = True
        self.lost_at_wrong[a[back]] = False
        return moves

    def serve(self, idx: np.ndarray, tl: np.ndarray) -> None:
        """Leaf service: it completes, or fails into a transfer or a hang-up."""
        ivr = self.ivr
        self.t[idx] += ivr.service_seconds * kr.uniform(kr.fold(tl, Site.SERVICE_TIME), 0.5, 1.5)
        ok = kr.uniform(kr.fold(tl, Site.SERVICE_OK)) < ivr.self_service_success
        to_agent = ~ok & (kr.uniform(kr.fold(tl, Site.TO_AGENT)) < ivr.failed_service_to_agent)
        kinds = np.where(ok, COMPLETE, np.where(to_agent, TRANSFER, HANG_UP)).astype(np.int8)
        self.add(idx, kinds, np.where(to_agent, "0", "").astype(object))
        self.terminal[idx], self.terminal_node[idx], self.failed_service[idx] = (
            kinds,
            self.node[idx],
            ~ok,
        )

    def turn(self, a: np.ndarray, th: np.ndarray, turn: int) -> np.ndarray:
        """One action of every call in ``a`` (keyed by ``th``); returns the calls still in
        the menu."""
        ivr = self.ivr
        cur = self.node[a]
        self.seq[a] += 1
        dwell = ivr.prompt_seconds * kr.uniform(
            kr.fold(th, Site.PROMPT_DWELL), 0.6, 1.4
        ) + ivr.key_seconds * kr.uniform(kr.fold(th, Site.KEY_DWELL), 0.4, 1.6)
        u = kr.uniform(kr.fold(th, Site.ACTION))
        back = self.lost_at_wrong[a]  # back from a wrong turn: '*' returns to the parent
        at_leaf = ~back & self.menu.is_leaf[cur]
        act = self.actions(a, cur, back, u, turn)
        self.t[a] += np.where(act["timeout"], ivr.timeout_seconds, dwell)
        self.end(a[act["zero"]], TRANSFER)  # zero-out and hang-up end the call at a menu
        self.end(a[act["hang"]], HANG_UP)
        self.replay_prompt(a, act["timeout"], act["invalid"], th)
        moves = self.move(a, cur, th, act["right"], act["wrong"], back)
        self.serve(a[at_leaf], th[at_leaf])
        finished = act["zero"] | act["hang"] | at_leaf
        # Callers still in the menu hear the prompt of where they are now.
        still = a[~finished & (moves | act["timeout"] | act["invalid"])]
        self.seq[still] += 1
        self.t[still] += 0.3
        self.add(still, PROMPT, "")
        return a[~finished]

    def walk(self) -> Walk:
        call, seqs, offset, nodes, kinds, keys = self.log.stack()
        order = np.lexsort((seqs, call))
        end_ms = np.zeros(len(self.terminal), dtype=np.int64)
        is_terminal = np.isin(kinds, (TRANSFER, COMPLETE, HANG_UP))
        end_ms[call[is_terminal]] = offset[is_terminal]
        return Walk(
            call[order],
            seqs[order],
            offset[order],
            nodes[order],
            kinds[order],
            keys[order],
            self.terminal,
            self.terminal_node,
            self.failed_service,
            end_ms,
        )


def walk_calls(
    menu: Menu, ivr: Ivr, target_leaf: np.ndarray, is_seeker: np.ndarray, keys: np.ndarray
) -> Walk:
    """Walk ``len(target_leaf)`` calls through ``menu``.

    ``target_leaf`` is the service each caller wants; ``is_seeker`` marks callers who want a
    human and press 0 at the main menu with probability ``ivr.agent_seeker_zero_out``;
    ``keys`` are the calls' random keys: a call's draws at each turn are keyed by (call, turn),
    so a call walks the same way in any batch.
    """
    turn_keys = kr.fold(keys, Site.TURN)
    calls = _Calls(menu, ivr, target_leaf, is_seeker)
    active = np.arange(len(target_leaf))
    calls.add(active, CALL_START, "")
    calls.t += 0.3
    calls.seq += 1
    calls.add(active, PROMPT, "")
    for turn in range(MAX_TURNS + 1):
        if not len(active):
            break
        active = calls.turn(active, kr.fold(turn_keys[active], turn), turn)
    return calls.walk()
