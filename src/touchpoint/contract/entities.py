"""The source entities an operator exports, declared once as data.

Ingest validates against these declarations, the simulator writes files that follow them and
``docs/data-contract.md`` describes them (a test keeps the document in step with this file).
Every entity lands in the warehouse table ``stg_<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DType = Literal["string", "int64", "float64", "boolean", "date", "timestamp"]


@dataclass(frozen=True)
class Column:
    """One column of a source entity.

    ``vocabulary`` names a configured vocabulary (``"channel"``, ``"business"``, ...): the
    value, or one of its aliases, must be in it. ``min_value`` bounds numbers from below.
    ``pii`` columns are replaced on ingest by a keyed hash stored as ``<name>_hash``.
    """

    name: str
    dtype: DType
    required: bool = True
    description: str = ""
    vocabulary: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    pii: bool = False

    @property
    def stored_name(self) -> str:
        return f"{self.name}_hash" if self.pii else self.name


@dataclass(frozen=True)
class OrderCheck:
    """``earlier <= later`` must hold where both are present (e.g. a contact ends after it starts)."""

    earlier: str
    later: str
    reason: str


@dataclass(frozen=True)
class Entity:
    """A source entity: its grain, columns, key and the row checks beyond single columns."""

    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    order_checks: tuple[OrderCheck, ...] = ()
    file_stems: tuple[str, ...] = field(default=())

    @property
    def table(self) -> str:
        """The warehouse table the entity lands in."""
        return f"stg_{self.name}"

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, dtype: DType, description: str, **kwargs) -> Column:
    return Column(name=name, dtype=dtype, description=description, **kwargs)


CUSTOMERS = Entity(
    name="customers",
    grain="one row per customer: the latest profile snapshot",
    key=("customer_id",),
    file_stems=("customers", "customer", "客户资料", "客户"),
    columns=(
        _c("customer_id", "string", "the operator's customer (subscriber) id"),
        _c(
            "msisdn",
            "string",
            "phone number; replaced on ingest by msisdn_hash",
            required=False,
            pii=True,
        ),
        _c("join_date", "date", "date the customer joined the network"),
        _c("brand", "string", "brand", vocabulary="brand"),
        _c("value_tier", "string", "VIP card / value tier", vocabulary="value_tier"),
        _c("region", "string", "city or region the customer belongs to"),
        _c("plan_id", "string", "current tariff plan", required=False),
        _c("birth_year", "int64", "year of birth", required=False, min_value=1900, max_value=2030),
        _c("gender", "string", "F, M or blank", required=False),
        _c(
            "is_group_key_person",
            "boolean",
            "key person of a group (enterprise) customer",
            required=False,
        ),
        _c("is_family_plan", "boolean", "member of a family plan", required=False),
        _c("status", "string", "status at snapshot time", vocabulary="customer_status"),
        _c(
            "leave_date",
            "date",
            "date the customer left; blank while in the network",
            required=False,
        ),
    ),
    order_checks=(OrderCheck("join_date", "leave_date", "leave_before_join"),),
)

BILLS = Entity(
    name="bills",
    grain="one row per customer per bill month",
    key=("customer_id", "bill_month"),
    file_stems=("bills", "bill", "monthly_bills", "账单", "月账单"),
    columns=(
        _c("customer_id", "string", "customer"),
        _c("bill_month", "date", "first day of the bill month"),
        _c("arpu_yuan", "float64", "revenue from the customer in the month", min_value=0),
        _c("voice_minutes", "float64", "billed voice minutes", required=False, min_value=0),
        _c("data_mb", "float64", "data used, MB", required=False, min_value=0),
        _c("sms_count", "int64", "SMS sent", required=False, min_value=0),
        _c("points", "int64", "loyalty points balance at month end", required=False, min_value=0),
        _c("arrears_yuan", "float64", "amount overdue at month end", required=False, min_value=0),
    ),
)

CONTACTS = Entity(
    name="contacts",
    grain="one row per contact in any channel (a hotline call transferred to an agent is two "
    "rows, IVR then agent, sharing call_id)",
    key=("contact_id",),
    file_stems=("contacts", "contact", "接触", "服务接触"),
    columns=(
        _c("contact_id", "string", "unique id of the contact"),
        _c("customer_id", "string", "customer"),
        _c("started_at", "timestamp", "start, local time"),
        _c("ended_at", "timestamp", "end, local time"),
        _c("channel", "string", "service channel", vocabulary="channel"),
        _c("business", "string", "what the customer came for", vocabulary="business"),
        _c("outcome", "string", "how the contact ended", vocabulary="outcome"),
        _c("region", "string", "region where the contact was served", required=False),
        _c("agent_id", "string", "agent, for hotline-agent contacts", required=False),
        _c(
            "store_id",
            "string",
            "store or kiosk, for store, partner-store and kiosk contacts",
            required=False,
        ),
        _c(
            "call_id",
            "string",
            "hotline call id; links IVR and agent rows to stg_ivr_events",
            required=False,
        ),
    ),
    order_checks=(OrderCheck("started_at", "ended_at", "end_before_start"),),
)

IVR_EVENTS = Entity(
    name="ivr_events",
    grain="one row per step of an IVR call",
    key=("call_id", "seq"),
    file_stems=("ivr_events", "ivr", "ivr_log", "IVR日志"),
    columns=(
        _c("call_id", "string", "hotline call id"),
        _c("seq", "int64", "step number within the call, from 1", min_value=1),
        _c("customer_id", "string", "caller"),
        _c("event_at", "timestamp", "time of the step, local time"),
        _c("node_id", "string", "menu node where the step happens ('root' is the main menu)"),
        _c("event_type", "string", "what happened", vocabulary="ivr_event_type"),
        _c("key", "string", "key pressed (0-9, *, #) for key and invalid events", required=False),
    ),
)

PAYMENTS = Entity(
    name="payments",
    grain="one row per payment or top-up",
    key=("payment_id",),
    file_stems=("payments", "payment", "缴费", "交费"),
    columns=(
        _c("payment_id", "string", "unique id"),
        _c("customer_id", "string", "customer"),
        _c("paid_at", "timestamp", "time of payment, local time"),
        _c("channel", "string", "channel used to pay", vocabulary="channel"),
        _c("amount_yuan", "float64", "amount paid", min_value=0),
    ),
)

ORDERS = Entity(
    name="orders",
    grain="one row per product order (subscribe or unsubscribe)",
    key=("order_id",),
    file_stems=("orders", "order", "product_orders", "订购"),
    columns=(
        _c("order_id", "string", "unique id"),
        _c("customer_id", "string", "customer"),
        _c("ordered_at", "timestamp", "time of the order, local time"),
        _c("action", "string", "subscribe or unsubscribe", vocabulary="order_action"),
        _c("product_id", "string", "product (data package, family plan, group product...)"),
        _c("channel", "string", "channel the order came through", vocabulary="channel"),
    ),
)

COMPLAINTS = Entity(
    name="complaints",
    grain="one row per complaint",
    key=("complaint_id",),
    file_stems=("complaints", "complaint", "投诉"),
    columns=(
        _c("complaint_id", "string", "unique id"),
        _c("customer_id", "string", "customer"),
        _c("created_at", "timestamp", "time the complaint was filed, local time"),
        _c("channel", "string", "channel it came through", vocabulary="channel"),
        _c("category", "string", "complaint category (free text or the operator's codes)"),
        _c("resolved_at", "timestamp", "time it was closed; blank while open", required=False),
    ),
    order_checks=(OrderCheck("created_at", "resolved_at", "resolved_before_created"),),
)

SURVEYS = Entity(
    name="surveys",
    grain="one row per satisfaction survey sent; the reply, if any, as the customer typed it",
    key=("survey_id",),
    file_stems=("surveys", "survey", "survey_replies", "满意度调查"),
    columns=(
        _c("survey_id", "string", "unique id"),
        _c("customer_id", "string", "customer"),
        _c("contact_id", "string", "the contact the survey asks about", required=False),
        _c("survey_channel", "string", "sms or ivr", vocabulary="survey_channel"),
        _c("sent_at", "timestamp", "time sent, local time"),
        _c("replied_at", "timestamp", "time of the reply; blank if none", required=False),
        _c("reply_text", "string", "raw reply (digits, words, emoji, typos...)", required=False),
        _c(
            "strategy_id",
            "string",
            "the survey strategy that chose the contact (the id in `touchpoint survey select`)",
            required=False,
        ),
    ),
    order_checks=(OrderCheck("sent_at", "replied_at", "reply_before_sent"),),
)

CAMPAIGN_RESPONSES = Entity(
    name="campaign_responses",
    grain="one row per work order delivered to a customer in a campaign",
    key=("work_order_id",),
    file_stems=("campaign_responses", "campaign_response", "work_order_results", "营销反馈"),
    columns=(
        _c("work_order_id", "string", "unique id"),
        _c("campaign_id", "string", "campaign"),
        _c("customer_id", "string", "customer"),
        _c("channel", "string", "channel the offer went through", vocabulary="channel"),
        _c("sent_at", "timestamp", "time delivered, local time"),
        _c("response", "string", "what the customer did", vocabulary="campaign_response"),
        _c("responded_at", "timestamp", "time of the response, if any", required=False),
    ),
    order_checks=(OrderCheck("sent_at", "responded_at", "response_before_sent"),),
)

CALL_RECORDS = Entity(
    name="call_records",
    grain="one row per hotline call as the contact centre's switch exports it (a call detail "
    "record): when it entered and left the IVR, the agent queue and the agent, and how it ended",
    key=("call_id",),
    file_stems=("call_records", "call_record", "call_detail_records", "cdr", "话单", "呼叫记录"),
    columns=(
        _c("call_id", "string", "unique id of the call"),
        _c(
            "arrived_at",
            "timestamp",
            "the call reached the contact centre (entered the IVR, or the queue when it "
            "skipped the IVR), local time",
        ),
        _c("ivr_exit", "timestamp", "left the IVR; blank without an IVR", required=False),
        _c(
            "queue_start",
            "timestamp",
            "entered the agent queue; blank when the call never queued",
            required=False,
        ),
        _c(
            "queue_exit",
            "timestamp",
            "left the queue (an agent answered or the caller hung up)",
            required=False,
        ),
        _c(
            "service_start",
            "timestamp",
            "an agent answered; blank when none did",
            required=False,
        ),
        _c("service_end", "timestamp", "the agent's part of the call ended", required=False),
        _c(
            "outcome",
            "string",
            "how the call ended (a hang-up is in the IVR when queue_start is blank, else "
            "while waiting)",
            vocabulary="call_outcome",
        ),
        _c("agent_id", "string", "the agent who served the call", required=False),
        _c("queue", "string", "queue, skill or service line the call waited in", required=False),
        _c("call_type", "string", "the export's own call type (free text)", required=False),
        _c("priority", "int64", "queue priority (0 = normal)", required=False, min_value=0),
        _c("customer_id", "string", "the caller's customer id, when known", required=False),
        _c(
            "msisdn",
            "string",
            "the caller's phone number; replaced on ingest by msisdn_hash",
            required=False,
            pii=True,
        ),
    ),
    order_checks=(
        OrderCheck("arrived_at", "ivr_exit", "ivr_exit_before_arrival"),
        OrderCheck("arrived_at", "queue_start", "queue_before_arrival"),
        OrderCheck("queue_start", "queue_exit", "queue_exit_before_start"),
        OrderCheck("arrived_at", "service_start", "service_before_arrival"),
        OrderCheck("service_start", "service_end", "service_end_before_start"),
    ),
)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        CUSTOMERS,
        BILLS,
        CONTACTS,
        IVR_EVENTS,
        PAYMENTS,
        ORDERS,
        COMPLAINTS,
        SURVEYS,
        CAMPAIGN_RESPONSES,
        CALL_RECORDS,
    )
}
