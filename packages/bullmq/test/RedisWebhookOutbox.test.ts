/**
 * `callback_url` webhooks of the distributed setup, in this process over a real Redis, sent by
 * `@identify-face/node`'s sender to a real receiver on loopback and checked with the client's
 * `verifyWebhook`: the same body, headers and signature as the embedded server's; retries counted
 * across deliverers; one delivery per task with two deliverers racing; callbacks owed while no
 * deliverer runs, or handed back by one that stops mid-delivery, delivered by the next.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Client from "@identify-face/core/Client"
import * as Task from "@identify-face/core/Task"
import { fileUrlAt, toTaskObject } from "@identify-face/core/TaskView"
import type * as WebhookOutbox from "@identify-face/core/WebhookOutbox"
import * as Webhooks from "@identify-face/core/Webhooks"
import * as WebhookSender from "@identify-face/node/WebhookSender"
import * as TestAnalyzer from "@identify-face/testing/TestAnalyzer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { eventually, startApi, startWorker } from "./helpers/nodes.js"
import { startReceiver } from "./helpers/receiver.js"
import type { Answer, Received } from "./helpers/receiver.js"
import { connect, freshPrefix } from "./helpers/redis.js"

const tenant = { id: "tenant_a" }
const MODEL = "kirin_identify_face" as const
const PUBLIC_URL = "https://api.example.com"
const SECRET = Webhooks.generateSecret()
const CLIP = { _tag: "VideoUrl", url: "https://cdn.example.com/clip.mp4" } as const
/** A video whose analysis takes long enough to cancel it. */
const LONG = { _tag: "VideoUrl", url: "https://cdn.example.com/long.mp4" } as const

/** A fresh prefix whose keys are deleted once everything on it has closed. */
const isolated = Effect.gen(function* () {
  const prefix = freshPrefix()
  yield* connect(prefix)
  return prefix
})

/** A receiver for the length of the scope. */
const receiver = (answer?: (id: string, nth: number) => Answer) =>
  Effect.acquireRelease(Effect.promise(() => startReceiver(answer)), (started) => Effect.promise(() => started.close()))

/** A worker that analyses in 100 ms and delivers callbacks to the receiver's host. */
const startDeliveringWorker = (prefix: string, host: string, webhooks: Partial<WebhookOutbox.OutboxOptions> = {}) =>
  Effect.flatMap(TestAnalyzer.make({ script: { delay: "100 millis" }, videos: { [LONG.url]: { delay: "30 seconds" } } }), (analyzer) =>
    startWorker(prefix, analyzer, {}, {
      config: { publicUrl: PUBLIC_URL },
      webhooks: {
        secret: SECRET,
        retryDelays: ["300 millis"],
        pollInterval: "50 millis",
        allowHost: (candidate) => candidate === host,
        sender: WebhookSender.layer({ allowHost: (candidate) => candidate === host }),
        ...webhooks
      }
    })
  )

/** The task object a request carries, verified with the tenant's secret as a receiver does. */
const verified = (request: Received) =>
  Effect.flatMap(Webhooks.tenantSecret(SECRET, tenant.id), (secret) =>
    Client.verifyWebhook({ headers: request.headers, body: request.body }, secret)
  )

const idsOf = (received: ReadonlyArray<Received>) => received.map((request) => request.id)

describe("RedisWebhookOutbox", () => {
  it.scopedLive("delivers the callback of a task completed on a worker exactly as the embedded server does", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const callbacks = yield* receiver()
      const api = yield* startApi(prefix, { allowCallbackHost: (host) => host === callbacks.host })
      yield* startDeliveringWorker(prefix, callbacks.host)
      const created = yield* api.engine.submit(tenant, { model: MODEL, video: CLIP, callbackUrl: callbacks.url })
      const [request] = yield* Effect.promise(() => callbacks.waitFor((received) => received.length === 1))
      const finished = yield* api.engine.get(tenant, created.id)
      expect(finished._tag).toBe("completed")

      // The body, byte for byte, and the headers of core's Webhooks.layer.
      expect(request?.body).toBe(JSON.stringify(toTaskObject(finished, fileUrlAt(PUBLIC_URL))))
      expect(request?.headers).toMatchObject({ "webhook-id": created.id, "content-type": "application/json" })
      expect(Math.abs(Number(request?.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30)
      const task = yield* verified(request!)
      expect(task).toMatchObject({ id: created.id, status: "completed" })
      const refused = yield* Effect.flip(Client.verifyWebhook({ headers: request!.headers, body: request!.body }, SECRET))
      expect(refused.reason).toBe("InvalidSignature")

      // Delivered once, and nothing left owed.
      yield* Effect.sleep("500 millis")
      expect(callbacks.received()).toHaveLength(1)
    }))

  it.scopedLive("retries a failed delivery with the same webhook-id, and announces a cancel made on an API node", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const callbacks = yield* receiver((_id, nth) => (nth === 1 ? "fail" : "ok"))
      const api = yield* startApi(prefix, { allowCallbackHost: (host) => host === callbacks.host })
      yield* startDeliveringWorker(prefix, callbacks.host)
      const completed = yield* api.engine.submit(tenant, { model: MODEL, video: CLIP, callbackUrl: callbacks.url })
      yield* eventually(api.engine.get(tenant, completed.id), Task.isFinished)
      const received = yield* Effect.promise(() => callbacks.waitFor((all) => all.filter((one) => one.answer === "ok").length === 1))
      expect(received.map((one) => [one.id, one.answer])).toEqual([[completed.id, "fail"], [completed.id, "ok"]])
      expect((yield* verified(received[1]!)).status).toBe("completed")

      // A task cancelled on the API node while a worker runs it: the API node's write puts it in the outbox.
      const later = yield* api.engine.submit(tenant, { model: MODEL, video: LONG, callbackUrl: callbacks.url })
      yield* eventually(api.engine.get(tenant, later.id), (current) => current._tag === "processing")
      yield* api.engine.cancel(tenant, later.id)
      const all = yield* Effect.promise(() => callbacks.waitFor((requests) => requests.some((one) => one.id === later.id && one.answer === "ok")))
      const cancelled = all.filter((one) => one.id === later.id)
      expect(cancelled.map((one) => one.answer)).toEqual(["fail", "ok"])
      expect((yield* verified(cancelled[1]!)).status).toBe("cancelled")
    }))

  it.scopedLive("delivers each callback once when two workers race for the outbox", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const callbacks = yield* receiver()
      const api = yield* startApi(prefix, { allowCallbackHost: (host) => host === callbacks.host })
      yield* startDeliveringWorker(prefix, callbacks.host, { pollInterval: "10 millis" })
      yield* startDeliveringWorker(prefix, callbacks.host, { pollInterval: "10 millis" })
      const ids = yield* Effect.forEach(Array.from({ length: 12 }), () =>
        Effect.map(
          api.engine.submit(tenant, { model: MODEL, video: CLIP, callbackUrl: callbacks.url }),
          (task) => task.id
        )
      )
      yield* Effect.promise(() => callbacks.waitFor((received) => new Set(idsOf(received)).size === ids.length, 40_000))
      yield* Effect.sleep("1 second")
      expect(idsOf(callbacks.received()).sort()).toEqual([...ids].sort())
    }))

  it.scopedLive("keeps a callback owed while no worker delivers, and one handed back mid-delivery, for the next worker", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const callbacks = yield* receiver((_id, nth) => (nth === 1 ? "hang" : "ok"))
      const api = yield* startApi(prefix, { allowCallbackHost: (host) => host === callbacks.host })
      // A worker without webhooks runs the task: its callback waits in Redis.
      yield* startWorker(prefix, yield* TestAnalyzer.make({ script: { delay: "50 millis" } }))
      const task = yield* api.engine.submit(tenant, { model: MODEL, video: CLIP, callbackUrl: callbacks.url })
      yield* eventually(api.engine.get(tenant, task.id), Task.isFinished)
      yield* Effect.sleep("300 millis")
      expect(callbacks.received()).toEqual([])

      // The first deliverer's attempt hangs; it stops, and hands the callback back at once.
      const first = yield* Scope.make()
      yield* startDeliveringWorker(prefix, callbacks.host, { retryDelays: [], claimDuration: "1 minute" }).pipe(Scope.extend(first))
      yield* Effect.promise(() => callbacks.waitFor((received) => received.length === 1))
      yield* Scope.close(first, Exit.void)
      // The next worker's claims last a minute, and the first one's too: only a hand-back lets it deliver now.
      const handedBack = Date.now()
      yield* startDeliveringWorker(prefix, callbacks.host, { retryDelays: [], claimDuration: "1 minute" })
      const received = yield* Effect.promise(() => callbacks.waitFor((all) => all.length === 2))
      expect(Date.now() - handedBack).toBeLessThan(Duration.toMillis(Duration.seconds(10)))
      expect(received.map((one) => [one.id, one.answer])).toEqual([[task.id, "hang"], [task.id, "ok"]])
      expect((yield* verified(received[1]!)).status).toBe("completed")
    }))
})
