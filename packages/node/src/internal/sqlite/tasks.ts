/**
 * The task store over an open database: a row per task, the task as JSON of core's `Task` Schema.
 * The write that ends a task with a `callback_url` puts it in the webhook outbox in the same
 * transaction, and removing a task removes its callback too (see `outbox.ts`).
 */
import type { TaskId } from "@identify-face/core/Ids"
import * as Task from "@identify-face/core/Task"
import type { TaskStoreService } from "@identify-face/core/TaskStore"
import { owesCallback } from "@identify-face/core/WebhookOutbox"
import type { Database } from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

const TaskJson = Schema.parseJson(Task.Task)
const encodeTask = Schema.encodeSync(TaskJson)
const decodeTask = Schema.decodeUnknownEither(TaskJson)

interface TaskRow {
  readonly id: string
  readonly task: string
}

/** A stored task; one the Schema refuses is a defect that names it, never a task read wrong. */
const fromRow = (row: TaskRow): Task.Task =>
  Either.getOrThrowWith(
    decodeTask(row.task),
    (error) => new Error(`identify-face: stored task ${row.id} does not decode as a Task: ${error.message}`)
  )

// Tasks decoded lately, by id, with the JSON they came from. Clients poll a task far more often
// than it changes, and decoding it is most of a poll's cost (0.1 ms measured), so a read whose
// JSON is unchanged answers the task decoded before. Oldest read first out, past the bound.
const DECODED_TASKS = 1024

const decodedCache = () => {
  const decoded = new Map<string, { readonly json: string; readonly task: Task.Task }>()
  return (row: TaskRow): Task.Task => {
    const cached = decoded.get(row.id)
    decoded.delete(row.id)
    const task = cached !== undefined && cached.json === row.task ? cached.task : fromRow(row)
    decoded.set(row.id, { json: row.task, task })
    if (decoded.size > DECODED_TASKS) decoded.delete(decoded.keys().next().value as string)
    return task
  }
}

/** The columns of a task's row: the JSON and the copies the indexes need. */
const toRow = (task: Task.Task) => ({
  id: task.id,
  status: task._tag,
  createdAt: task.createdAt,
  expiresAt: task.expiresAt,
  task: encodeTask(task)
})

const isActive = (task: Task.Task): task is Task.ActiveTask => !Task.isFinished(task)

/** The task store of `db`, migrated. */
export const make = (db: Database): TaskStoreService => {
  const insert = db.prepare<[ReturnType<typeof toRow>]>(
    "INSERT INTO tasks (id, status, created_at, expires_at, task) VALUES (@id, @status, @createdAt, @expiresAt, @task)"
  )
  const update = db.prepare<[ReturnType<typeof toRow>]>(
    "UPDATE tasks SET status = @status, created_at = @createdAt, expires_at = @expiresAt, task = @task WHERE id = @id"
  )
  const select = db.prepare<[TaskId], TaskRow>("SELECT id, task FROM tasks WHERE id = ?")
  const selectActive = db.prepare<[], TaskRow>(
    "SELECT id, task FROM tasks WHERE status IN ('pending', 'processing') ORDER BY created_at, rowid"
  )
  const selectExpired = db.prepare<[number], TaskRow>("SELECT id, task FROM tasks WHERE expires_at <= ?")
  const remove = db.prepare<[TaskId]>("DELETE FROM tasks WHERE id = ?")
  const owe = db.prepare<[TaskId, number]>("INSERT OR IGNORE INTO webhook_outbox (task_id, due_at) VALUES (?, ?)")
  const forgetCallback = db.prepare<[TaskId]>("DELETE FROM webhook_outbox WHERE task_id = ?")
  const read = decodedCache()

  return {
    insert: (task) => Effect.sync(() => void insert.run(toRow(task))),
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(select.get(id)), read)),
    modify: (id, f) =>
      Effect.suspend(() => {
        // Read, apply and write in one synchronous transaction: no other fiber can run in between.
        // IMMEDIATE takes the write lock before the read, so the write cannot meet a busy database.
        const result = db
          .transaction(() => {
            const row = select.get(id)
            if (row === undefined) return Option.none()
            const current = fromRow(row)
            const next = f(current)
            if (Either.isRight(next)) {
              update.run({ ...toRow(next.right), id })
              if (owesCallback(current, next.right)) owe.run(id, next.right.updatedAt)
            }
            return Option.some(next)
          })
          .immediate()
        return Option.match(result, {
          onNone: () => Effect.succeedNone,
          onSome: Either.match({ onLeft: Effect.fail, onRight: Effect.succeedSome })
        })
      }),
    active: Effect.sync(() => selectActive.all().map(fromRow).filter(isActive)),
    expired: (now) => Effect.sync(() => selectExpired.all(now).map(fromRow)),
    remove: (id) =>
      Effect.sync(() =>
        db.transaction(() => {
          remove.run(id)
          // A callback still owed for a task that is gone has nothing left to carry.
          forgetCallback.run(id)
        })()
      )
  }
}
