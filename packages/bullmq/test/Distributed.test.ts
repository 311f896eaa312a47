/**
 * The distributed setup for real: one API node and two workers as separate processes on one Redis.
 * Tasks are created over HTTP, a worker is killed (SIGKILL) in the middle of its tasks, and every
 * task still completes, exactly once, as the client sees it.
 */
import { describe, expect, it } from "vitest"
import { runKilledWorker } from "./helpers/distributed.js"

describe("one API node and two workers on Redis", () => {
  it("complete every task exactly once although a worker is killed mid-task", { timeout: 90_000 }, async () => {
    const run = await runKilledWorker({ tasks: 8, deadlineMs: 40_000 })
    expect(run.ids).toContain(run.taken)
    expect(run.changedAfterCompletion).toEqual([])
    expect(run.tasks.map((task) => task.status)).toEqual(run.ids.map(() => "completed"))

    // Each task was completed by exactly one run, the killed worker's cut-short ones by the survivor.
    expect([...run.completedBy.killed, ...run.completedBy.survivor].sort()).toEqual([...run.ids].sort())
    expect(run.completedBy.survivor).toContain(run.taken)

    // Screenshots are served by the API node, whichever worker stored them.
    expect(run.screenshot).toEqual({ status: 200, contentType: "image/jpeg" })
  })
})
