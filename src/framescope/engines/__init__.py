"""Engines: the stage sequence, written once, and the executors that run it.

- `pipeline`     `run(cfg)` and `run_stages(study, executor)`: ingest -> embed -> themes ->
                 sentence measures -> emphasis -> framing -> write;
- `study`        `StudyRun`: one run's config, inputs, codebook, frames, embedder, progress, timings;
- `stages`       the stage functions the sequence and both executors call (partitions, fit sample,
                 fit, theme assignment, sentence measures, themes table);
- `local`        `LocalExecutor`: every partition in this process;
- `distributed`  `DaskExecutor`: one task per partition on a dask.distributed cluster;
- `write`        the study folder, written atomically, with its manifest.
"""
