/**
 * Tasks in Redis, shared by every API node and worker: each task is a key holding its JSON (core's
 * `Task` Schema) that expires with its session plus a margin, and two sorted sets index them: the
 * unfinished ones by creation time (`active`) and all by expiry (`expired`). A change is a
 * compare-and-set in a Lua script, retried when another node changed the task in between. The
 * write that ends a task with a `callback_url` also puts it in the webhook outbox, in the same
 * script, so no crash can end a task and lose its callback (see `RedisWebhookOutbox`).
 *
 * @since 0.1.0
 */
import type { TaskId } from "@identify-face/core/Ids"
import * as Task from "@identify-face/core/Task"
import { TaskStore } from "@identify-face/core/TaskStore"
import type { TaskStoreService } from "@identify-face/core/TaskStore"
import { owesCallback } from "@identify-face/core/WebhookOutbox"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { exec } from "./internal/redis.js"
import { RedisConnection } from "./RedisConnection.js"

/** Options of {@link make}. */
export interface RedisTaskStoreOptions {
  /**
   * How long a task's key outlives its session, so the engine's sweep still finds the task (and
   * deletes its screenshots) before Redis drops it. Default 1 hour.
   */
  readonly expiryMargin?: Duration.DurationInput | undefined
}

const TaskJson = Schema.parseJson(Task.Task)
const encodeTask = Schema.encodeSync(TaskJson)
const decodeTask = Schema.decodeUnknownEither(TaskJson)

/** A stored task; one the Schema refuses is a defect that names it, never a task read wrong. */
const fromJson = (id: string, json: string): Task.Task =>
  Either.getOrThrowWith(decodeTask(json), (error) => new Error(`identify-face: stored task ${id} does not decode as a Task: ${error.message}`))

/**
 * Replaces the task only if it still holds what was read (KEYS: task, active, expiry, webhook
 * outbox; ARGV: read JSON, new JSON, expire-at ms, "1" when unfinished, created-at, id,
 * expires-at, "1" when it owes a callback now, now). 1 when written.
 */
const compareAndSet = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[1], ARGV[2], "PXAT", ARGV[3])
if ARGV[4] == "1" then redis.call("ZADD", KEYS[2], ARGV[5], ARGV[6]) else redis.call("ZREM", KEYS[2], ARGV[6]) end
redis.call("ZADD", KEYS[3], ARGV[7], ARGV[6])
if ARGV[8] == "1" then redis.call("ZADD", KEYS[4], "NX", ARGV[9], ARGV[6]) end
return 1
`

/** A task store on the shared Redis connection. */
export const make = (options: RedisTaskStoreOptions = {}): Effect.Effect<TaskStoreService, never, RedisConnection> =>
  Effect.map(RedisConnection, ({ client, keys }) => {
    const margin = Duration.toMillis(Duration.decode(options.expiryMargin ?? Duration.hours(1)))

    /** The tasks of these ids that still exist; ids whose key expired leave the indexes. */
    const read = (ids: ReadonlyArray<string>) =>
      Effect.promise(async () => {
        if (ids.length === 0) return []
        const values = await client.mget(ids.map(keys.task))
        const gone = ids.filter((_, index) => values[index] === null)
        if (gone.length > 0) await exec(client.multi().zrem(keys.activeTasks, ...gone).zrem(keys.taskExpiry, ...gone))
        return ids.flatMap((id, index) => {
          const json = values[index]
          return json === null || json === undefined ? [] : [fromJson(id, json)]
        })
      })

    const modify = <E>(id: TaskId, f: (task: Task.Task) => Either.Either<Task.Task, E>): Effect.Effect<Option.Option<Task.Task>, E> =>
      Effect.flatMap(
        Effect.promise(() => client.get(keys.task(id))),
        (json) => {
          if (json === null) return Effect.succeedNone
          const current = fromJson(id, json)
          return Either.match(f(current), {
            onLeft: Effect.fail,
            onRight: (next) =>
              Effect.flatMap(
                Effect.promise(() =>
                  client.eval(
                    compareAndSet, 4, keys.task(id), keys.activeTasks, keys.taskExpiry, keys.webhooksDue,
                    json, encodeTask(next), next.expiresAt + margin, Task.isFinished(next) ? "0" : "1", next.createdAt, id, next.expiresAt,
                    owesCallback(current, next) ? "1" : "0", next.updatedAt
                  )
                ),
                // Another node changed the task between the read and the write: apply `f` to what it wrote.
                (written) => (written === 1 ? Effect.succeedSome(next) : modify(id, f))
              )
          })
        }
      )

    return {
      insert: (task) =>
        Effect.promise(() =>
          exec(
            client
              .multi()
              .set(keys.task(task.id), encodeTask(task), "PXAT", task.expiresAt + margin, "NX")
              .zadd(keys.activeTasks, task.createdAt, task.id)
              .zadd(keys.taskExpiry, task.expiresAt, task.id)
          )
        ),
      get: (id) =>
        Effect.map(Effect.promise(() => client.get(keys.task(id))), (json) => (json === null ? Option.none() : Option.some(fromJson(id, json)))),
      modify,
      active: Effect.flatMap(Effect.promise(() => client.zrange(keys.activeTasks, 0, -1)), read).pipe(
        Effect.map((tasks) => tasks.filter((task): task is Task.ActiveTask => !Task.isFinished(task)))
      ),
      expired: (now) => Effect.flatMap(Effect.promise(() => client.zrangebyscore(keys.taskExpiry, "-inf", now)), read),
      remove: (id) =>
        Effect.promise(() =>
          exec(
            client
              .multi()
              .del(keys.task(id))
              .zrem(keys.activeTasks, id)
              .zrem(keys.taskExpiry, id)
              // A callback still owed for a task that is gone has nothing left to carry.
              .zrem(keys.webhooksDue, id)
              .hdel(keys.webhookAttempts, id)
              .hdel(keys.webhookClaims, id)
          )
        )
    } satisfies TaskStoreService
  })

/** The Redis task store as a layer. */
export const layer = (options: RedisTaskStoreOptions = {}): Layer.Layer<TaskStore, never, RedisConnection> =>
  Layer.effect(TaskStore, make(options))
