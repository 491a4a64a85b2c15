"""The CockroachDB stand-in's cluster: nodes with their localities, the catalog of multi-region
databases, and where each range's replicas live, so availability follows CockroachDB's rules.

CockroachDB itself cannot run here (it is not open-source software), and the collection relies on
its behaviour, not its storage engine. What this model keeps from CockroachDB:

- A node belongs to a cluster once it has joined (its ``--join`` list names a node of it) and the
  cluster has been initialised exactly once (``cockroach init``; a second one fails).
- A node is *live* while it runs and its region is not down (``region-down`` makes every node of
  that region unreachable, as a partitioned region is to the others).
- Every table is one range. Its voting replicas are placed by the database's survival goal:
  ``region`` puts 5 voters (or ``num_replicas``) as 2-2-1 over three regions, the home region
  first, so no region holds a majority; ``zone`` puts 3 voters in the home region (the primary
  region, or the table's ``REGIONAL BY TABLE IN`` region). A database without regions spreads
  3 replicas over the regions it can.
- A read or write of a range succeeds only when a majority of its voters' nodes are live; else it
  fails with CockroachDB's unavailability error (SQLSTATE 58C00). Nothing committed is ever lost:
  the storage is shared by the nodes and survives their loss.

Storage is SQLite, one file per database under the cluster's directory (``sql.py`` runs the
statements); this module only decides what may run.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from mc_sandbox.crdb.pgwire import SqlError

SURVIVAL_GOALS = ("zone", "region")
RANGE_UNAVAILABLE = "58C00"


@dataclass
class Node:
    """One stand-in node: ``locality`` is its ``--locality`` tiers (cloud, region, zone)."""

    node_id: int
    locality: dict
    sql_address: str = ""
    running: bool = True
    draining: bool = False

    @property
    def region(self) -> str:
        return self.locality.get("region", "")

    @property
    def cloud(self) -> str:
        return self.locality.get("cloud", "")

    def locality_text(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.locality.items())


@dataclass
class Table:
    name: str
    # global | regional_by_row | regional_by_table (home: the primary region) | regional_by_table:<region>
    locality: str = "regional_by_table"
    columns: list = field(default_factory=list)  # [(name, declared type)]


@dataclass
class Database:
    name: str
    primary_region: str | None = None
    regions: list = field(default_factory=list)
    survival_goal: str = "zone"
    num_replicas: int | None = None
    tables: dict = field(default_factory=dict)

    def replicas(self) -> int:
        if self.num_replicas is not None:
            return self.num_replicas
        return 5 if self.survival_goal == "region" and self.primary_region else 3


@dataclass
class Schedule:
    """A backup schedule (``CREATE SCHEDULE ... FOR BACKUP``), as ``SHOW SCHEDULES`` lists it.

    ``kind`` is ``full`` or ``incremental``: CockroachDB makes a pair of schedules with the same
    label when full backups recur less often than the backups themselves."""

    schedule_id: int
    label: str
    database: str
    destination: str  # the collection URI as given, secrets included (never shown)
    recurrence: str
    kind: str = "full"
    revision_history: bool = True
    owner: str = "root"
    status: str = "ACTIVE"  # ACTIVE | PAUSED
    state: str = "pending"
    created: float = 0.0
    next_run: float | None = None
    paired_with: int | None = None


@dataclass
class Job:
    """A job a schedule started (``crdb_internal.jobs``): its status and where it wrote."""

    job_id: int
    schedule_id: int | None
    job_type: str
    description: str
    status: str = "running"  # running | succeeded | failed
    created: float = 0.0
    finished: float | None = None
    error: str = ""


class Cluster:
    """Nodes, catalog and availability of one stand-in cluster.

    ``is_down(cloud, region)`` is the sandbox's fault manager's (``FaultManager.is_down``).
    """

    def __init__(self, name: str, is_down=None):
        self.name = name
        self.cluster_id = str(uuid.uuid4())
        self.is_down = is_down or (lambda cloud, region: False)
        self.nodes: dict[int, Node] = {}
        self.initialized = False
        self.databases: dict[str, Database] = {"defaultdb": Database("defaultdb"), "system": Database("system")}
        self.settings: dict[str, str] = {}
        # SQL users: name -> password (None: certificate only); ``root`` is always there.
        self.users: dict[str, str | None] = {"root": None}
        self.nologin: set[str] = set()
        self.grants: dict[tuple[str, str], set[str]] = {}  # (database, grantee) -> privileges
        self.schedules: dict[int, Schedule] = {}
        self.jobs: list[Job] = []
        self.lock = threading.RLock()
        self._next_id = 1000000000000000000

    def new_id(self) -> int:
        """A fresh schedule or job id (CockroachDB's are large unique integers)."""
        with self.lock:
            self._next_id += 1
            return self._next_id

    # -- membership ------------------------------------------------------------------------

    def add_node(self, locality: dict, sql_address: str = "") -> Node:
        with self.lock:
            node = Node(len(self.nodes) + 1, dict(locality), sql_address)
            self.nodes[node.node_id] = node
            return node

    def init(self) -> None:
        """``cockroach init``: once per cluster."""
        with self.lock:
            if self.initialized:
                raise SqlError("55000", "cluster has already been initialized")
            self.initialized = True

    def live(self, node: Node) -> bool:
        return node.running and not self.is_down(node.cloud, node.region)

    def cluster_regions(self) -> dict[str, list[str]]:
        """Region -> its zones, from the nodes' localities (CockroachDB's cluster regions)."""
        regions: dict[str, list[str]] = {}
        for node in self.nodes.values():
            if not node.region:
                continue
            zones = regions.setdefault(node.region, [])
            zone = node.locality.get("zone")
            if zone and zone not in zones:
                zones.append(zone)
        return {region: sorted(zones) for region, zones in sorted(regions.items())}

    # -- placement and availability ----------------------------------------------------------

    def _region_nodes(self, region: str, count: int, seed: str) -> list[Node]:
        """``count`` nodes of ``region``, spread over its zones, chosen stably per range."""
        nodes = sorted((n for n in self.nodes.values() if n.region == region), key=lambda n: n.node_id)
        if not nodes:
            return []
        start = sum(seed.encode()) % len(nodes)
        ordered = nodes[start:] + nodes[:start]
        return ordered[:count]

    def home_region(self, database: Database, table: Table | None) -> str | None:
        if table is not None and table.locality.startswith("regional_by_table:"):
            return table.locality.partition(":")[2]
        return database.primary_region

    def voters(self, database: Database, table: Table | None = None) -> list[Node]:
        """The nodes holding the voting replicas of ``table``'s range (the database's own range
        when ``table`` is None)."""
        count = database.replicas()
        seed = f"{database.name}.{table.name if table else ''}"
        home = self.home_region(database, table)
        if home is None:
            # No multi-region configuration: one replica per region first, then fill up.
            regions = list(self.cluster_regions())
            picked: list[Node] = []
            for region in regions:
                picked += self._region_nodes(region, 1, seed)
            rest = [n for n in sorted(self.nodes.values(), key=lambda n: n.node_id) if n not in picked]
            return (picked + rest)[:count]
        if database.survival_goal == "zone":
            return self._region_nodes(home, count, seed)
        # REGION survival: no region holds a majority; the home region holds as many as any.
        regions = [home] + [r for r in database.regions if r != home]
        cap = (count - 1) // 2
        shares = dict.fromkeys(regions, 0)
        left = count
        while left:
            progressed = False
            for region in regions:
                if left and shares[region] < cap and shares[region] < len(self._region_nodes(region, count, seed)):
                    shares[region] += 1
                    left -= 1
                    progressed = True
            if not progressed:
                break
        out: list[Node] = []
        for region in regions:
            out += self._region_nodes(region, shares[region], seed)
        return out

    def check_available(self, database: Database, table: Table | None = None) -> None:
        """Raise CockroachDB's unavailability error unless a majority of the range's voters live."""
        voters = self.voters(database, table)
        live = [n for n in voters if self.live(n)]
        if voters and len(live) * 2 <= len(voters):
            what = f'table "{database.name}.{table.name}"' if table else f'database "{database.name}"'
            raise SqlError(
                RANGE_UNAVAILABLE,
                f"replica unavailable: the range of {what} has {len(live)} of {len(voters)} voting "
                "replicas live and cannot reach quorum",
                hint="the range becomes available again when a majority of its replicas' nodes return",
            )

    def range_report(self) -> list[dict]:
        """Every range: its voters, how many live, and whether it is unavailable or under-replicated."""
        out = []
        with self.lock:
            for database in self.databases.values():
                if database.name == "system":
                    continue
                for table in [None, *database.tables.values()]:
                    voters = self.voters(database, table)
                    live = sum(1 for n in voters if self.live(n))
                    out.append(
                        {
                            "database": database.name,
                            "table": table.name if table else None,
                            "voters": [n.node_id for n in voters],
                            "live_voters": live,
                            "want": database.replicas(),
                            "unavailable": bool(voters) and live * 2 <= len(voters),
                            "under_replicated": live < database.replicas(),
                        }
                    )
        return out
