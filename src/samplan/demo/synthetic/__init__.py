"""A synthetic county of any size, for benchmarks: `manage.py generate_county --cases N`.

This is synthetic benchmark data, never real and not the demo. It bypasses
samplan.cases.services on purpose: the services lock each case, check the actor's rights and
write an audit row per step, which is right for real work and would take hours for 100 000
cases. What it writes has the shapes the services leave behind, so that pages and queries meet
realistic data: every case reached its state along the transition table, with one timeline
event per step; consent scopes cover the organisations of the participating units; each called
unit has an invitation; an established plan has goals, interventions and attendees, and a
follow-up leaves a draft of the next version copied from it, some of them put before the person
for approval; the units taking part exchange case messages, some asking for acknowledgement,
and the coordinator has read the older ones. No audit events are written: nobody has read or
changed anything yet.

The directory (a few hundred units, about a thousand staff) goes in with bulk_create. The cases
and everything hanging on them go in as plain rows with keys the generator hands out itself,
in batches: COPY on PostgreSQL, executemany elsewhere. That skips the ORM's per-value work and
is about twice as fast as bulk_create (measured: docs/performance.md). Handing out keys means
that nothing else may write to these tables meanwhile: generate into a benchmark database. The
sequences are set past the new keys at the end, so normal inserts carry on afterwards.
"""

from .generator import CountyGenerator, generate_county
from .vocabulary import BATCH

__all__ = ["BATCH", "CountyGenerator", "generate_county"]
