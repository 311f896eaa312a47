/**
 * The embedded server (a demo app as a child process) killed with SIGKILL mid-task, and stopped
 * with SIGTERM: no acknowledged task is lost or left stuck, and the service serves afterwards.
 * Killed while a callback waits for a retry and while the retry is in flight: the callback arrives.
 * The real analysis stopped by a Ctrl-C: handed back, with nothing left running.
 */
import { describe, expect, it } from "vitest"
import { runCrash, runWebhookCrash } from "../src/crash.js"
import { makeLoadClip } from "../src/load.js"
import { runGracefulStop, runInterruptedAnalysis } from "../src/shutdown.js"

describe("the embedded server", () => {
  it("killed mid-task completes every acknowledged task after a restart, each once", async () => {
    const run = await runCrash({ tasks: 4, inFlight: 8, taskMs: 500 })
    console.log(`crash: ${JSON.stringify(run)}`)
    expect(run.counts).toEqual({ created: run.counts.created, completed: run.counts.created, failed: 0, lost: 0, stuck: 0, duplicated: 0 })
    expect(run.counts.created).toBeGreaterThanOrEqual(4)
    expect(run.afterwards).toEqual({ healthz: 200, task: "completed" })
  })

  it("killed while a callback waits for its retry, then while the retry is in flight, delivers it after a restart", { timeout: 180_000 }, async () => {
    const run = await runWebhookCrash()
    console.log(`webhook crash: ${JSON.stringify({ ...run, delivered: undefined, task: undefined })}`)
    expect(run.received).toEqual([
      { id: run.taskId, answer: "fail" },
      { id: run.taskId, answer: "hang" },
      { id: run.taskId, answer: "ok" }
    ])
    // The claim a killed server held is released at the start, not waited out (30 s).
    expect(run.resentAfterMs).toBeLessThan(15_000)
    expect(run.delivered).toEqual(run.task)
    expect(run.task.status).toBe("completed")
  })

  it("with the real analysis, stopped by a Ctrl-C (SIGINT to its process group) mid-analysis, hands the task back, leaves nothing running and completes it after a restart", { timeout: 120_000 }, async () => {
    const run = await runInterruptedAnalysis(await makeLoadClip())
    console.log(`Ctrl-C mid-analysis: ${JSON.stringify(run)}`)
    expect(run).toEqual({ exitCode: 0, stopMs: run.stopMs, storedStatus: "pending", leftover: [], restartedStatus: "completed" })
    expect(run.stopMs).toBeLessThan(10_000)
  })

  it.each(["hono-demo", "express-demo"] as const)("%s stopped with SIGTERM mid-task answers the upload in flight, exits 0 in time and hands the task back", async (app) => {
    const run = await runGracefulStop(app, { taskMs: 3000, shutdownSeconds: 10 })
    console.log(`graceful stop of ${app}: ${JSON.stringify(run)}`)
    expect(run).toMatchObject({ exitCode: 0, uploadStatus: 200, storedStatus: "pending", restartedStatus: "completed" })
    expect(run.stopMs).toBeLessThan(10_000)
    expect(run.afterwards).toEqual({ healthz: 200, task: "completed" })
  })
})
