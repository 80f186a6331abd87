"""Packed runs (`--pack K`): the runs of up to K trials of one architecture trained side by
side in one compiled model (`kerashp.tuning.packing`), each leaving the files of a run
trained alone (history, TensorBoard run, checkpoint, summary, weights)."""

from __future__ import annotations

import logging
import pathlib
import shutil
from typing import Hashable

import keras

from kerashp.data import DataSplits
from kerashp.errors import last_line
from kerashp.storage import layout, records
from kerashp.tuning.backup import AtomicBackupAndRestore
from kerashp.tuning.packing import ReplicaCallbacks, pack_models, replicas
from kerashp.tuning.runs import KerasRuns

logger = logging.getLogger("kerashp")


class PackedRuns:
    """Groups a search's new trials by `Study.pack_key` and trains each group's runs packed.

    Args:
        runs: the executor whose plans, recording and finishing the packed runs share.
    """

    def __init__(self, runs: KerasRuns):
        self.runs = runs

    def pack_key(self, trial, index: int) -> Hashable | None:
        """Trials with equal keys train packed: same architecture, batch size, full
        length, stage and first epoch (a promoted trial continues from its checkpoint)."""
        hp = trial.hyperparameters
        if self.runs.settings.training.early_stopping:
            return None  # per-run early stopping does not pack
        key = self.runs.study.pack_key(hp)
        if key is None:
            return None
        stage, full = self.runs.stage_epochs(trial)
        first_epoch = layout.checkpoint_epoch(self.runs.execution_dir(trial.trial_id, index))
        return key, full, stage, first_epoch, self.runs.study.trial_batch_size(hp)

    def train_packs(self, trials, data: DataSplits) -> None:
        """Trains each group of packable trials among `trials` together, run by run (seed by seed)."""
        for index in range(self.runs.settings.training.seeds):
            groups: dict[Hashable, list] = {}
            for trial in sorted(trials, key=lambda trial: trial.trial_id):  # one replica order across restarts
                if self.runs.run_finished(self.runs.execution_dir(trial.trial_id, index), self.runs.stage_epochs(trial)[0]):
                    continue
                key = self.pack_key(trial, index)
                if key is not None:
                    groups.setdefault(key, []).append(trial)
            if index == 0 and len(trials) > 1 and not any(len(group) > 1 for group in groups.values()):
                logger.info("--pack: none of trials %s can share a packed model; training them one by one",
                            ", ".join(trial.trial_id for trial in trials))
            for pending in groups.values():
                if len(pending) < 2:
                    continue
                try:
                    self.train_pack(pending, index, data)
                except Exception as error:  # e.g. out of memory: the trials still run, one by one
                    logger.warning("packed training of trials %s failed (%s: %s); training them one by one",
                                   ", ".join(trial.trial_id for trial in pending), type(error).__name__,
                                   last_line(str(error)))
                    for trial in pending:  # they start again from their own checkpoint: drop the packed attempt's epochs
                        directory = self.runs.execution_dir(trial.trial_id, index)
                        records.truncate_history(directory / records.HISTORY_FILE,
                                                 layout.checkpoint_epoch(directory))
                finally:
                    keras.backend.clear_session()  # collects garbage itself

    def train_pack(self, trials, index: int, data: DataSplits) -> None:
        """Trains run `index` of `trials` side by side in one packed model and leaves
        each run's files (history, TensorBoard run, summary, final weights) as if
        it had trained alone."""
        plans = [self.runs.plan(trial, index) for trial in trials]
        epochs, full_epochs = plans[0].stage, plans[0].full  # equal in a pack (see _pack_key)
        logger.info("training trials %s packed in one model (run %d)", ", ".join(p.trial_id for p in plans), index)
        pack_dir = (pathlib.Path(self.runs.project_dir) / "packs"
                    / f"run{index}_to{epochs}_trials_{'_'.join(p.trial_id for p in plans)}")

        packed = self.packed_model_for([plan.hp for plan in plans], plans[0].seed)
        models = replicas(packed)
        resumed_epoch = layout.checkpoint_epoch(pack_dir)
        initial_epoch = AtomicBackupAndRestore.committed_epoch(plans[0].backup)
        if not resumed_epoch and initial_epoch:  # promoted trials: each replica from its own checkpoint
            for model, plan in zip(models, plans):
                AtomicBackupAndRestore.load_checkpoint(model, plan.backup)
        resumed_from = max(resumed_epoch, initial_epoch)
        for plan in plans:  # the epochs logged after the checkpoint the pack resumes from are trained again
            records.truncate_history(plan.directory / records.HISTORY_FILE, resumed_from)
        self.runs.fit(packed, plans, data, first_epoch=min(resumed_from, epochs - 1),
                  initial_epoch=initial_epoch,
                  recording=[ReplicaCallbacks(models, [self.runs.run_callbacks(plan) for plan in plans])],
                  backup=AtomicBackupAndRestore(str(layout.checkpoint_dir(pack_dir)),
                                                min_interval_s=self.runs.study.backup_interval_s,
                                                cost=self.runs.checkpoint_cost))
        for model, plan in zip(models, plans):  # where each trial continues if promoted
            if epochs < full_epochs:
                AtomicBackupAndRestore.write_checkpoint(model, plan.backup, epochs)
            else:
                shutil.rmtree(plan.backup, ignore_errors=True)
        for model, plan in zip(models, plans):
            self.runs.finish_run(plan, model, lambda m=model, p=plan: self.runs.study.evaluate(m, data, p.batch_size),
                             packed_trials=len(plans))
        shutil.rmtree(pack_dir, ignore_errors=True)

    def packed_model_for(self, hps, seed: int) -> keras.Model:
        """A packed model of the study's models for `hps`, each initialised from `seed`
        exactly as it would be alone."""
        with self.runs.fresh_build_scope():
            models = []
            for hp in hps:
                keras.utils.set_random_seed(seed)
                models.append(self.runs.study.build(hp))
            return pack_models(models, jit_compile=self.runs.fast_path.jit_compile,
                               steps_per_execution=self.runs.fast_path.steps_per_execution)
