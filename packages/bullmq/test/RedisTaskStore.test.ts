/**
 * The Redis task store: core's `TaskStore` semantics, atomic changes from many nodes at once, and
 * keys that expire with their session.
 */
import { describe, expect, it } from "@effect/vitest"
import * as RedisTaskStore from "@identify-face/bullmq/RedisTaskStore"
import * as Task from "@identify-face/core/Task"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { freshPrefix } from "./helpers/redis.js"
import { onNode } from "./helpers/stores.js"
import { pendingTask } from "./helpers/tasks.js"

const NOW = Date.now()

const node = (prefix: string) => onNode(prefix, RedisTaskStore.make())

describe("RedisTaskStore", () => {
  it.scopedLive("keeps, reads, changes and removes a task", () =>
    Effect.gen(function* () {
      const { store } = yield* node(freshPrefix())
      const task = pendingTask(NOW)
      yield* store.insert(task)
      expect(yield* store.get(task.id)).toEqual(Option.some(task))
      const started = yield* store.modify(task.id, (current) => Either.right(Task.start(current as Task.PendingTask, NOW + 1)))
      expect(Option.map(started, (t) => t._tag)).toEqual(Option.some("processing"))
      expect(yield* store.get(task.id)).toEqual(started)
      const refused = yield* store.modify(task.id, () => Either.left("no" as const)).pipe(Effect.flip)
      expect(refused).toBe("no")
      expect(yield* store.get(task.id)).toEqual(started)
      yield* store.remove(task.id)
      expect(yield* store.get(task.id)).toEqual(Option.none())
      expect(yield* store.modify(task.id, (current) => Either.right(current))).toEqual(Option.none())
    }))

  it.scopedLive("owes a callback from the write that ends a task with a callback_url, once, until the task is removed", () =>
    Effect.gen(function* () {
      const { store, connection } = yield* node(freshPrefix())
      const owed = Effect.promise(() => connection.client.zrange(connection.keys.webhooksDue, 0, -1, "WITHSCORES"))
      const withCallback = { ...pendingTask(NOW), callbackUrl: "https://hooks.example.com/done" }
      const without = pendingTask(NOW)
      const tasks = [withCallback, without]
      for (const task of tasks) {
        yield* store.insert(task)
        yield* store.modify(task.id, (current) => Either.right(Task.start(current as Task.PendingTask, NOW + 1)))
      }
      expect(yield* owed).toEqual([])
      for (const task of tasks) {
        yield* store.modify(task.id, (current) => Either.right(Task.cancel(current as Task.ProcessingTask, NOW + 2)))
      }
      expect(yield* owed).toEqual([withCallback.id, String(NOW + 2)])
      // A later write to the ended task does not owe it again, nor move it.
      yield* store.modify(withCallback.id, (current) => Either.right({ ...current, updatedAt: NOW + 3 }))
      expect(yield* owed).toEqual([withCallback.id, String(NOW + 2)])
      yield* store.remove(withCallback.id)
      expect(yield* owed).toEqual([])
    }))

  it.scopedLive("applies concurrent changes from several nodes one after another, losing none", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const nodes = [yield* node(prefix), yield* node(prefix), yield* node(prefix)]
      const task = pendingTask(NOW)
      yield* nodes[0]!.store.insert(task)
      const increment = (store: (typeof nodes)[number]["store"]) =>
        store.modify(task.id, (current) => Either.right({ ...current, attempts: current.attempts + 1 }))
      yield* Effect.all(
        Array.from({ length: 60 }, (_, i) => increment(nodes[i % nodes.length]!.store)),
        { concurrency: "unbounded" }
      )
      const stored = yield* nodes[1]!.store.get(task.id)
      expect(Option.map(stored, (t) => t.attempts)).toEqual(Option.some(60))
    }))

  it.scopedLive("lists unfinished tasks oldest first, and finished ones no more", () =>
    Effect.gen(function* () {
      const { store } = yield* node(freshPrefix())
      const [late, early, middle] = [pendingTask(NOW + 30), pendingTask(NOW + 10), pendingTask(NOW + 20)]
      for (const task of [late, early, middle]) yield* store.insert(task)
      expect((yield* store.active).map((t) => t.id)).toEqual([early.id, middle.id, late.id])
      yield* store.modify(middle.id, (current) => Either.right(Task.cancel(current as Task.PendingTask, NOW + 40)))
      expect((yield* store.active).map((t) => t.id)).toEqual([early.id, late.id])
    }))

  it.scopedLive("sets each task's key to expire with its session plus the margin", () =>
    Effect.gen(function* () {
      const { store, connection } = yield* node(freshPrefix())
      const task = pendingTask(NOW, NOW + 60_000)
      yield* store.insert(task)
      const margin = 3_600_000
      const expected = task.expiresAt + margin
      const expireAt = yield* Effect.promise(() => connection.client.pexpiretime(connection.keys.task(task.id)))
      expect(expireAt).toBe(expected)
      // A change keeps the expiry.
      yield* store.modify(task.id, (current) => Either.right(Task.start(current as Task.PendingTask, NOW + 1)))
      expect(yield* Effect.promise(() => connection.client.pexpiretime(connection.keys.task(task.id)))).toBe(expected)
    }))

  it.scopedLive("answers the expired tasks the index still lists, and forgets those Redis already dropped", () =>
    Effect.gen(function* () {
      const { store, connection } = yield* node(freshPrefix())
      const [old, dropped, fresh] = [pendingTask(NOW, NOW + 1000), pendingTask(NOW, NOW + 2000), pendingTask(NOW, NOW + 86_400_000)]
      for (const task of [old, dropped, fresh]) yield* store.insert(task)
      // Redis expired this one's key already.
      yield* Effect.promise(() => connection.client.del(connection.keys.task(dropped.id)))
      expect((yield* store.expired(NOW + 5000)).map((t) => t.id)).toEqual([old.id])
      expect(yield* Effect.promise(() => connection.client.zscore(connection.keys.taskExpiry, dropped.id))).toBeNull()
      expect((yield* store.active).map((t) => t.id).sort()).toEqual([old.id, fresh.id].sort())
    }))
})
