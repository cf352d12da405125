"""The job lifecycle, read in one place: compile -> decide -> apply -> observe.

- compile   the project's models into Flink jobs (warehouse/compiler.py), validated by Flink's planner
            without running them (validate.py);
- decide    one pure function from the facts about a model (its compiled job, its registry record, what Flink
            says of its job, its table in the store) to what `run` does (decide.py); a *plan* is the list of
            those decisions for a selection, with their reasons and diffs (plan.py), the same for `plan` and
            `run`;
- apply     the plan carried out, upstream first (apply.py), jobs submitted and stopped through the SQL
            Gateway and the JobManager (engine.py), the clean ones waited for while they read their snapshot
            (snapshot.py), every job recorded in the registry (registry.py); a job whose queries changed is
            rebuilt beside its live tables and swapped in once caught up (bluegreen.py);
- observe   what became of each recorded job (observe.py), what `status` shows (status.py), and what brings
            jobs back after a restart without parsing the project (recover.py: `down`, `up`, the supervisor).
"""
