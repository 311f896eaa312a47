/**
 * Tasks, idempotency keys and the webhook outbox in SQLite, so that a restart loses none: one
 * database file, `<dataDir>/identify-face.db`, in WAL mode, its schema migrated when it opens. A
 * task left `pending` or `processing` by a stopped process is in `active` for the next one to
 * resume. The write that ends a task with a `callback_url` puts its callback in the outbox in the
 * same transaction, for core's `WebhookOutbox` deliverer; a callback that was being delivered when
 * the process stopped is due again when the next one opens the file. One process per database: a
 * create still running, or a callback being delivered, is known only to its own process.
 *
 * @example
 * ```ts
 * import * as SqliteStore from "@identify-face/node/SqliteStore"
 *
 * const stores = SqliteStore.layer({ dataDir: "/var/lib/identify-face" })
 * ```
 *
 * @since 0.1.0
 */
import { join } from "node:path"
import { IdempotencyStore } from "@identify-face/core/IdempotencyStore"
import type { IdempotencyStoreService } from "@identify-face/core/IdempotencyStore"
import { TaskStore } from "@identify-face/core/TaskStore"
import type { TaskStoreService } from "@identify-face/core/TaskStore"
import { WebhookOutbox } from "@identify-face/core/WebhookOutbox"
import type { WebhookOutboxService } from "@identify-face/core/WebhookOutbox"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { open } from "./internal/sqlite/database.js"
import * as IdempotencyKeys from "./internal/sqlite/idempotency.js"
import * as Outbox from "./internal/sqlite/outbox.js"
import * as Tasks from "./internal/sqlite/tasks.js"

/** Options of {@link make}: where the database is, and how long idempotency keys live. */
export type SqliteStoreOptions = ({
  /** The database is `<dataDir>/identify-face.db`; the directory is created if needed. */
  readonly dataDir: string
} | {
  /** The database file itself. */
  readonly filename: string
}) & {
  /** How long an `Idempotency-Key` answers its task. Default 24 hours, as a session. */
  readonly idempotencyTtl?: Duration.DurationInput
}

/** The stores on one database. */
export interface SqliteStore {
  /** Tasks, each a row holding the task as JSON of core's `Task` Schema. */
  readonly tasks: TaskStoreService
  /** Which task each (tenant, `Idempotency-Key`) created, with the body's fingerprint. */
  readonly idempotency: IdempotencyStoreService
  /** The `callback_url` webhooks owed, written with the tasks' final writes, deleted with the tasks. */
  readonly outbox: WebhookOutboxService
}

/** The database file of these options. */
const filenameOf = (options: SqliteStoreOptions): string =>
  "filename" in options ? options.filename : join(options.dataDir, "identify-face.db")

/**
 * Opens the database, creating and migrating it as needed, and answers its stores; the database
 * closes with the scope. A file it cannot open, or one of a newer schema, is a defect.
 */
export const make = (options: SqliteStoreOptions): Effect.Effect<SqliteStore, never, Scope.Scope> =>
  Effect.zipWith(open(filenameOf(options)), Clock.currentTimeMillis, (db, now) => ({
    tasks: Tasks.make(db),
    idempotency: IdempotencyKeys.make(db, Duration.decode(options.idempotencyTtl ?? Duration.hours(24))),
    outbox: Outbox.make(db, now)
  }))

/** The stores as a layer; the database closes when the layer is released. */
export const layer = (options: SqliteStoreOptions): Layer.Layer<TaskStore | IdempotencyStore | WebhookOutbox> =>
  Layer.scopedContext(
    Effect.map(make(options), (stores) =>
      Context.make(TaskStore, stores.tasks).pipe(Context.add(IdempotencyStore, stores.idempotency), Context.add(WebhookOutbox, stores.outbox))
    )
  )
