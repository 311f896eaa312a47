/**
 * 1,000 clients polling while the real analysis runs on the embedded server (a demo app as a
 * child process), each waiting the server's `X-Poll-After-Ms` between polls: the server paces
 * them to about its poll budget, answers every poll, and keeps analysing at nearly full speed.
 * Prints the poll latency, the pollers' own event-loop delay, the analysis time with and without
 * the polls, and the memory of the server and its analysis process. On this 2-core machine,
 * shared with other work, the bounds asserted leave room for a busy neighbour (with the analysis
 * in the server's own process, a load average of 10-20 gave a steady p99 of 140 ms to 1.6 s; with
 * it in a process of its own, a quiet machine gives 5-17 ms); the goals, p99 under 50 ms and at
 * most 20% slower (`load.ts`'s `TARGET`), are what `npm run bench:reliability` reports on.
 */
import { describe, expect, it } from "vitest"
import { makeLoadClip, runPollLoad } from "../src/load.js"

describe("1,000 pollers during real analyses", () => {
  // About ten analyses and the settling: a minute alone on the machine, over two beside a busy neighbour.
  it("are paced and all answered, slow the analysis boundedly, and leave the server serving", { timeout: 300_000 }, async () => {
    const run = await runPollLoad({ clip: await makeLoadClip(), pollers: 1000, runs: 3, settleMs: 10_000 })
    console.log(`poll load: ${JSON.stringify(run)}`)
    expect(run.errors).toBe(0)
    // 1,000 pollers at the unpaced 1 s hint would make 1,000 polls a second.
    expect(run.pollsPerSecond).toBeLessThan(300)
    expect(run.hintMs).toBeGreaterThan(3000)
    // The median shows a poll's own cost; the tail is the machine's, stalls of the whole process included.
    expect(run.steady.p50).toBeLessThan(25)
    expect(run.steady.p99).toBeLessThan(1000)
    expect(run.burst.p99).toBeLessThan(5000)
    expect(run.throughputRatio).toBeGreaterThan(0.6)
    expect(run.analysisPeakRss).toBeGreaterThan(0)
    expect(run.serverPeakRss + run.analysisPeakRss).toBeLessThan(1024 ** 3)
    expect(run.afterwards).toEqual({ healthz: 200, task: "completed" })
  })
})
