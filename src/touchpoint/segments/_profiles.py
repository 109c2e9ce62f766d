"""Segment profiles: descriptions in en and zh from distinguishing features, and names."""

from __future__ import annotations

import numpy as np

from touchpoint.segments._settings import SegmentSettings


def describe(center: dict[str, float], settings: SegmentSettings, lang: str) -> str:
    """The features whose mean z-score is beyond the threshold, strongest first.

    >>> from touchpoint.segments import load_segment_settings
    >>> s = load_segment_settings()
    >>> describe({"log_arpu": 1.2, "agent_share_3m": 0.9, "log_tenure": -0.1}, s, "en")
    'high ARPU, many agent contacts'
    >>> describe({"log_arpu": 0.1}, s, "zh")
    '接近平均水平'
    """
    strong = sorted(
        (
            f
            for f, z in center.items()
            if abs(z) >= settings.describe_threshold and f in settings.features
        ),
        key=lambda f: -abs(center[f]),
    )[: settings.describe_top]
    words = []
    for feature in strong:
        spec = settings.features[feature]
        side = "high" if center[feature] > 0 else "low"
        words.append(getattr(spec, f"{side}_{lang}"))
    if not words:
        return "close to the average" if lang == "en" else "接近平均水平"
    return (", " if lang == "en" else "，").join(words)


def name_segments(
    centers: np.ndarray, features: list[str], settings: SegmentSettings
) -> list[str | None]:
    """The kind (key of ``settings.kinds``) of each segment: greedy best cosine between the
    segment's centre and the kind's signature, each kind used once; ``None`` when kinds run
    out or none matches positively."""
    kinds = list(settings.kinds)
    if not kinds:
        return [None] * len(centers)
    signatures = np.array(
        [[settings.kinds[k].signature.get(f, 0.0) for f in features] for k in kinds], dtype=float
    )
    norm_c = np.linalg.norm(centers, axis=1, keepdims=True)
    norm_s = np.linalg.norm(signatures, axis=1, keepdims=True)
    cosine = (centers / np.where(norm_c == 0, 1, norm_c)) @ (
        signatures / np.where(norm_s == 0, 1, norm_s)
    ).T
    names: list[str | None] = [None] * len(centers)
    used_seg, used_kind = set(), set()
    for flat in np.argsort(-cosine, axis=None, kind="stable"):
        s, k = divmod(int(flat), len(kinds))
        if s in used_seg or k in used_kind or cosine[s, k] <= 0:
            continue
        names[s] = kinds[k]
        used_seg.add(s)
        used_kind.add(k)
    return names
