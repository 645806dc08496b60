"""Combine window views of disjoint partitions into the view of the whole stream.

Every input topic is keyed by the entity its state belongs to (tickets by ticket_id,
customers and orders by customer_id), so partitions hold disjoint tickets and customers:
flows merge as sketches, step functions (open tickets, churn base) and DAU/MAU add up.
"""

from __future__ import annotations

from collections.abc import Iterable

from kpi.aggregates import OVERALL, Bucket, LabelKey
from kpi.labels import OTHER, LabelPolicy
from kpi.series import WindowView


def _add_into(target: dict, source: dict) -> None:
    for key, n in source.items():
        target[key] = target.get(key, 0) + n


def merge_views(views: Iterable[WindowView]) -> WindowView | None:
    """The view of the union of the partitions; None for no views."""
    out: WindowView | None = None
    for v in views:
        if out is None:
            out = WindowView(v.start_seconds, v.end_seconds, Bucket(), {}, {}, 0, 0, None, 0, 0)
        elif (v.start_seconds, v.end_seconds) != (out.start_seconds, out.end_seconds):
            raise ValueError(f"cannot merge views of different windows: {(v.start_seconds, v.end_seconds)} and {(out.start_seconds, out.end_seconds)}")
        out.flows.merge_flows(v.flows)
        _add_into(out.open_tickets, v.open_tickets)
        _add_into(out.breached_open_tickets, v.breached_open_tickets)
        out.base_customers += v.base_customers
        out.churned_from_base += v.churned_from_base
        out.active_day += v.active_day
        out.active_month += v.active_month
    if out is not None:
        out.stickiness = out.active_day / out.active_month if out.active_month else None
    return out


def admit_busiest(policy: LabelPolicy, view: WindowView) -> LabelPolicy:
    """Admit the view's busiest label values into the policy first (see `busiest_labels`)."""
    for dim, value in busiest_labels(view):
        policy.map(dim, value)
    return policy


def _fold_key(key: LabelKey, policy: LabelPolicy) -> LabelKey:
    if key == OVERALL:
        return key
    dim, value = key
    mapped = policy.map(dim, value)
    return key if mapped == value else (dim, OTHER)


def busiest_labels(view: WindowView) -> list[tuple[str, str]]:
    """(dim, value) of every label in the view, busiest first (ties by name).

    Admitting these into a `LabelPolicy` before `cap_labels` keeps the values that carry
    the traffic when the partitions together saw more values than the cap.
    """
    volume: dict[tuple[str, str], float] = {}
    for key, g in view.flows.groups.items():
        if key != OVERALL:
            volume[(key[0], key[1])] = g.created + g.resolved + g.nps_n + g.csat_n + g.ces_n
    for key, n in view.open_tickets.items():
        if key != OVERALL:
            volume[(key[0], key[1])] = volume.get((key[0], key[1]), 0) + n
    for feature, users in view.flows.features.items():
        volume[("feature", feature)] = users.count()
    return sorted(volume, key=lambda k: (-volume[k], k))


def cap_labels(view: WindowView, policy: LabelPolicy) -> WindowView:
    """Fold label values beyond the policy's cap into `other`.

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
