/**
 * Where tasks are kept. The store knows nothing of tenants or rules: the engine decides, the
 * store applies a change atomically.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { TaskId } from "./Ids.js"
import type { ActiveTask, PendingTask, Task } from "./Task.js"

/** A store of tasks. */
export interface TaskStoreService {
  /** Adds a new task. */
  readonly insert: (task: PendingTask) => Effect.Effect<void>
  /** The task with this id, if any. */
  readonly get: (id: TaskId) => Effect.Effect<Option.Option<Task>>
  /**
   * Replaces the task with `f(task)` atomically, or leaves it as it is when `f` refuses with an
   * error. None when there is no such task.
   */
  readonly modify: <E>(id: TaskId, f: (task: Task) => Either.Either<Task, E>) => Effect.Effect<Option.Option<Task>, E>
  /** The tasks that have not finished, oldest first: what a restart resumes. */
  readonly active: Effect.Effect<ReadonlyArray<ActiveTask>>
  /** The tasks whose session expired at `now` (epoch ms). */
  readonly expired: (now: number) => Effect.Effect<ReadonlyArray<Task>>
  /** Deletes a task. */
  readonly remove: (id: TaskId) => Effect.Effect<void>
}

/** The task store in use. */
export class TaskStore extends Context.Tag("@identify-face/core/TaskStore")<TaskStore, TaskStoreService>() {}

/** A task store in memory: for tests and single-process use where a restart may lose tasks. */
export const makeMemory: Effect.Effect<TaskStoreService> = Effect.gen(function* () {
  const tasks = yield* Ref.make(new Map<TaskId, Task>())
  const all = Effect.map(Ref.get(tasks), (map) => [...map.values()])
  return {
    insert: (task) => Ref.update(tasks, (map) => new Map(map).set(task.id, task)),
    get: (id) => Effect.map(Ref.get(tasks), (map) => Option.fromNullable(map.get(id))),
    modify: <E>(id: TaskId, f: (task: Task) => Either.Either<Task, E>) =>
      Effect.flatten(
        Ref.modify(tasks, (map): [Effect.Effect<Option.Option<Task>, E>, Map<TaskId, Task>] => {
          const current = map.get(id)
          if (current === undefined) return [Effect.succeedNone, map]
          return Either.match(f(current), {
            onLeft: (error) => [Effect.fail(error), map],
            onRight: (next) => [Effect.succeedSome(next), new Map(map).set(id, next)]
          })
        })
      ),
    active: Effect.map(all, (list) =>
      list
        .filter((task): task is ActiveTask => task._tag === "pending" || task._tag === "processing")
        .sort((a, b) => a.createdAt - b.createdAt)
    ),
    expired: (now) => Effect.map(all, (list) => list.filter((task) => task.expiresAt <= now)),
    remove: (id) =>
      Ref.update(tasks, (map) => {
        const next = new Map(map)
        next.delete(id)
        return next
      })
  }
})

/** The in-memory task store as a layer. */
export const layerMemory: Layer.Layer<TaskStore> = Layer.effect(TaskStore, makeMemory)
