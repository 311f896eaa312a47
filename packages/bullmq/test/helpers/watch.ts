/**
 * Reads a set of tasks over HTTP until all have finished, noting what a client must never see:
 * a task that is gone, and a completed task that changes. Also used by `@identify-face/reliability`.
 */
import type { PromiseClient } from "@identify-face/core/Client"
import type { TaskObject } from "@identify-face/core/Wire"

/** What reading the tasks saw. */
export interface Watched {
  /** Each task as last read; a task the API did not answer with is missing. */
  readonly tasks: ReadonlyArray<TaskObject>
  /** The tasks the API did not answer with at the last read (404, or a failed request). */
  readonly missing: ReadonlyArray<string>
  /** Tasks the client saw change after it had seen them completed. */
  readonly changedAfterCompletion: ReadonlyArray<string>
}

/** Whether a task has ended. */
export const isFinished = (task: TaskObject) => task.status === "completed" || task.status === "failed" || task.status === "cancelled"

/** Reads every task each `intervalMs` until all have finished or `deadlineMs` has passed. */
export const watchTasks = async (client: PromiseClient, ids: ReadonlyArray<string>, deadlineMs: number, intervalMs = 100): Promise<Watched> => {
  const deadline = Date.now() + deadlineMs
  const seenCompleted = new Map<string, string>()
  const changed = new Set<string>()
  let tasks: Array<TaskObject> = []
  while (Date.now() < deadline) {
    tasks = (await Promise.all(ids.map((id) => client.getTask(id).catch(() => undefined)))).filter((task) => task !== undefined)
    for (const task of tasks) {
      const seen = seenCompleted.get(task.id)
      if (seen !== undefined && JSON.stringify(task) !== seen) changed.add(task.id)
      else if (task.status === "completed") seenCompleted.set(task.id, JSON.stringify(task))
    }
    if (tasks.length === ids.length && tasks.every(isFinished)) break
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  const answered = new Set(tasks.map((task) => task.id))
  return { tasks, missing: ids.filter((id) => !answered.has(id)), changedAfterCompletion: [...changed] }
}
