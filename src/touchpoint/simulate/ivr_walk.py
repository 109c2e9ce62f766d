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
    n = len(target_leaf)
    calls = np.arange(n)
    node = np.zeros(n, dtype=np.int64)
    t = np.zeros(n)  # seconds since the call started
    seq = np.ones(n, dtype=np.int64)
    lost_at_wrong = np.zeros(n, dtype=bool)  # took a wrong turn: the next action is the back key
    terminal = np.full(n, -1, dtype=np.int8)
    terminal_node = np.zeros(n, dtype=np.int64)
    failed_service = np.zeros(n, dtype=bool)
    log = _Log()

    def ms(values):
        return np.round(values * 1000).astype(np.int64)

    log.add(calls, seq, ms(t), node, CALL_START, "")
    t += 0.3
    seq += 1
    log.add(calls, seq, ms(t), node, PROMPT, "")
    active = calls.copy()
    for turn in range(MAX_TURNS + 1):
        if not len(active):
            break
        a = active
        cur = node[a]
        seq[a] += 1
        th = kr.fold(turn_keys[a], turn)
        dwell = ivr.prompt_seconds * kr.uniform(
            kr.fold(th, Site.PROMPT_DWELL), 0.6, 1.4
        ) + ivr.key_seconds * kr.uniform(kr.fold(th, Site.KEY_DWELL), 0.4, 1.6)
        u = kr.uniform(kr.fold(th, Site.ACTION))
        finished = np.zeros(len(a), dtype=bool)

        # 1. Back from a wrong turn: '*' returns to the parent.
        back = lost_at_wrong[a]
        # 2. At a leaf: the service runs and the call ends.
        at_leaf = ~back & menu.is_leaf[cur]
        # 3. At a menu: one action, its odds raised at confusing nodes.
        at_menu = ~back & ~at_leaf
        factor = np.where(menu.confusing[cur], ivr.confusing_factor, 1.0)
        p_zero = np.where(
            is_seeker[a] & (cur == menu.root), ivr.agent_seeker_zero_out, ivr.zero_out * factor
        )
        p_hang = ivr.hang_up * np.sqrt(factor)
        p_timeout = ivr.timeout * factor
        p_invalid = ivr.invalid_key * factor
        p_wrong = np.where(menu.n_children[cur] > 1, ivr.wrong_turn * factor, 0.0)
        if turn == MAX_TURNS:
            p_hang = np.ones(len(a))
        edges = np.cumsum(
            np.stack(np.broadcast_arrays(p_zero, p_hang, p_timeout, p_invalid, p_wrong)), axis=0
        )
        zero = at_menu & (u < edges[0])
        hang = at_menu & ~zero & (u < edges[1])
        timeout = at_menu & ~zero & ~hang & (u < edges[2])
        invalid = at_menu & ~zero & ~hang & ~timeout & (u < edges[3])
        wrong = at_menu & ~zero & ~hang & ~timeout & ~invalid & (u < edges[4])
        right = at_menu & ~zero & ~hang & ~timeout & ~invalid & ~wrong

        t[a] += np.where(timeout, ivr.timeout_seconds, dwell)
        # Zero-out and hang-up end the call at a menu.
        for mask, kind, key in ((zero, TRANSFER, "0"), (hang, HANG_UP, "")):
            idx = a[mask]
            log.add(idx, seq[idx], ms(t[idx]), node[idx], kind, key)
            terminal[idx], terminal_node[idx] = kind, node[idx]
            finished |= mask
        # Timeout and invalid key: the prompt plays again.
        for mask, kind in ((timeout, TIMEOUT), (invalid, INVALID)):
            idx = a[mask]
            pressed = (
                np.array(["9", "#"], dtype=object)[
                    kr.integers(kr.fold(th[mask], Site.INVALID_KEY), 0, 2)
                ]
                if kind == INVALID
                else ""
            )
            log.add(idx, seq[idx], ms(t[idx]), node[idx], kind, pressed)
        # Keys that move: right, wrong (to a sibling of the right child) and back.
        goal = menu.next_hop[target_leaf[a], cur]
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
        pressed = np.where(back[moves], "*", menu.key[destination[moves]]).astype(object)
        log.add(idx, seq[idx], ms(t[idx]), node[idx], KEY, pressed)
        node[idx] = destination[moves]
        lost_at_wrong[a[wrong]] = True
        lost_at_wrong[a[back]] = False
        # Leaf service: complete, or fail into a transfer or a hang-up.
        idx = a[at_leaf]
        tl = th[at_leaf]
        t[idx] += ivr.service_seconds * kr.uniform(kr.fold(tl, Site.SERVICE_TIME), 0.5, 1.5)
        ok = kr.uniform(kr.fold(tl, Site.SERVICE_OK)) < ivr.self_service_success
        to_agent = ~ok & (kr.uniform(kr.fold(tl, Site.TO_AGENT)) < ivr.failed_service_to_agent)
        kinds = np.where(ok, COMPLETE, np.where(to_agent, TRANSFER, HANG_UP)).astype(np.int8)
        log.add(
            idx, seq[idx], ms(t[idx]), node[idx], kinds, np.where(to_agent, "0", "").astype(object)
        )
        terminal[idx], terminal_node[idx], failed_service[idx] = kinds, node[idx], ~ok
        finished |= at_leaf
        # Callers still in the menu hear the prompt of where they are now.
        still = a[~finished & (moves | timeout | invalid)]
        seq[still] += 1
        t[still] += 0.3
        log.add(still, seq[still], ms(t[still]), node[still], PROMPT, "")
        active = a[~finished]

    call, seqs, offset, nodes, kinds, keys = log.stack()
    order = np.lexsort((seqs, call))
    end_ms = np.zeros(n, dtype=np.int64)
    is_terminal = np.isin(kinds, (TRANSFER, COMPLETE, HANG_UP))
    end_ms[call[is_terminal]] = offset[is_terminal]
    return Walk(
        call[order],
        seqs[order],
        offset[order],
        nodes[order],
        kinds[order],
        keys[order],
        terminal,
        terminal_node,
        failed_service,
        end_ms,
    )
