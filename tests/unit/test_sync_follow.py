"""`warehouse sync --follow`: which mirrors a round deploys, and that one source that stops (or a deploy that
fails) is reported while the other sources are still followed. A fake context stands for the services."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from warehouse.errors import WarehouseError
from warehouse.lifecycle.apply import Action
from warehouse.sync.evolution import SchemaChangeStopped
from warehouse.sync.follow import follow, follow_once, to_deploy
from warehouse.sync.mirror import SyncReport


def report(source: str, models: tuple[str, ...], changes: tuple[str, ...] = ()) -> SyncReport:
    return SyncReport(source, tuple(m.split("_")[-1] for m in models), models, changes, ())


@pytest.mark.parametrize(
    ("reports", "deployed"),
    [
        ([], []),
        ([report("shop", ("ods_orders", "ods_pay"))], []),  # nothing changed: nothing to deploy
        ([report("shop", ("ods_orders", "ods_pay"), ("orders: added column note (text)",))], ["ods_orders", "ods_pay"]),
        (  # every mirror of a changed source (one job), none of an unchanged one
            [report("shop", ("ods_orders",), ("coupons: new table",)), report("crm", ("crm_users",))],
            ["ods_orders"],
        ),
    ],
)
def test_a_round_deploys_every_mirror_of_each_source_that_changed(
    reports: list[SyncReport], deployed: list[str]
) -> None:
    assert to_deploy(reports) == deployed


@dataclass(frozen=True)
class Source:
    name: str


@dataclass
class FakeContext:
    results: dict[str, SyncReport | WarehouseError]
    deploy_fails: bool = False
    runs: list[tuple[str, bool]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def synced_sources(self) -> list[Source]:
        return [Source(name) for name in self.results]

    def sync(self, sources: list[str]) -> list[SyncReport]:
        result = self.results[sources[0]]
        if isinstance(result, WarehouseError):
            raise result
        return [result]

    def run(self, selector: str, sync_first: bool = True) -> list[Action]:
        self.runs.append((selector, sync_first))
        if self.deploy_fails:
            raise WarehouseError("the new version failed: / by zero", hint="fix the model")
        return [Action(model, "swapped") for model in selector.split()]

    def progress(self, message: str) -> None:
        self.said.append(message)


def stopped() -> SchemaChangeStopped:
    return SchemaChangeStopped("table tags: column label: varchar(20) -> varchar(10) is not a widening", hint="evolve")


def test_a_source_its_policy_stops_is_reported_and_the_others_are_deployed() -> None:
    context = FakeContext({"pshop": stopped(), "mshop": report("mshop", ("ods_m_orders",), ("orders: added column",))})
    round_ = follow_once(context)  # type: ignore[arg-type]
    assert context.runs == [("ods_m_orders", False)]  # synced just now: the run does not sync (and stop) again
    assert [a.action for a in round_.actions] == ["swapped"]
    assert round_.problems == [
        "pshop: table tags: column label: varchar(20) -> varchar(10) is not a widening (fix: evolve)"
    ]


def test_a_deploy_that_fails_is_reported_and_following_goes_on() -> None:
    context = FakeContext({"mshop": report("mshop", ("ods_m_orders",), ("coupons: new table",))}, deploy_fails=True)
    sleeps: list[float] = []
    follow(context, 5.0, rounds=2, sleep=sleeps.append)  # type: ignore[arg-type]
    assert len(context.runs) == 2 and sleeps == [5.0]  # no sleep after the last round
    assert (
        "skipped this round: deploying ods_m_orders: the new version failed: / by zero (fix: fix the model); "
        "the live mirrors keep running" in context.said
    )
    assert "sync mshop: coupons: new table" in context.said


def test_a_quiet_round_deploys_nothing() -> None:
    context = FakeContext({"mshop": report("mshop", ("ods_m_orders",))})
    assert follow_once(context).actions == [] and context.runs == []  # type: ignore[arg-type]


def test_following_nothing_says_so_and_returns() -> None:
    context = FakeContext({})
    follow(context, 5.0, sleep=lambda seconds: None)  # type: ignore[arg-type]  # no rounds limit: must return
    assert context.said == ["no source declares `sync:`: nothing to follow (see README 'Whole-database sync')"]
