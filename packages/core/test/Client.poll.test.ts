/**
 * The client's polling on the test clock: a scripted fetch answers, TestClock drives the waits,
 * and the delays are read off the recorded calls.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Client from "../src/Client.js"
import type { PollOptions, PollState } from "../src/Client.js"
import { TaskObject } from "../src/Wire.js"
import { completedTask, failedTask, faceResult, wireTask } from "./helpers/fixtures.js"
import { errorAnswer, gaps, hang, json, scriptedFetch } from "./helpers/ScriptedFetch.js"
import type { Answer } from "./helpers/ScriptedFetch.js"
import { runWhileClockMoves } from "./helpers/TestTime.js"

const running: PollState = { _tag: "Running", task: Schema.decodeUnknownSync(TaskObject)(wireTask("processing")), hint: Duration.zero }

/** Repeats a poll that answers `running` on the schedule; answers the times it ran and its end. */
const runSchedule = (options: PollOptions, until: Duration.DurationInput) =>
  Effect.gen(function* () {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const poll = Effect.flatMap(TestClock.currentTimeMillis, (now) => Ref.update(times, (list) => [...list, now])).pipe(Effect.as(running))
    const fiber = yield* Effect.fork(Effect.repeat(poll, Client.pollSchedule(options)))
    yield* TestClock.adjust(until)
    return { times: yield* Ref.get(times), end: yield* Fiber.poll(fiber) }
  })

/** A client over a scripted fetch, and the calls it made. */
const scriptedClient = (answers: ReadonlyArray<Answer>, poll: PollOptions = {}) =>
  Effect.map(scriptedFetch(answers), ({ fetch, calls }) => {
    const client = Client.make({ baseUrl: "https://api.example.com/", apiKey: "key-1", fetch, poll })
    return { client, calls }
  })

// The jittered first wait (1.6 s to 2.4 s) always lands above the cap: every wait is exactly 1 s.
const everySecond: PollOptions = { initialDelay: "2 seconds", factor: 1, maxDelay: "1 second" }

const processing = json(wireTask("processing", { progress: 0.1 }))
const completed = json(completedTask())

describe("Client.pollSchedule", () => {
  it.effect("waits exponentially longer, jittered by -20 % to +20 %, and never longer than maxDelay", () =>
    Effect.gen(function* () {
      const { times } = yield* runSchedule({ initialDelay: "100 millis", factor: 2, maxDelay: "1 second", timeout: "1 minute" }, "8 seconds")
      const observed = gaps(times.map((at) => ({ at })))
      expect(observed.length).toBeGreaterThan(8)
      observed.forEach((gap, n) => {
        const nominal = 100 * 2 ** n
        expect(gap).toBeGreaterThanOrEqual(Math.floor(Math.min(0.8 * nominal, 1000)))
        expect(gap).toBeLessThanOrEqual(Math.ceil(Math.min(1.2 * nominal, 1000)))
      })
      // Past the cap every wait is exactly maxDelay.
      expect(observed.slice(5)).toEqual(observed.slice(5).map(() => 1000))
    }))

  it.effect("polls for the last time on the deadline and then stops, answering the running state", () =>
    Effect.gen(function* () {
      const { times, end } = yield* runSchedule({ ...everySecond, timeout: "4500 millis" }, "1 minute")
      expect(times.at(-1)).toBe(4500)
      expect(times.every((at) => at <= 4500)).toBe(true)
      expect(Option.map(end, (exit) => exit._tag)).toEqual(Option.some("Success"))
    }))
})

describe("Client.make waitForResult", () => {
  it.effect("polls until the task completes and answers its decoded result", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient([processing, processing, completed], everySecond)
      const result = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000"))
      expect(result).toEqual(faceResult)
      expect(calls).toHaveLength(3)
      expect(calls.map((call) => call.url)).toEqual(calls.map(() => "https://api.example.com/model/v1/generation/task/task_00000000000000000000000000"))
      expect(calls.map((call) => call.headers.get("authorization"))).toEqual(["Bearer key-1", "Bearer key-1", "Bearer key-1"])
    }))

  it.effect("waits at least the server's x-poll-after-ms hint, capped at maxDelay", () =>
    Effect.gen(function* () {
      const hinted = (ms: number) => json(wireTask("processing"), 200, { "x-poll-after-ms": String(ms) })
      const { client, calls } = yield* scriptedClient([hinted(1500), hinted(1500), hinted(9000), hinted(9000), completed], {
        initialDelay: "100 millis",
        factor: 1,
        maxDelay: "3 seconds"
      })
      yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000"))
      expect(gaps(calls)).toEqual([1500, 1500, 3000, 3000])
    }))

  it.effect("on 429 waits the Retry-After seconds, then goes on polling", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient(
        [processing, errorAnswer(429, "429", { "retry-after": "7" }), json({ busy: true }, 429, { "retry-after": "2" }), completed],
        { initialDelay: "100 millis", factor: 1 }
      )
      const result = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000"))
      expect(result).toEqual(faceResult)
      const [first, afterLimit, afterBareLimit] = gaps(calls)
      expect(first).toBeLessThan(200)
      expect(afterLimit).toBe(7000)
      // A 429 without the contract's error body is still a rate limit.
      expect(afterBareLimit).toBe(2000)
    }))

  it.effect("fails with TaskInterruptedError (014002099) on the timeout, fetching nothing after it", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient([processing], { initialDelay: "1 second", factor: 2, maxDelay: "4 seconds", timeout: "10 seconds" })
      const error = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000"), "10 seconds").pipe(Effect.flip)
      expect(error._tag).toBe("TaskInterruptedError")
      expect(error.code).toBe("014002099")
      expect(calls.at(-1)?.at).toBe(10_000)
      const made = calls.length
      yield* TestClock.adjust("1 minute")
      expect(calls).toHaveLength(made)
    }))

  it.effect("stops when interrupted: the request in flight is aborted and no other is made", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient([processing, hang], everySecond)
      const fiber = yield* Effect.fork(client.waitForResult("task_00000000000000000000000000"))
      yield* TestClock.adjust("1 second")
      expect(calls).toHaveLength(2)
      expect(calls[1]?.signal?.aborted).toBe(false)
      yield* Fiber.interrupt(fiber)
      expect(calls[1]?.signal?.aborted).toBe(true)
      yield* TestClock.adjust("1 minute")
      expect(calls).toHaveLength(2)
    }))

  it.effect("stops when interrupted between polls", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient([processing], everySecond)
      const fiber = yield* Effect.fork(client.waitForResult("task_00000000000000000000000000"))
      yield* TestClock.adjust("2500 millis")
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 minute")
      expect(calls.map((call) => call.at)).toEqual([0, 1000, 2000])
    }))

  it.effect("reads the gateway's variants: status in_progress, and error as a plain string", () =>
    Effect.gen(function* () {
      const { client } = yield* scriptedClient([
        json(wireTask("in_progress")),
        json(wireTask("in_progress")),
        json(wireTask("failed", { error: "upstream exploded" }))
      ])
      expect((yield* client.getTask("task_00000000000000000000000000")).status).toBe("processing")
      const error = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000")).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "InternalGenerationError", code: "014002095", message: "upstream exploded" })
    }))

  it.effect("fails with ResultParsingError (014002096) when a completed task's text is not a FaceResult", () =>
    Effect.gen(function* () {
      for (const text of ["not json", JSON.stringify({ code: 0, data: {} })]) {
        const { client } = yield* scriptedClient([json(completedTask(text))])
        const error = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000")).pipe(Effect.flip)
        expect(error).toMatchObject({ _tag: "ResultParsingError", code: "014002096" })
      }
      const { client } = yield* scriptedClient([json(wireTask("completed"))])
      const noOutput = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000")).pipe(Effect.flip)
      expect(noOutput.code).toBe("014002096")
    }))

  it.effect("fails a failed task with the typed error of its code", () =>
    Effect.gen(function* () {
      const { client } = yield* scriptedClient([processing, json(failedTask("014002113", "resolution 640x480 is not 720p or 1080p"))])
      const error = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000")).pipe(Effect.flip)
      expect(error).toMatchObject({
        _tag: "UnsupportedResolutionError",
        code: "014002113",
        message: "resolution 640x480 is not 720p or 1080p"
      })
    }))

  it.effect("fails a cancelled task with TaskInterruptedError (014002099)", () =>
    Effect.gen(function* () {
      const { client } = yield* scriptedClient([json(wireTask("cancelled"))])
      const error = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000")).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "TaskInterruptedError", code: "014002099" })
    }))

  it.effect("stops at an answer that is not a task object with a TransportError", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient([processing, json({ hello: "world" }), processing])
      const error = yield* runWhileClockMoves(client.waitForResult("task_00000000000000000000000000")).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "TransportError", status: 200 })
      expect(calls).toHaveLength(2)
    }))
})

describe("Client.make identifyFaces", () => {
  it.effect("creates the task with the flat body and Idempotency-Key, then polls it", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient([json(wireTask("pending")), processing, completed])
      const result = yield* runWhileClockMoves(
        client.identifyFaces({ videoUrl: "https://videos.example.com/a.mp4" }, { idempotencyKey: "order-7", callbackUrl: "https://hooks.example.com/done" })
      )
      expect(result).toEqual(faceResult)
      const [create, ...polls] = calls
      expect(create?.method).toBe("POST")
      expect(create?.url).toBe("https://api.example.com/model/v1/generation")
      expect(create?.headers.get("idempotency-key")).toBe("order-7")
      expect(create?.headers.get("content-type")).toBe("application/json")
      expect(JSON.parse(String(create?.body))).toEqual({
        model: "kirin_identify_face",
        video_url: "https://videos.example.com/a.mp4",
        callback_url: "https://hooks.example.com/done"
      })
      expect(polls).toHaveLength(2)
      // The key travels in the header only.
      expect(calls.some((call) => call.url.includes("key-1"))).toBe(false)
    }))

  it.effect("answers a refused create with the typed error of its code", () =>
    Effect.gen(function* () {
      const { client, calls } = yield* scriptedClient([errorAnswer(400, "014002104")])
      const error = yield* client.identifyFaces({ videoUrl: "http://127.0.0.1/a.mp4" }).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "VideoUrlRefusedError", code: "014002104" })
      expect(calls).toHaveLength(1)
    }))
})
