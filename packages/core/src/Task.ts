/**
 * A task as the service keeps it, and its lifecycle:
 * `pending -> processing -> completed | failed | cancelled` (and `pending -> cancelled`).
 * Each transition takes only the states it may leave, so an illegal one does not type-check.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { RequestId, SessionId, TaskId } from "./Ids.js"
import { ErrorObject } from "./Errors.js"
import type { IdentifyFaceError } from "./Errors.js"
import { Usage, VideoMetadata } from "./Wire.js"

/** Where the video of a task comes from. */
export const VideoRef = Schema.Union(
  Schema.TaggedStruct("VideoId", { id: Schema.String }),
  Schema.TaggedStruct("VideoUrl", { url: Schema.String })
)
/** @since 0.1.0 */
export type VideoRef = typeof VideoRef.Type

/** A face of a finished analysis, with its stored screenshot. */
export const TaskFace = Schema.Struct({
  faceId: Schema.String,
  imageKey: Schema.String,
  startMs: Schema.Int,
  endMs: Schema.Int
})
/** @since 0.1.0 */
export type TaskFace = typeof TaskFace.Type

/** What a completed task answers with. */
export const TaskResult = Schema.Struct({
  faces: Schema.Array(TaskFace),
  usage: Usage,
  unitDeduction: Schema.String
})
/** @since 0.1.0 */
export type TaskResult = typeof TaskResult.Type

const common = {
  id: TaskId,
  tenant: Schema.String,
  model: Schema.String,
  video: VideoRef,
  callbackUrl: Schema.optional(Schema.String),
  requestId: RequestId,
  sessionId: SessionId,
  /** Epoch milliseconds. */
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  /** After this the task, its upload and its screenshots are deleted. */
  expiresAt: Schema.Number,
  /** How many times a run was started; a crash-interrupted run is retried once. */
  attempts: Schema.Int,
  metadata: Schema.optional(VideoMetadata),
  timings: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Number }))
}

/** Accepted, waiting for a runner. */
export const PendingTask = Schema.TaggedStruct("pending", common)
/** Being analysed. */
export const ProcessingTask = Schema.TaggedStruct("processing", { ...common, progress: Schema.Number })
/** Finished with a result. */
export const CompletedTask = Schema.TaggedStruct("completed", { ...common, result: TaskResult })
/** Finished with an error. */
export const FailedTask = Schema.TaggedStruct("failed", { ...common, error: ErrorObject })
/** Cancelled by its tenant before it finished. */
export const CancelledTask = Schema.TaggedStruct("cancelled", common)

/** A task in any state; `_tag` is its status. */
export const Task = Schema.Union(PendingTask, ProcessingTask, CompletedTask, FailedTask, CancelledTask)
/** @since 0.1.0 */
export type Task = typeof Task.Type
/** @since 0.1.0 */
export type PendingTask = typeof PendingTask.Type
/** @since 0.1.0 */
export type ProcessingTask = typeof ProcessingTask.Type
/** @since 0.1.0 */
export type CompletedTask = typeof CompletedTask.Type
/** @since 0.1.0 */
export type FailedTask = typeof FailedTask.Type
/** @since 0.1.0 */
export type CancelledTask = typeof CancelledTask.Type
/** A task that has not finished. */
export type ActiveTask = PendingTask | ProcessingTask
/** A task that has finished. */
export type FinishedTask = CompletedTask | FailedTask | CancelledTask

/** Whether a task has finished (no transition leaves it). */
export const isFinished = (task: Task): task is FinishedTask =>
  task._tag === "completed" || task._tag === "failed" || task._tag === "cancelled"

/** The fields every state shares. */
export type TaskFields = Omit<PendingTask, "_tag">

const base = (task: Task, now: number): TaskFields => {
  const { _tag, ...rest } = task as PendingTask
  const fields: Record<string, unknown> = { ...rest, updatedAt: now }
  delete fields.progress
  delete fields.result
  delete fields.error
  return fields as unknown as TaskFields
}

/** A runner took the task. A retried run starts again from 0. */
export const start = (task: PendingTask | ProcessingTask, now: number): ProcessingTask => ({
  ...base(task, now),
  _tag: "processing",
  progress: 0,
  attempts: task.attempts + 1
})

/** The analysis advanced; progress never goes back. */
export const advance = (task: ProcessingTask, progress: number, now: number): ProcessingTask => ({
  ...task,
  progress: Math.min(1, Math.max(task.progress, progress)),
  updatedAt: now
})

/** The analysis finished with faces. */
export const complete = (task: ProcessingTask, result: TaskResult, now: number): CompletedTask => ({
  ...base(task, now),
  _tag: "completed",
  result
})

/** The task ended with an error of the wire contract. */
export const fail = (task: ActiveTask, error: IdentifyFaceError, now: number): FailedTask => ({
  ...base(task, now),
  _tag: "failed",
  error: { code: error.code, error_message: error.message }
})

/** The tenant cancelled the task. */
export const cancel = (task: ActiveTask, now: number): CancelledTask => ({
  ...base(task, now),
  _tag: "cancelled"
})

/** Records what the checks read of the video and how long each stage took. */
export const describe = (
  task: ProcessingTask,
  metadata: VideoMetadata | undefined,
  timings: Record<string, number>,
  now: number
): ProcessingTask => ({
  ...task,
  ...(metadata === undefined ? {} : { metadata }),
  timings: { ...task.timings, ...timings },
  updatedAt: now
})

/** A run was stopped by a shutdown: the task goes back to the queue, keeping its attempts. */
export const requeue = (task: ProcessingTask, now: number): PendingTask => ({ ...base(task, now), _tag: "pending" })
