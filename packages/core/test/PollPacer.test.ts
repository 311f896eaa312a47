/**
 * The paced poll hint: clients that follow it settle at about the budget in all, and the hint is
 * back at `pollHint` once they poll less; without a budget it never changes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Config from "../src/Config.js"
import * as PollPacer from "../src/PollPacer.js"

/**
 * `clients` clients polling from `fromMs` to `toMs` (in 10 ms steps), each again after the hint it
 * got; answers the polls a second over the last 10 s and the last hint.
 */
const simulate = (hintAt: (now: number) => number, clients: number, fromMs: number, toMs: number) => {
  const step = (ms: number) => Math.ceil(ms / 10) * 10
  // How many clients poll at each step.
  const due = new Map<number, number>()
  const schedule = (at: number) => due.set(at, (due.get(at) ?? 0) + 1)
  for (let i = 0; i < clients; i++) schedule(step(fromMs + (i * 1000) / clients))
  let lastHint = 0
  let recentPolls = 0
  for (let now = fromMs; now < toMs; now += 10) {
    const count = due.get(now) ?? 0
    due.delete(now)
    for (let i = 0; i < count; i++) {
      lastHint = hintAt(now)
      schedule(step(now + lastHint))
    }
    if (now >= toMs - 10_000) recentPolls += count
  }
  return { perSecond: recentPolls / 10, lastHint }
}

describe("PollPacer.pacing", () => {
  it("spreads 1,000 clients to about the budget, and shrinks back to pollHint when they are gone", () => {
    const hintAt = PollPacer.pacing(1000, 100)
    const crowd = simulate(hintAt, 1000, 0, 60_000)
    expect(crowd.perSecond).toBeGreaterThan(70)
    expect(crowd.perSecond).toBeLessThan(140)
    expect(crowd.lastHint).toBeGreaterThan(4000)
    expect(simulate(hintAt, 1, 60_000, 180_000).lastHint).toBe(1000)
  })

  it("stays at pollHint under the budget, and never suggests more than 30 s", () => {
    expect(simulate(PollPacer.pacing(1000, 100), 50, 0, 20_000).lastHint).toBe(1000)
    const flooded = simulate(PollPacer.pacing(1000, 1), 2000, 0, 200_000)
    expect(flooded.lastHint).toBeLessThanOrEqual(30_000)
    expect(flooded.lastHint).toBeGreaterThanOrEqual(15_000)
  })
})

describe("PollPacer.make", () => {
  it.effect("without a budget always suggests pollHint", () =>
    Effect.gen(function* () {
      const pacer = yield* PollPacer.make.pipe(Effect.provide(Config.layer({ pollHint: Duration.millis(700) })))
      expect(Duration.toMillis(yield* pacer.next)).toBe(700)
    })
  )
})
