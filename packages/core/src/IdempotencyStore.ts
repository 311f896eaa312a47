/**
 * `Idempotency-Key`: the same key and body answer the same task, the same key with another body
 * is 422, and concurrent duplicates create one task. A key answers its task for 24 hours after
 * the create, as long as the task's session.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { IdempotencyMismatchError } from "./Errors.js"
import type { TaskId } from "./Ids.js"

/** Remembers which task a key created. */
export interface IdempotencyStoreService {
  /**
   * Runs `create` once per (tenant, key): a repeat with the same fingerprint answers the first
   * run's task id (waiting for it if it is still running), another fingerprint is 422. A failed
   * first run is forgotten, so the key can be used again.
   */
  readonly once: <E, R>(
    scope: { readonly tenant: string; readonly key: string; readonly fingerprint: string },
    create: Effect.Effect<TaskId, E, R>
  ) => Effect.Effect<TaskId, E | IdempotencyMismatchError, R>
}

/** The idempotency store in use. */
export class IdempotencyStore extends Context.Tag("@identify-face/core/IdempotencyStore")<IdempotencyStore, IdempotencyStoreService>() {}

/** How long a key answers its task after its create finished: 24 hours, as a session (and as the SQLite and Redis stores keep it). */
export const MEMORY_TTL: Duration.Duration = Duration.hours(24)

interface Entry {
  readonly fingerprint: string
  readonly task: Deferred.Deferred<TaskId, unknown>
  /** When the key is forgotten (epoch ms); undefined while its create runs. */
  readonly expiresAt: number | undefined
}

/** The entries not expired at `now`: expired keys go as new ones come, with no timer. */
const unexpired = (map: ReadonlyMap<string, Entry>, now: number) =>
  new Map([...map].filter(([, entry]) => entry.expiresAt === undefined || entry.expiresAt > now))

/** An idempotency store in memory; a key is forgotten {@link MEMORY_TTL} after its create finished, on the `Clock`. */
export const makeMemory: Effect.Effect<IdempotencyStoreService> = Effect.map(Ref.make(new Map<string, Entry>()), (entries) => ({
  once: <E, R>(scope: { readonly tenant: string; readonly key: string; readonly fingerprint: string }, create: Effect.Effect<TaskId, E, R>) =>
    Effect.gen(function* () {
      const id = `${scope.tenant}\u0000${scope.key}`
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* Deferred.make<TaskId, unknown>()
      const existing = yield* Ref.modify(entries, (map) => {
        const live = unexpired(map, now)
        const found = live.get(id)
        return found === undefined ? [undefined, live.set(id, { fingerprint: scope.fingerprint, task: fresh, expiresAt: undefined })] : [found, live]
      })
      if (existing !== undefined) {
        if (existing.fingerprint !== scope.fingerprint) {
          return yield* Effect.fail(new IdempotencyMismatchError({ message: "this Idempotency-Key was used with another request body" }))
        }
        return yield* (Deferred.await(existing.task) as Effect.Effect<TaskId, E>)
      }
      // The bookkeeping runs even when the create is interrupted, so the key is never left taken.
      return yield* Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const exit = yield* Effect.exit(restore(create))
          const finished = yield* Clock.currentTimeMillis
          yield* Ref.update(entries, (map) => {
            const next = new Map(map)
            if (Exit.isFailure(exit)) next.delete(id)
            else next.set(id, { fingerprint: scope.fingerprint, task: fresh, expiresAt: finished + Duration.toMillis(MEMORY_TTL) })
            return next
          })
          yield* Deferred.done(fresh, exit)
          return yield* exit
        })
      )
    })
}))

/** The in-memory idempotency store as a layer. */
export const layerMemory: Layer.Layer<IdempotencyStore> = Layer.effect(IdempotencyStore, makeMemory)
