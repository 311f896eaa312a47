/**
 * Where everything lives in Redis, under one prefix so deployments (and test runs) can share a
 * server. BullMQ's own keys are `<prefix>:analysis:*`.
 */
import { createHash } from "node:crypto"

/** The BullMQ queue of analysis runs; a job's id is its task's id. */
export const QUEUE_NAME = "analysis"

/** The key layout under `prefix`. */
export const keysOf = (prefix: string) => ({
  prefix,
  /** A task as JSON of core's `Task` Schema. */
  task: (id: string) => `${prefix}:task:${id}`,
  /** Sorted set of unfinished task ids, scored by creation time. */
  activeTasks: `${prefix}:tasks:active`,
  /** Sorted set of every task id, scored by session expiry. */
  taskExpiry: `${prefix}:tasks:expiry`,
  /** An `Idempotency-Key` of a tenant, hashed so that neither can shape the key. */
  idempotency: (tenant: string, key: string) =>
    `${prefix}:idempotency:${createHash("sha256").update(tenant).update("\u0000").update(key).digest("hex")}`,
  /** An upload's metadata (JSON); its content is in `uploadChunk` keys 0 to `chunks - 1`. */
  upload: (id: string) => `${prefix}:upload:${id}`,
  uploadChunk: (id: string, index: number) => `${prefix}:upload:${id}:${index}`,
  /** A screenshot: a hash of `bytes`, `contentType`, `expiresAt`. */
  file: (key: string) => `${prefix}:file:${key}`,
  /** The set of a session's screenshot keys, for deleting them together. */
  sessionFiles: (sessionId: string) => `${prefix}:session-files:${sessionId}`,
  /**
   * The webhook outbox: sorted set of the ids of ended tasks whose callback is owed, scored by when
   * it is next due (while one is being delivered, by when its claim runs out).
   */
  webhooksDue: `${prefix}:webhooks:due`,
  /** Hash of task id to the delivery attempts of its callback started so far. */
  webhookAttempts: `${prefix}:webhooks:attempts`,
  /** Hash of task id to the token of the deliverer holding its callback's claim. */
  webhookClaims: `${prefix}:webhooks:claims`,
  /** Pub/sub channel: a task id published here is stopped by the worker running it. */
  stopChannel: `${prefix}:${QUEUE_NAME}:stop`
})

/** The key layout of one prefix. */
export type Keys = ReturnType<typeof keysOf>
