/**
 * The task store over an open database: a row per task, the task as JSON of core's `Task` Schema.
 */
import type { TaskId } from "@identify-face/core/Ids"
import * as Task from "@identify-face/core/Task"
import type { TaskStoreService } from "@identify-face/core/TaskStore"
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

  return {
    insert: (task) => Effect.sync(() => void insert.run(toRow(task))),
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(select.get(id)), fromRow)),
    modify: (id, f) =>
      Effect.suspend(() => {
        // Read, apply and write in one synchronous transaction: no other fiber can run in between.
        // IMMEDIATE takes the write lock before the read, so the write cannot meet a busy database.
        const result = db
          .transaction(() => {
            const row = select.get(id)
            if (row === undefined) return Option.none()
            const next = f(fromRow(row))
            if (Either.isRight(next)) update.run({ ...toRow(next.right), id })
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
    remove: (id) => Effect.sync(() => void remove.run(id))
  }
}
