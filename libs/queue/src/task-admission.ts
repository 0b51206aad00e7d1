import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { KAT_SETTINGS, KatSettings, TaskAdmissionRepository } from '@kat/domain';
import { TaskIntake } from './task-intake';

/** The least time between two rounds of one worker. */
const ROUND_GAP_MS = 10;

/**
 * The admission loop of a worker: it offers the worker's slots (dispatch_worker) and, in rounds,
 * admits the next waiting plugin tasks (TaskAdmissionRepository.admitNext) and hands them to the
 * queue in rank order. Every worker runs it; a round is serialized across all of them by an
 * advisory lock, so any one suffices and none is special. A round follows ROUND_GAP_MS after one
 * that admitted something, at once when a task ends or joins the line here, and every
 * ADMIT_INTERVAL_MS anyway.
 * Upkeep, every heartbeat interval: refresh the slots, hand back tasks of dead workers (which
 * frees their rate-limit slots within the heartbeat timeout), forget starts older than the window.
 */
@Injectable()
export class TaskAdmission {
  private readonly logger = new Logger(TaskAdmission.name);
  private readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private slots = 0;
  private started = false;
  private roundTimer?: NodeJS.Timeout;
  private upkeepTimer?: NodeJS.Timeout;
  private current: Promise<void> = Promise.resolve();
  /** Deliveries, one after another in admission order; a round's SQL overlaps the last one's addBulk. */
  private delivery: Promise<unknown> = Promise.resolve();
  private rounding = false;
  private again = false;
  private unlisten?: () => void;

  constructor(
    private readonly repository: TaskAdmissionRepository,
    private readonly intake: TaskIntake,
    @Inject(KAT_SETTINGS) private readonly settings: KatSettings,
  ) {}

  /** Offers `slots` plugin-task slots of this worker and starts admitting. */
  async start(slots: number): Promise<void> {
    this.slots = slots;
    this.started = true;
    await this.upkeep();
    this.upkeepTimer = setInterval(() => void this.upkeep(), this.settings.HEARTBEAT_INTERVAL_MS);
    this.unlisten = this.intake.onWaiting(() => this.poke());
    this.poke();
  }

  /** Withdraws this worker's slots (no more admissions for it) and waits for a round in progress. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.upkeepTimer);
    clearTimeout(this.roundTimer);
    this.unlisten?.();
    await this.current;
    await this.delivery;
    await this.repository.forgetWorker(this.workerId).catch(() => undefined);
  }

  /** Something changed (a task ended, tasks joined the line): a round now rather than at the next tick. */
  poke(): void {
    if (!this.started) return;
    if (this.rounding) {
      this.again = true;
      return;
    }
    clearTimeout(this.roundTimer);
    this.rounding = true;
    this.current = this.rounds().finally(() => {
      this.rounding = false;
      if (this.started) this.roundTimer = setTimeout(() => this.poke(), this.settings.ADMIT_INTERVAL_MS);
    });
  }

  /** Rounds while they admit something or were asked for again meanwhile. */
  private async rounds(): Promise<void> {
    for (;;) {
      this.again = false;
      let admitted = 0;
      try {
        const tasks = await this.repository.admitNext({
          liveSeconds: (3 * this.settings.HEARTBEAT_INTERVAL_MS) / 1000,
          tasksPerSlot: this.settings.TASKS_PER_SLOT,
          rateWindowSeconds: this.settings.RATE_WINDOW_SECONDS,
        });
        admitted = tasks.length;
        // A failed delivery leaves the tasks admitted; reconcile-tasks queues them (requeueMissing).
        if (admitted > 0) {
          this.delivery = this.delivery
            .then(() => this.intake.deliverAdmitted(tasks))
            .catch((error) => this.logger.warn(`Delivery of admitted tasks failed: ${(error as Error).message}`));
        }
      } catch (error) {
        this.logger.warn(`Admission round failed: ${(error as Error).message}`);
        return;
      }
      if (!this.started || (admitted === 0 && !this.again)) return;
      // A short pause lets room gather: back-to-back rounds would each admit a task or two, and
      // cost a transaction each (measured: the pipeline ran slower without it).
      await new Promise((resolve) => setTimeout(resolve, ROUND_GAP_MS));
    }
  }

  private async upkeep(): Promise<void> {
    try {
      await this.repository.registerWorker(this.workerId, this.slots);
      await this.intake.recoverStale(this.settings.STALE_AFTER_SECONDS, this.settings.MAX_ATTEMPTS);
      await this.repository.pruneStarts(this.settings.RATE_WINDOW_SECONDS);
    } catch (error) {
      this.logger.warn(`Admission upkeep failed: ${(error as Error).message}`);
    }
  }
}
