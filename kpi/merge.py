"""Combine window views of disjoint partitions into the view of the whole stream.

Every input topic is keyed by the entity its state belongs to (tickets by ticket_id,
customers and orders by customer_id), so partitions hold disjoint tickets and customers:
flows merge as sketches, step functions (open tickets, churn base) and DAU/MAU add up.

`merge_and_cap` is the one step both consumers of partitions take: the parallel replay
(`kpi.replay.WindowMerger`, one window at a time) and the worker that exports the merged
partials of every worker (all trailing windows at once).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from kpi.aggregates import OVERALL, Bucket, LabelKey, add_counts
from kpi.labels import OTHER, LabelPolicy
from kpi.series import WindowView

K = TypeVar("K", bound=Hashable)


class LabelValue(NamedTuple):
    """One value of one label dimension, e.g. ("team", "billing")."""

    dim: str
    value: str


@dataclass(frozen=True)
class CappedWindows(Generic[K]):
    """What `merge_and_cap` returns: the merged, capped view per key (keys without views
    left out), and the label policy they were capped with; map further labels of the same
    export through it (e.g. the live SLA state's teams) so they agree with the views."""

    views: dict[K, WindowView]
    labels: LabelPolicy


def merge_and_cap(
    partials: Mapping[K, Iterable[WindowView]],
    max_label_values: int,
    label_allow: Mapping[str, frozenset[str]],
) -> CappedWindows[K]:
    """Merge each key's views of disjoint partitions and cap the labels of the result.

    `partials`: per key (a trailing window's name, a window start), the views of the same
    window from each partition. Each partition capped its own labels; together they may
    hold more values than `max_label_values`, so one fresh `LabelPolicy(max_label_values,
    label_allow)` admits first the busiest values of the longest merged window, then the
    rest in sorted order, and every merged view is capped with it (`cap_labels`). Raises
    ValueError when a key's views are of different windows, ConfigError for an invalid
    cap or allow-list.
    """
    merged = {}
    for key, views in partials.items():
        view = merge_views(views)
        if view is not None:
            merged[key] = view
    labels = LabelPolicy(max_label_values, dict(label_allow))
    if merged:
        admit_busiest(labels, max(merged.values(), key=lambda v: v.end_seconds - v.start_seconds))
    return CappedWindows({key: cap_labels(view, labels) for key, view in merged.items()}, labels)


def merge_views(views: Iterable[WindowView]) -> WindowView | None:
    """The view of the union of the partitions; None for no views.

    Raises ValueError when the views are of different windows.
    """
    out: WindowView | None = None
    for v in views:
        if out is None:
            out = WindowView(v.start_seconds, v.end_seconds, Bucket(), {}, {}, 0, 0, None, 0, 0)
        elif (v.start_seconds, v.end_seconds) != (out.start_seconds, out.end_seconds):
            raise ValueError(f"cannot merge views of different windows: {(v.start_seconds, v.end_seconds)} and {(out.start_seconds, out.end_seconds)}")
        out.flows.merge_flows(v.flows)
        add_counts(out.open_tickets, v.open_tickets)
        add_counts(out.breached_open_tickets, v.breached_open_tickets)
        out.base_customers += v.base_customers
        out.churned_from_base += v.churned_from_base
        out.active_day += v.active_day
        out.active_month += v.active_month
    if out is not None:
        out.stickiness = out.active_day / out.active_month if out.active_month else None
    return out


def admit_busiest(policy: LabelPolicy, view: WindowView) -> LabelPolicy:
    """Admit the view's label values into the policy, busiest first (see `busiest_labels`); return it."""
    for dim, value in busiest_labels(view):
        policy.map(dim, value)
    return policy


def _fold_key(key: LabelKey, policy: LabelPolicy) -> LabelKey:
    if key == OVERALL:
        return key
    dim, value = key
    mapped = policy.map(dim, value)
    return key if mapped == value else (dim, OTHER)


def busiest_labels(view: WindowView) -> list[LabelValue]:
    """Every label value in the view, busiest first (ties by name).

    Busy: tickets created and resolved plus survey responses plus open tickets; for a
    feature, its distinct users. Admitting these into a `LabelPolicy` before `cap_labels`
    keeps the values that carry the traffic when the partitions together saw more values
    than the cap.
    """
    volume: dict[LabelValue, float] = {}
    for key, g in view.flows.groups.items():
        if key != OVERALL:
            volume[LabelValue(key[0], key[1])] = g.created + g.resolved + g.nps_n + g.csat_n + g.ces_n
    for key, n in view.open_tickets.items():
        if key != OVERALL:
            label = LabelValue(key[0], key[1])
            volume[label] = volume.get(label, 0) + n
    for feature, users in view.flows.features.items():
        volume[LabelValue("feature", feature)] = users.count()
    return sorted(volume, key=lambda k: (-volume[k], k))


def cap_labels(view: WindowView, policy: LabelPolicy) -> WindowView:
    """Fold label values beyond the policy's cap into `other` (in place; returns `view`).

    Each partition caps its own labels; a merge of many partitions could still exceed the
    cap, so the merged view is capped again. Values the policy has not admitted yet are
    admitted in sorted order.
    """
    groups = view.flows.groups
    admitted = {k: _fold_key(k, policy) for k in sorted(groups, key=lambda k: (k != OVERALL, k))}
    folded = Bucket()
    for key, g in groups.items():
        folded.group(admitted[key]).merge(g)
    view.flows.groups = folded.groups
    view.open_tickets = _fold_counts(view.open_tickets, policy)
    view.breached_open_tickets = _fold_counts(view.breached_open_tickets, policy)
    features: dict = {}
    for feature in sorted(view.flows.features):
        users = view.flows.features[feature]
        name = policy.map("feature", feature)
        if name in features:
            features[name].merge(users)
        else:
            features[name] = users.copy()
    view.flows.features = features
    return view


def _fold_counts(counts: dict[LabelKey, int], policy: LabelPolicy) -> dict[LabelKey, int]:
    out: dict[LabelKey, int] = {}
    for key in sorted(counts, key=lambda k: (k != OVERALL, k)):
        folded = _fold_key(key, policy)
        out[folded] = out.get(folded, 0) + counts[key]
    return out
