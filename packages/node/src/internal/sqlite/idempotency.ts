/**
 * The idempotency store over an open database: a finished create is a row (tenant, key) with the
 * body's fingerprint and the task id, kept for the TTL; a create still running is only in this
 * process, so a crash mid-create leaves the key free, as a failed create does.
 */
import * as Errors from "@identify-face/core/Errors"
import { TaskId } from "@identify-face/core/Ids"
import type { IdempotencyStoreService } from "@identify-face/core/IdempotencyStore"
import type { Database } from "better-sqlite3"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

interface KeyRow {
  readonly fingerprint: string
  readonly task_id: string
}

interface Running {
  readonly fingerprint: string
  readonly task: Deferred.Deferred<TaskId, unknown>
}

/** The task a key's first create made, or will make. */
interface Earlier<E> {
  readonly fingerprint: string
  readonly task: Effect.Effect<TaskId, E>
}

const decodeTaskId = Schema.decodeUnknownEither(TaskId)

const mismatch = () => new Errors.IdempotencyMismatchError({ message: "this Idempotency-Key was used with another request body" })

/** The idempotency store of `db`, migrated; an entry lives `ttl` after its create finished. */
export const make = (db: Database, ttl: Duration.Duration): IdempotencyStoreService => {
  const select = db.prepare<[string, string, number], KeyRow>(
    "SELECT fingerprint, task_id FROM idempotency_keys WHERE tenant = ? AND key = ? AND expires_at > ?"
  )
  const removeExpired = db.prepare<[number]>("DELETE FROM idempotency_keys WHERE expires_at <= ?")
  const upsert = db.prepare<[string, string, string, TaskId, number]>(
    `INSERT INTO idempotency_keys (tenant, key, fingerprint, task_id, expires_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant, key) DO UPDATE SET fingerprint = excluded.fingerprint, task_id = excluded.task_id, expires_at = excluded.expires_at`
  )
  // Expired rows go as new ones come, through the index: no timer, and the table holds about one TTL of keys.
  const record = db.transaction((tenant: string, key: string, fingerprint: string, task: TaskId, now: number) => {
    removeExpired.run(now)
    upsert.run(tenant, key, fingerprint, task, now + Duration.toMillis(ttl))
  })

  const storedTaskId = (row: KeyRow): TaskId =>
    Either.getOrThrowWith(
      decodeTaskId(row.task_id),
      (error) => new Error(`identify-face: a stored idempotency key names no task id: ${error.message}`)
    )

  // Plain state, read and changed only in synchronous steps, so a lookup and a claim are one step.
  const running = new Map<string, Running>()

  return {
    once: <E, R>(scope: { readonly tenant: string; readonly key: string; readonly fingerprint: string }, create: Effect.Effect<TaskId, E, R>) =>
      // Uninterruptible from the claim to the bookkeeping, so an interruption never leaves the key taken.
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const id = `${scope.tenant}\u0000${scope.key}`
          const now = yield* Clock.currentTimeMillis
          const fresh = yield* Deferred.make<TaskId, unknown>()
          // The create this key had: still running here, or stored. None claims the key for this call.
          const earlier = yield* Effect.sync((): Earlier<E> | undefined => {
            const inFlight = running.get(id)
            if (inFlight !== undefined) {
              return { fingerprint: inFlight.fingerprint, task: Deferred.await(inFlight.task) as Effect.Effect<TaskId, E> }
            }
            const row = select.get(scope.tenant, scope.key, now)
            if (row !== undefined) return { fingerprint: row.fingerprint, task: Effect.succeed(storedTaskId(row)) }
            running.set(id, { fingerprint: scope.fingerprint, task: fresh })
            return undefined
          })
          if (earlier !== undefined) {
            return yield* earlier.fingerprint === scope.fingerprint ? restore(earlier.task) : Effect.fail(mismatch())
          }
          const exit = yield* Effect.exit(
            Effect.tap(restore(create), (task) =>
              Effect.flatMap(Clock.currentTimeMillis, (finished) =>
                Effect.sync(() => record(scope.tenant, scope.key, scope.fingerprint, task, finished))
              )
            )
          )
          yield* Effect.sync(() => running.delete(id))
          yield* Deferred.done(fresh, exit)
          return yield* exit
        })
      )
  }
}
